"""Open a view page in headless Chromium with the network cut off: for the browser test
and the README's screenshots.

Needs Playwright (``pip install playwright``, the ``dev`` extra) and a Chromium
on the machine (Debian's ``chromium``: ``/usr/bin/chromium``, or the path in
``SPACEVERSE_CHROMIUM``); Playwright's own browser downloads are never used.
Every request that is not for a ``file:`` or ``data:`` URL is aborted and
recorded, so a page that tries to reach the network is caught, not served.

    python -m simulator.view.browser PAGE.html OUT_DIR [SECONDS [SATELLITE]]

writes ``globe.png``, ``map.png`` and ``timeline.png`` of the page at that time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Chromium's flags: headless, no sandbox (root in CI), no GPU, nothing in the background.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL = ("file:", "data:", "blob:", "about:")


def find_chromium() -> str | None:
    """The Chromium to drive: ``SPACEVERSE_CHROMIUM``, ``/usr/bin/chromium`` or one on PATH."""
    for candidate in (os.environ.get("SPACEVERSE_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def unavailable() -> str | None:
    """Why no page can be opened here (``None`` when one can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if find_chromium() is None:
        return ("no Chromium: install Debian's chromium (apt-get install -y chromium) or set "
                "SPACEVERSE_CHROMIUM to a Chromium binary")
    return None


@dataclass
class Session:
    """An open page and what it did: console errors, page errors, blocked requests."""

    page: object
    context: object
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"request left the machine: {u}" for u in self.blocked])


@contextmanager
def open_page(path, *, width: int = 1400, height: int = 900, timeout_s: float = 180.0,
              wait: bool = True):
    """Open ``path`` (a local HTML file) in a fresh profile; yield a :class:`Session`
    once the view says it is ready (``wait``)."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError(unavailable())
    with tempfile.TemporaryDirectory(prefix="spaceverse-chromium-") as profile, \
            sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=FLAGS,
            viewport={"width": width, "height": height}, service_workers="block")
        try:
            page = context.pages[0] if context.pages else context.new_page()
            session = Session(page, context)

            def route(r):
                url = r.request.url
                session.requests.append(url)
                if url.startswith(LOCAL):
                    r.continue_()
                else:
                    session.blocked.append(url)
                    r.abort()

            context.route("**/*", route)
            page.on("console", lambda m: m.type == "error" and session.console_errors.append(
                m.text))
            page.on("pageerror", lambda e: session.page_errors.append(str(e)))
            page.goto(Path(path).resolve().as_uri(), timeout=timeout_s * 1000)
            if wait:
                page.wait_for_function("window.SV && (window.SV.ready || window.SV.errors.length)",
                                       timeout=timeout_s * 1000)
            yield session
        finally:
            context.close()


def show(session: Session, t: float, satellite: int = -1, window: float = 30.0) -> None:
    """Set the view's clock (and the selected satellite) and draw it now."""
    session.page.evaluate(
        "([t, j, w]) => { SV.select(j); SV.setTime(t, w); SV.renderNow(); }",
        [t, satellite, window])
    session.page.wait_for_timeout(400)


def screenshots(session: Session, out_dir, names=("globe", "map", "timeline")) -> list[Path]:
    """PNG screenshots of the globe (with its side panel), the map and the timeline."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    targets = {"globe": "section:has(#globe) .row", "map": "#map", "timeline": "#timeline",
               "cdf": "#cdf", "breakdown": "#breakdown"}
    paths = []
    session.page.add_style_tag(content="#controls{position:static}")  # not over the pictures
    for name in names:
        path = out / f"{name}.png"
        session.page.locator(targets[name]).screenshot(path=str(path))
        paths.append(path)
    return paths


def main(argv: list[str]) -> None:  # pragma: no cover - a tool for the README's pictures
    page, out = argv[0], argv[1]
    t = float(argv[2]) if len(argv) > 2 else 0.0
    satellite = int(argv[3]) if len(argv) > 3 else -1
    with open_page(page) as session:
        show(session, t, satellite)
        for path in screenshots(session, out):
            print(path)
        for problem in session.problems():
            print(problem, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
