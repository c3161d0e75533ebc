"""The view in a real browser: headless Chromium, the network cut off.

Skipped, with the reason, where Playwright or Chromium is missing (``.ci/run``
installs Debian's chromium; ``make test`` on a laptop without it still passes).
The page of a real small run must load with no console error and no request that
leaves the machine, draw non-blank plots, move its satellites with the clock (by
the same propagation as the simulator, interpolated between samples), and keep
the slider, the timeline's cursor and the clock in step.  Set
``SPACEVERSE_VIEW_SCREENSHOTS=DIR`` to keep the screenshots.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from simulator.view import browser

REASON = browser.unavailable()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(REASON is not None, reason=f"browser test: "
                                                   f"{REASON}")]
#: A plot whose screenshot's grey levels vary less than this is blank.
MIN_VARIANCE = 50.0


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """``spaceverse run scenarios/small.yaml --set time.duration_h=2``."""
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    base = tmp_path_factory.mktemp("view-browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPACEVERSE_CACHE", str(base / "cache"))
        scenario = load_scenario("scenarios/small.yaml", ["time.duration_h=2"])
        return run_scenario(scenario, out_dir=base / "results").folder


def variance(png: bytes) -> float:
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).var())


def satellites_drawn(page) -> np.ndarray:
    """The satellites' positions as the globe's plot holds them (Earth radii)."""
    xyz = page.evaluate("""() => { const gd = document.getElementById('globe');
        const t = gd.data[gd.data.length - 1]; return [t.x, t.y, t.z]; }""")
    return np.array(xyz, dtype=float).T


def test_page_in_a_browser(run_folder, tmp_path):
    from simulator.config import load_scenario
    from simulator.engine.world import constellation_of
    from simulator.view import geometry, write_view

    page_path = write_view(run_folder, tmp_path / "view.html")
    keep = os.environ.get("SPACEVERSE_VIEW_SCREENSHOTS")
    with browser.open_page(page_path) as s:
        page = s.page
        assert page.evaluate("SV.ready && SV.errors.length === 0"), page.evaluate("SV.errors")
        for name in ("globe", "map", "timeline", "cdf", "breakdown"):
            shot = page.locator(f"#{name}").screenshot()
            assert variance(shot) > MIN_VARIANCE, f"the {name} plot looks blank"

        # The satellites move between two clock positions, as the simulator propagates them.
        horizon = page.evaluate("SV.HORIZON")
        browser.show(s, 1800.0)
        first, shot_1 = satellites_drawn(page), page.locator("#globe").screenshot()
        browser.show(s, 2400.0)
        second, shot_2 = satellites_drawn(page), page.locator("#globe").screenshot()
        moved_km = np.linalg.norm(second - first, axis=1) * geometry.EARTH_RADIUS_KM
        assert np.all(moved_km > 1000), moved_km  # ~7.5 km/s for 600 s
        a = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(io.BytesIO(shot_1)))
        b = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(io.BytesIO(shot_2)))
        assert a.shape == b.shape and np.mean(a != b) > 1e-4
        orbits, _, start = constellation_of(load_scenario(run_folder / "scenario.yaml"))
        for t in (1800.0, 2400.0, 1234.56, horizon - 17.3):
            js = np.array(page.evaluate("t => Array.from(SV.positionsAt(t))", t)).reshape(-1, 3)
            exact = geometry.positions_km(orbits, start, [t])[0]
            assert np.max(np.linalg.norm(js - exact, axis=1)) < 0.2, t  # km, between samples
        assert np.allclose(second, geometry.positions_km(orbits, start, [2400.0])[0]
                           / geometry.EARTH_RADIUS_KM, atol=0.2 / geometry.EARTH_RADIUS_KM)

        # The slider sets the clock and the timeline's cursor follows.
        page.locator("#slider").fill("3600")
        page.wait_for_timeout(600)
        assert page.evaluate("SV.state.t") == 3600
        assert "T+1:00:00" in page.locator("#clock").inner_text()
        cursor = page.evaluate("document.getElementById('timeline').layout.shapes[0].x0")
        assert cursor.startswith(page.evaluate("new Date(SV.START_MS + 3600e3).toISOString()"
                                               ".slice(0, 16).replace('T', ' ')"))
        # A click on the timeline moves the clock there.
        page.locator("#timeline").scroll_into_view_if_needed()
        box = page.evaluate("""() => { const gd = document.getElementById('timeline');
            const xa = gd._fullLayout.xaxis, r = gd.getBoundingClientRect();
            return [r.left + xa._offset + xa._length * 0.75, r.top + 60]; }""")
        page.mouse.click(*box)
        page.wait_for_timeout(600)
        assert abs(page.evaluate("SV.state.t") - 0.75 * horizon) < 0.01 * horizon
        assert page.evaluate("Number(document.getElementById('slider').value)") == round(
            page.evaluate("SV.state.t"))
        # Play runs the clock forward.
        before = page.evaluate("SV.state.t")
        page.locator("#play").click()
        page.wait_for_timeout(1500)
        page.locator("#play").click()
        assert page.evaluate("SV.state.t") > before

        # Hover text and the side panel tell the state of a satellite.
        browser.show(s, 1800.0, satellite=0)
        panel = page.locator("#panel-body").inner_text()
        assert page.evaluate("SV.D.sats.names[0]") in panel and "buffer" in panel
        if keep:
            browser.screenshots(s, Path(keep))
        problems = s.problems()
    assert problems == []
    assert all(u.startswith("file:") for u in s.requests), s.requests


def test_folder_assets_and_report_embed(run_folder, tmp_path):
    """The page with its assets beside it, and the report's iframe, load offline too."""
    from simulator.view import embed_for_report, write_view

    page_path = write_view(run_folder, tmp_path / "page.html", assets="folder")
    with browser.open_page(page_path) as s:
        assert s.page.evaluate("SV.ready && SV.errors.length === 0")
        assert variance(s.page.locator("#globe").screenshot()) > MIN_VARIANCE
        problems = s.problems()
    assert problems == []
    report = tmp_path / "report.html"
    report.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                      f"<h1>report</h1>{embed_for_report(run_folder)}</body></html>",
                      encoding="utf-8")
    with browser.open_page(report, wait=False) as s:
        frame = s.page.frame_locator("iframe.spaceverse-view")
        frame.locator("body[data-ready='1']").wait_for(timeout=180_000)
        assert variance(frame.locator("#globe").screenshot()) > MIN_VARIANCE
        problems = s.problems()
    assert problems == []
