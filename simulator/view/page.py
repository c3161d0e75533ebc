"""The HTML page: the payload, the shipped plotly.js bundle and the view's scripts.

``assets="inline"`` writes one self-contained file; ``assets="folder"`` writes the
page and, beside it, ``<name>_files/`` with the scripts, the style sheet and the
data (``data.js``: browsers refuse to read a JSON file from disk, but run a script
from it).  Either way nothing is loaded from the network: there is no remote URL
in the page, and a Content-Security-Policy forbids any connection and any script,
style, image or font that is not in the page or beside it.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from .. import __version__
from ..errors import InputError
from ..fileio import write_atomic
from .land import load_land

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "view"
STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_FILE = DATA_DIR / "plotly-gl3d.min.js"
PLOTLY_VERSION = "4.1.1"
#: The page's scripts, in the order they run (core first, main last).
SCRIPTS = ("core.js", "globe.js", "map.js", "timeline.js", "latency.js", "main.js")
ASSETS = ("inline", "folder")

CSP = ("default-src 'none'; script-src 'unsafe-inline' 'self' file:; "
       "style-src 'unsafe-inline' 'self' file:; img-src data: blob:; font-src data:; "
       "connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'")

BODY = """<header>
<h1>spaceverse view: {title}{badge}</h1>
<p class="meta">{line1}</p>
<p class="meta">{line2}</p>{notes}
</header>
<div id="controls">
<button id="play" type="button">&#9654; play</button>
<label>speed <select id="speed">
<option value="10">10&#215;</option><option value="60">1 min/s</option>
<option value="300" selected>5 min/s</option><option value="1800">30 min/s</option>
<option value="7200">2 h/s</option></select></label>
<input id="slider" type="range" min="0" max="1" step="1" value="0" aria-label="time">
<span id="clock"></span>
<label>satellite <select id="satellite"><option value="-1">all satellites</option></select></label>
</div>
<main>
<section><h2>Globe</h2>
<div class="row"><div id="globe"></div><div id="panel"><div id="panel-body"></div></div></div>
<p class="legend"><span><span class="dot" style="background:#f28e2b"></span>link carrying a raw
image</span><span><span class="dot" style="background:#2ec4b6"></span>link carrying a compressed
image</span><span><span class="dot" style="background:#b8c4d0"></span>contact, nothing sent</span>
<span><span class="dot" style="background:#ef476f"></span>station and its footprint at the mask
</span><span><span class="dot" style="background:#ffd166"></span>satellite (white: in contact)
</span>{drag}</p></section>
<section><h2>Map</h2><div id="map"></div>
<p class="legend">Ground tracks half an orbit before and after the clock; contact arcs for the whole
run, coloured by what each pass carried; a dot per transfer where it was sent. Pick a satellite
above to show only its arcs and transfers.</p></section>
<section><h2>Timeline</h2><div id="timeline"></div>
<p class="legend">Per station and per satellite: contact windows (bars), transfers (ticks:
orange raw, teal compressed), onboard and ground compute (triangles); below, the downlink buffer
(the selected satellite in red). Drag to zoom, double-click to zoom out, click to move the
clock.</p></section>
<section><h2>Latency</h2><div id="cdf"></div>
<p class="legend">{cdf_note}</p>
<label class="legend">breakdown: <select id="breakdown-mode">
<option value="share" selected>share of the end-to-end latency</option>
<option value="e2e">seconds, end to end</option>
<option value="contact">seconds, in contact (wait for contact left out)</option></select></label>
<div id="breakdown"></div></section>
</main>
<footer>Land: Natural Earth 1:110m (public domain), via world-atlas 2.0.2. Drawn with
plotly.js {plotly} (gl3d bundle, MIT licence), shipped with spaceverse {version}. Nothing on this
page is loaded from the network.</footer>
"""


def _h(value) -> str:
    return html.escape(str(value), quote=True)


def _script_json(payload: dict) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def _body(payload: dict) -> str:
    m = payload["meta"]
    sats, stations = payload["sats"], payload["stations"]
    where = {"run": "run", "sweep": f"sweep {_h(m['root'])}, point {_h(m['point'])}",
             "compare": f"compared runs in {_h(m['root'])}, showing {_h(m['point'])}"}[m["kind"]]
    line1 = (f"{where} &middot; scenario {_h(m['scenario'])} &middot; policy "
             f"<b>{_h(m['policy'])}</b>, compression {_h(m['compression'])} &middot; "
             f"{len(sats['names'])} satellites (shell {m['shell_altitude_km']} km), "
             f"{len(stations)} station(s): {_h(', '.join(s['name'] for s in stations))}")
    feet = ", ".join(f"{_h(s['name'])} {s['footprint_km']} km at {s['mask_deg']}&deg;"
                     for s in stations[:6])
    line2 = (f"start {_h(m['start_utc'])}, captures for {_hours(m['duration_s'])}, shown for "
             f"{_hours(m['horizon_s'])} (with the drain); positions every {sats['step_s']:g} s, "
             f"interpolated along the orbit; footprint radius: {feet}")
    if m["availability"] == "always":
        line2 += "; the link is always available (no contact windows)"
    notes = "".join(f'\n<p class="meta">Note: {_h(n)}.</p>' for n in m["notes"])
    labels = list(payload["cdf"])
    per = "policy" if m["kind"] == "run" or len(labels) < 2 else "policy (or swept value)"
    cdf_note = (f"Cumulative share of samples under each latency, one curve per {per}"
                f" ({len(labels)} curve{'s' if len(labels) != 1 else ''}; a sample that never "
                "finished has no latency and is left out). Below: each finished sample's "
                "latency split into its parts, samples sorted by the total.")
    drag = "<span>drag to turn the globe, scroll to zoom; click a satellite to follow it</span>"
    return BODY.format(title=_h(m["run_id"]), badge=(' <span class="badge">SYNTHETIC trace</span>'
                                                     if m["synthetic"] else ""),
                       line1=line1, line2=line2, notes=notes, cdf_note=cdf_note, drag=drag,
                       plotly=PLOTLY_VERSION, version=_h(__version__))


def _scripts() -> str:
    return "\n".join(f"/* {name} */\n" + (STATIC_DIR / name).read_text(encoding="utf-8")
                     for name in SCRIPTS)


def with_land(payload: dict) -> dict:
    """The payload with the shipped land polygons and raster the page draws."""
    return dict(payload, land={k: v for k, v in load_land().items() if k in ("polygons", "raster")})


def render_page(payload: dict, *, assets_href: str | None = None) -> str:
    """The page's HTML for a payload :func:`with_land`: everything inline, or
    (``assets_href``: the folder beside the page) scripts, style sheet and data there."""
    title = f"spaceverse view: {_h(payload['meta']['run_id'])}"
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n")
    if assets_href is None:
        css = (STATIC_DIR / "view.css").read_text(encoding="utf-8")
        plotly = PLOTLY_FILE.read_text(encoding="utf-8")
        return (f"{head}<style>{css}</style></head><body>\n{_body(payload)}"
                f'<script type="application/json" id="sv-data">{_script_json(payload)}</script>\n'
                f"<script>{plotly}</script>\n<script>{_scripts()}</script>\n</body></html>\n")
    href = _h(assets_href)
    return (f'{head}<link rel="stylesheet" href="{href}/view.css"></head><body>\n'
            f"{_body(payload)}"
            f'<script src="{href}/data.js"></script>\n'
            f'<script src="{href}/plotly-gl3d.min.js"></script>\n'
            f'<script src="{href}/view.js"></script>\n</body></html>\n')


def build(results_path, point: str | None = None) -> dict:
    """The payload of a run, sweep or compare folder."""
    from .data import build_payload
    from .folders import resolve

    return build_payload(resolve(results_path, point))


def write_view(results_path, out=None, *, assets: str = "inline", point: str | None = None) -> Path:
    """Write the interactive page of a run, sweep or compare folder; return its path.

    ``out`` defaults to ``<folder>/view.html``.  ``assets="inline"`` puts everything in
    the one file; ``"folder"`` puts the scripts, style sheet and data in
    ``<out stem>_files/`` beside it.  ``point`` picks a sweep point (its key or a
    unique prefix) or a compared run (its folder name).  Backs ``spaceverse view``.
    """
    if assets not in ASSETS:
        raise InputError(f"assets {assets!r}: expected one of {', '.join(ASSETS)}")
    folder = Path(results_path)
    target = Path(out) if out is not None else folder / "view.html"
    if target.is_dir():
        raise InputError(f"{target}: is a folder; expected a file name like view.html")
    payload = with_land(build(folder, point))
    if assets == "inline":
        text = render_page(payload)
        return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"), what="view")
    files = target.parent / f"{target.stem}_files"
    text = render_page(payload, assets_href=files.name)
    files.mkdir(parents=True, exist_ok=True)
    data = "window.SV_DATA = " + json.dumps(payload, separators=(",", ":"), allow_nan=False) + ";\n"
    write_atomic(files / "data.js", lambda p: p.write_text(data, encoding="utf-8"),
                 what="view data")
    write_atomic(files / "view.js", lambda p: p.write_text(_scripts(), encoding="utf-8"),
                 what="view script")
    write_atomic(files / "view.css", lambda p: shutil.copyfile(STATIC_DIR / "view.css", p),
                 what="view style")
    write_atomic(files / "plotly-gl3d.min.js", lambda p: shutil.copyfile(PLOTLY_FILE, p),
                 what="plotly.js")
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"), what="view")


def embed_for_report(results_path, point: str | None = None) -> str:
    """An ``<iframe srcdoc>`` fragment with the whole interactive view, for the
    self-contained report, followed by a one-line caption with its size.

    The page is escaped into the attribute, so the report's own text holds no
    ``<script`` element; the frame is sandboxed to scripts only (no same-origin
    access, no forms, no navigation of the report).  No absolute path of the
    results folder appears in it (only folder names).
    """
    page = render_page(with_land(build(results_path, point)))
    srcdoc = html.escape(page, quote=True)
    size = len(srcdoc.encode("utf-8"))
    return (f'<iframe class="spaceverse-view" title="spaceverse interactive view" '
            f'sandbox="allow-scripts" style="width:100%;height:1600px;border:1px solid #ddd" '
            f'srcdoc="{srcdoc}"></iframe>\n'
            f'<p class="meta">Interactive view: globe, map, timeline and latency '
            f"({size / 1e6:.1f} MB in this report; spaceverse view writes it as its own "
            f"page).</p>\n")
