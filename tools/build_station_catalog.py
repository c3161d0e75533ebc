#!/usr/bin/env python3
"""Build ``simulator/data/ground_stations.csv`` from the shared data folder.

A one-off developer script.  It reads two derived tables from the shared data
folder (which users of the simulator do not have) and writes the packaged
ground-station catalog that :func:`simulator.orbits.stations.load_station_catalog`
reads:

* ``ground_stations/eo_ground_stations_DERIVED.csv`` -- 117 Earth-observation
  ground stations (networks atlas, aws, dsn, ksat, leaf, nen, ssc, viasat) taken
  from the GeoJSON lists of the MIT-licensed ``duncaneddy/brahe`` repository;
* ``ground_stations/starlink_gateways/starlink_gateways_pops_2023-10-10_DERIVED.csv``
  -- the community map of Starlink gateways and PoPs; only ``kind == gateway``
  rows are kept.

One row is added by hand: ``Shanghai``, the station the SpaceVerse paper deployed
(its coordinates are not in the paper; we use Fudan University's Handan campus).

Usage::

    python tools/build_station_catalog.py [SHARED_DATA_DIR] [--out PATH]

``SHARED_DATA_DIR`` defaults to ``../shared/data`` (relative to the repository
root).  Provenance is in ``simulator/data/GROUND_STATIONS_PROVENANCE.md``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = REPO_ROOT / "simulator" / "data" / "ground_stations.csv"

COLUMNS = [
    "name", "network", "provider", "lat_deg", "lon_deg", "alt_m",
    "min_elevation_deg", "antennas", "bands", "status", "source",
]

EO_FILE = Path("ground_stations") / "eo_ground_stations_DERIVED.csv"
GATEWAY_FILE = (Path("ground_stations") / "starlink_gateways"
                / "starlink_gateways_pops_2023-10-10_DERIVED.csv")

BRAHE_COMMIT = "68b02560fc316bdf3389713cba3d10d7cabb6d4f"
GATEWAY_COMMIT = "fdf89fd1e37c8f3b945fa942e398ef2dd83c3be1"

EO_MIN_ELEVATION = 10.0
GATEWAY_MIN_ELEVATION = 25.0

SHANGHAI = {
    "name": "Shanghai",
    "network": "paper",
    "provider": "SpaceVerse authors (Fudan University)",
    "lat_deg": "31.2984",
    "lon_deg": "121.5015",
    "alt_m": "10",
    "min_elevation_deg": "25",
    "antennas": "1",
    "bands": "",
    "status": "",
    "source": ("approximate location of the Starlink GS the SpaceVerse paper "
               "(ACM MM 2025, §2.1.2/§4.1) deployed in Shanghai; coordinates of "
               "Fudan University Handan campus, not given in the paper"),
}


def _num(text: str) -> str:
    """Return ``text`` stripped, after checking that it is a finite number."""
    text = text.strip()
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {text!r}")
    return text


def eo_rows(path: Path) -> list[dict[str, str]]:
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            alt = (rec["alt_m"] or "").strip() or "0"
            network = rec["network"].strip()
            rows.append({
                "name": rec["name"].strip(),
                "network": network,
                "provider": rec["provider"].strip(),
                "lat_deg": _num(rec["lat"]),
                "lon_deg": _num(rec["lon"]),
                "alt_m": _num(alt),
                "min_elevation_deg": f"{EO_MIN_ELEVATION:g}",
                "antennas": "1",
                "bands": rec["bands"].strip(),
                "status": "",
                "source": (f"duncaneddy/brahe data/groundstations/{network}.json "
                           f"@{BRAHE_COMMIT[:7]} (MIT)"),
            })
    return rows


def gateway_rows(path: Path) -> list[dict[str, str]]:
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            if rec["kind"].strip() != "gateway":
                continue
            bands = []
            if rec["ka_operational"].strip().upper() == "TRUE":
                bands.append("Ka")
            if rec["e_operational"].strip().upper() == "TRUE":
                bands.append("E")
            rows.append({
                "name": rec["name"].strip(),
                "network": "starlink-gateway",
                "provider": "SpaceX (community map)",
                "lat_deg": _num(rec["lat"]),
                "lon_deg": _num(rec["lon"]),
                "alt_m": "0",
                "min_elevation_deg": f"{GATEWAY_MIN_ELEVATION:g}",
                "antennas": "1",
                "bands": ";".join(bands),
                "status": rec["status"].strip(),
                "source": ("community map 'Unofficial Starlink Global Gateways & "
                           "PoPs' scraped 2023-10-10, via nitindermohan/"
                           f"multifaceted-starlink-performance @{GATEWAY_COMMIT[:7]} "
                           "(no licence declared)"),
            })
    return rows


def disambiguate(rows: list[dict[str, str]]) -> None:
    """Make names unique (case-insensitively), in place.

    Every row whose name is shared becomes ``"Name (network)"``; should that
    still collide, a counter is appended (``"Name (network) #2"``).
    """
    counts = Counter(r["name"].casefold() for r in rows)
    for r in rows:
        if counts[r["name"].casefold()] > 1:
            r["name"] = f"{r['name']} ({r['network']})"
    seen: Counter[str] = Counter()
    for r in rows:
        key = r["name"].casefold()
        seen[key] += 1
        if seen[key] > 1:
            r["name"] = f"{r['name']} #{seen[key]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=DEFAULT_SHARED,
                        help="shared data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="catalog to write (default: %(default)s)")
    args = parser.parse_args(argv)

    eo = eo_rows(args.shared / EO_FILE)
    gw = gateway_rows(args.shared / GATEWAY_FILE)
    rows = eo + gw + [dict(SHANGHAI)]
    disambiguate(rows)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    renamed = sum(1 for r in rows if r["name"].endswith(f"({r['network']})"))
    print(f"wrote {args.out}: {len(rows)} stations "
          f"({len(eo)} EO, {len(gw)} Starlink gateways, 1 paper; "
          f"{renamed} names disambiguated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
