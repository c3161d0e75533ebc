"""Rebuild ``sample_geotiff_pan8.png`` and ``buildings_px.json`` from the solaris 0.4.0 wheel.

Usage (numpy and Pillow only; no GDAL, rasterio or geopandas)::

    pip download --no-deps solaris==0.4.0 -d /tmp/solaris   # needs pip<24.1, see PROVENANCE.md
    unzip -q /tmp/solaris/solaris-0.4.0-py3-none-any.whl -d /tmp/solaris/x
    python models/images/spacenet_solaris/convert_sample_geotiff.py /tmp/solaris/x/solaris/data

What it does:

* reads ``sample_geotiff.tif`` (900 x 900, one band, uint16, uncompressed, little endian,
  PlanarConfiguration 2) straight from its strips; Pillow cannot decode this layout itself;
* stretches it linearly to 8 bits between the 1st and 99th percentile of all pixels
  (``np.percentile``, linear interpolation), rounds to the nearest integer, clips to 0..255 and
  writes a greyscale (mode ``L``) PNG;
* converts every building footprint in ``geotiff_labels.geojson`` (EPSG:32616, metres) to
  pixel coordinates with the GeoTIFF's own georeferencing: ModelTiepoint (0, 0) ->
  (E0, N0), ModelPixelScale (sx, sy), raster type PixelIsArea, so
  ``x = (E - E0) / sx`` and ``y = (N0 - N) / sy`` with (0, 0) the top-left corner of the
  top-left pixel; boxes are the polygons' min/max, clipped to the image.

Re-running it gives the same pixels and the same JSON; the PNG's bytes (and sha256) can
differ with another zlib version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
PNG_NAME = "sample_geotiff_pan8.png"
JSON_NAME = "buildings_px.json"
STRETCH_PERCENTILES = (1.0, 99.0)


def read_uint16_strips(path: Path) -> tuple[np.ndarray, dict]:
    """The single uint16 band of an uncompressed strip TIFF, and its GeoTIFF tags."""
    with Image.open(path) as im:
        tags = im.tag_v2
        width, height = int(tags[256]), int(tags[257])
        assert tuple(tags[258]) == (16,), "expected 16 bits per sample"
        assert int(tags[259]) == 1, "expected an uncompressed TIFF"
        assert int(tags.get(277, 1)) == 1, "expected one band"
        assert tuple(tags.get(339, (1,))) == (1,), "expected unsigned integer samples"
        offsets, counts = tags[273], tags[279]
        geo = {
            "tiepoint": tuple(float(v) for v in tags[33922]),
            "pixel_scale": tuple(float(v) for v in tags[33550]),
            "geokeys": tuple(int(v) for v in tags[34735]),
            "ascii": str(tags.get(34737, "")),
            "nodata": str(tags.get(42113, "")),
        }
    raw = path.read_bytes()
    assert raw[:2] == b"II", "expected a little-endian TIFF"
    buf = b"".join(raw[o:o + c] for o, c in zip(offsets, counts))
    return np.frombuffer(buf, dtype="<u2").reshape(height, width), geo


def geokey(geokeys: tuple[int, ...], key: int) -> int | None:
    """Value of a SHORT GeoKey stored inline in the GeoKeyDirectory."""
    n = geokeys[3]
    for i in range(n):
        k, loc, _count, val = geokeys[4 + 4 * i: 8 + 4 * i]
        if k == key and loc == 0:
            return val
    return None


def main(data_dir: str) -> None:
    data = Path(data_dir)
    pan, geo = read_uint16_strips(data / "sample_geotiff.tif")
    height, width = pan.shape

    # georeferencing: tiepoint raster (0, 0) -> model (E0, N0); PixelIsArea; UTM 16N
    i, j, _k, e0, n0, _z = geo["tiepoint"]
    assert (i, j) == (0.0, 0.0)
    sx, sy, _sz = geo["pixel_scale"]
    assert geokey(geo["geokeys"], 1025) == 1, "expected GTRasterTypeGeoKey = PixelIsArea"
    assert geokey(geo["geokeys"], 3072) == 32616, "expected EPSG:32616 (WGS 84 / UTM 16N)"

    lo, hi = (float(v) for v in np.percentile(pan, STRETCH_PERCENTILES))
    img8 = np.clip(np.rint((pan.astype(np.float64) - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)
    Image.fromarray(img8, mode="L").save(HERE / PNG_NAME, optimize=True)

    labels = json.loads((data / "geotiff_labels.geojson").read_text())
    crs = labels["crs"]["properties"]["name"]
    assert crs.endswith("EPSG::32616"), crs
    buildings = []
    for index, feat in enumerate(labels["features"]):
        geom = feat["geometry"]
        assert geom["type"] == "Polygon"
        rings = [[[round((x - e0) / sx, 3), round((n0 - y) / sy, 3)] for x, y, *_ in ring]
                 for ring in geom["coordinates"]]
        xs = [p[0] for p in rings[0]]
        ys = [p[1] for p in rings[0]]
        box = [max(0.0, min(xs)), max(0.0, min(ys)), min(float(width), max(xs)), min(float(height), max(ys))]
        props = feat["properties"]
        buildings.append({
            "index": index,
            "osm_id": props.get("osm_id"),
            "name": props.get("name", ""),
            "polygon_px": rings[0],
            "holes_px": rings[1:],
            "box_px": box,
        })

    out = {
        "image": PNG_NAME,
        "width_px": width,
        "height_px": height,
        "source_raster": "solaris/data/sample_geotiff.tif (solaris 0.4.0 wheel)",
        "source_labels": "solaris/data/geotiff_labels.geojson (copied here unchanged)",
        "crs": "EPSG:32616 (WGS 84 / UTM zone 16N)",
        "geotransform": {"origin_easting_m": e0, "origin_northing_m": n0,
                         "pixel_size_x_m": sx, "pixel_size_y_m": sy,
                         "raster_type": "PixelIsArea",
                         "formula": "x = (E - origin_easting_m) / pixel_size_x_m; "
                                    "y = (origin_northing_m - N) / pixel_size_y_m"},
        "stretch": {"source_dtype": "uint16", "source_min": int(pan.min()), "source_max": int(pan.max()),
                    "percentiles": list(STRETCH_PERCENTILES), "low": lo, "high": hi,
                    "formula": "clip(rint((v - low) / (high - low) * 255), 0, 255) as uint8"},
        "label": "building",
        "buildings": buildings,
    }
    # one building per line keeps the file small and diffable
    head = json.dumps({**out, "buildings": "@@"}, indent=1)
    body = "[\n" + ",\n".join("  " + json.dumps(b) for b in buildings) + "\n ]"
    (HERE / JSON_NAME).write_text(head.replace('"@@"', body) + "\n")
    print(f"wrote {PNG_NAME} ({width}x{height}) and {JSON_NAME} ({len(buildings)} buildings); "
          f"stretch {lo:.2f}..{hi:.2f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
