"""The Earth's land and coastlines for the view, shipped with the package (no download).

``simulator/data/view/land-110m.json`` holds Natural Earth's 1:110m land polygons
(public domain, through the npm package ``world-atlas`` 2.0.2, see
``simulator/data/view/PROVENANCE.md``) in a compact form made once by
:func:`convert_topojson`::

    python -m simulator.view.land /tmp/world-atlas/package/land-110m.json \\
        simulator/data/view/land-110m.json

* ``polygons``: every land polygon as rings (outer ring first, then its holes), each
  ring a flat list ``[lon0, lat0, lon1, lat1, ...]`` in hundredths of a degree.
  Longitudes are *unwrapped* along a ring (consecutive points never jump by more
  than 180 degrees), so a ring crossing the antimeridian runs past +-180 and the
  map draws it once more shifted by 360 degrees; the ring around the South Pole
  (Antarctica) is closed along the pole's edge so that it fills on a flat map.
* ``raster``: the land fraction of every 1 x 1 degree cell (4 x 4 sub-samples per
  cell), latitudes -90..90 and longitudes -180..180 (181 x 361 values, base64 of
  one byte each, 0 = sea, 255 = land), which colours the globe's surface.

>>> land = load_land()
>>> land["raster"]["rows"], land["raster"]["cols"], len(land["polygons"]) > 100
(181, 361, True)
"""

from __future__ import annotations

import base64
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

LAND_FILE = Path(__file__).resolve().parent.parent / "data" / "view" / "land-110m.json"
_SCALE = 100  # hundredths of a degree


@lru_cache(maxsize=1)
def load_land() -> dict:
    """The shipped land data (see the module docstring), read once."""
    return json.loads(LAND_FILE.read_text(encoding="utf-8"))


def land_fraction() -> np.ndarray:
    """The land raster as floats in [0, 1], shape ``(181, 361)`` (latitude -90 first)."""
    r = load_land()["raster"]
    data = np.frombuffer(base64.b64decode(r["data"]), dtype=np.uint8)
    return data.reshape(r["rows"], r["cols"]) / 255.0


# --------------------------------------------------------------------------- conversion


def _decode_arcs(topology: dict) -> list[np.ndarray]:
    """TopoJSON arcs (delta-encoded, quantized) as arrays of (lon, lat) degrees."""
    scale = np.asarray(topology["transform"]["scale"], dtype=float)
    translate = np.asarray(topology["transform"]["translate"], dtype=float)
    return [np.cumsum(np.asarray(arc, dtype=float), axis=0) * scale + translate
            for arc in topology["arcs"]]


def _ring(arcs: list[np.ndarray], indexes: list[int]) -> np.ndarray:
    """One ring from its arc indexes (``~i`` is arc ``i`` reversed), shared ends once."""
    parts = []
    for k, i in enumerate(indexes):
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(arc if k == 0 else arc[1:])
    return np.concatenate(parts)


def _unwrap(ring: np.ndarray) -> np.ndarray:
    """Longitudes made continuous along the ring; a ring around a pole is closed over it."""
    lon = np.degrees(np.unwrap(np.radians(ring[:, 0])))
    lat = ring[:, 1]
    turn = lon[-1] - lon[0]
    if abs(turn) > 180:  # it winds around a pole: close it along the pole's edge
        pole = -90.0 if lat.mean() < 0 else 90.0
        lon = np.r_[lon, lon[-1], lon[0], lon[0]]
        lat = np.r_[lat, pole, pole, lat[0]]
    shift = -360.0 * np.round(np.mean([lon.min(), lon.max()]) / 360.0)
    return np.column_stack([lon + shift, lat])


def _raster(polygons: list[list[np.ndarray]], sub: int = 4) -> np.ndarray:
    """Land fraction of 1-degree cells centred on integer latitudes and longitudes."""
    from matplotlib.path import Path as MplPath

    lat = np.arange(-90, 91, dtype=float)
    lon = np.arange(-180, 181, dtype=float)
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    la = (lat[:, None] + offsets[None, :]).ravel()
    lo = (lon[:, None] + offsets[None, :]).ravel()
    grid_lat, grid_lon = np.meshgrid(np.clip(la, -89.999, 89.999), lo, indexing="ij")
    points = np.column_stack([grid_lon.ravel(), grid_lat.ravel()])
    inside = np.zeros(len(points), dtype=bool)
    for rings in polygons:
        for shift in (-360.0, 0.0, 360.0):
            shifted = [r + [shift, 0.0] for r in rings]
            hit = MplPath(shifted[0]).contains_points(points)
            for hole in shifted[1:]:
                hit &= ~MplPath(hole).contains_points(points)
            inside |= hit
    cells = inside.reshape(len(lat), sub, len(lon), sub).mean(axis=(1, 3))
    return np.round(cells * 255).astype(np.uint8)


def convert_topojson(source: str | Path) -> dict:
    """The compact land data (module docstring) of a world-atlas ``land-*.json`` file."""
    topology = json.loads(Path(source).read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology)
    polygons: list[list[np.ndarray]] = []
    for geometry in topology["objects"]["land"]["geometries"]:
        parts = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in parts:
            polygons.append([_unwrap(_ring(arcs, ring)) for ring in polygon])
    raster = _raster(polygons)
    return {
        "source": "Natural Earth 1:110m land (public domain), via world-atlas 2.0.2",
        "units": "hundredths of a degree; rings are flat [lon, lat, ...] lists",
        "polygons": [[np.round(r * _SCALE).astype(int).ravel().tolist() for r in rings]
                     for rings in polygons],
        "raster": {"rows": int(raster.shape[0]), "cols": int(raster.shape[1]),
                   "lat0": -90, "lon0": -180, "step_deg": 1,
                   "data": base64.b64encode(raster.tobytes()).decode("ascii")},
    }


def main(argv: list[str]) -> None:
    source, target = argv
    data = convert_topojson(source)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - the one-off conversion
    main(sys.argv[1:])
