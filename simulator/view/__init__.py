"""See a run: a 3D globe, a map, a timeline and the latency views, in one offline page.

``spaceverse view RESULTS`` (:func:`write_view`) writes an interactive HTML page of a
run folder, a sweep folder or a folder of compared runs:

* **globe**: the Earth (Natural Earth land and coastlines), the satellites moving along
  their propagated orbits with a 20-minute trail, each ground station with its
  footprint at the elevation mask for the shell's altitude, and a link from a
  satellite to its station while they are in contact, coloured by what it carries
  (raw image, compressed image, nothing); hovering a satellite, or the side panel,
  tells its buffer, the sample its onboard model runs, the sample it sends and the
  last one answered;
* **map**: the same on an equirectangular map, with ground tracks, contact arcs and
  a dot per transfer, for all satellites or one;
* **timeline**: contact windows, transfers, onboard and ground compute per station and
  per satellite, and the buffer levels, zoomable; its cursor is the clock;
* **latency**: the CDF of the service, in-contact and end-to-end latencies, one curve
  per policy (on a sweep or compare folder, every point), and every finished
  sample's latency split into onboard, buffer, wait for contact, transmission,
  propagation and ground, stacked.

A time slider, play/pause and a speed-up drive the globe, the map and the timeline
together.  :func:`embed_for_report` gives the same page as a fragment for the
self-contained HTML report.

Why these libraries.  The page must open offline, from a file, with nothing fetched,
stay small, and look like a globe rather than a chart.  It is drawn with **plotly.js
4.1.1, gl3d bundle** (npm ``plotly.js-gl3d-dist-min``, MIT, 1.75 MB, shipped unchanged
in ``simulator/data/view/`` with its provenance): WebGL ``mesh3d`` and ``scatter3d``
traces make a globe that turns, zooms and tells what is under the mouse, and the
ordinary ``scatter`` trace draws the map, the timeline and the latency charts with zoom,
legends and hover for free, all from one library.  This bundle holds neither plotly's
geo maps (whose ``scattergeo`` downloads its topojson from a CDN when the page opens)
nor its tile maps, so no code in the page can fetch anything; the full bundle that the
``plotly`` PyPI package ships is 4.8 MB and has both.  The Earth is Natural Earth's
1:110m land (public domain, from npm ``world-atlas`` 2.0.2, converted once into a
144 kB file: polygons for the map, a 1-degree land raster that colours the globe).
CesiumJS (npm ``cesium``, with CZML from ``czml3``) draws a more realistic globe with
its bundled Natural Earth imagery, but needs its web workers and asset tree beside the
page (it cannot be one file), weighs tens of MB and brings a second data format;
deck.gl's globe view is still experimental and needs a base map of its own.  The view
adds no Python dependency; its browser test drives Debian's Chromium with Playwright.

The page holds the run's own propagation (satellite positions every 60 s for the
default run, interpolated along the orbit in the browser), so it opens anywhere
without the simulator: 2.6 MB for the default run (10 satellites, 24 h of captures and
24 h of drain, written in about a second), 7.1 MB for 1,000 satellites over 4 hours.
A Content-Security-Policy in the page forbids every connection.
"""

from .page import embed_for_report, write_view

__all__ = ["write_view", "embed_for_report"]
