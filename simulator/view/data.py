"""The view's data: one JSON-able dictionary (the *payload*) of a results folder.

The page draws everything from this payload; nothing is computed in the browser
but interpolation and look-ups.  Satellite positions are the run's own
propagation (:func:`simulator.engine.world.constellation_of` gives the same
satellites as the contact search), sampled every ``step_s`` seconds over the run's
horizon (capture span plus drain) and stored as float32 Earth-fixed kilometres
(base64, little-endian, shape ``(times, satellites, 3)``).  The step grows with the
constellation so that at most :data:`POSITION_BUDGET` positions are stored: 60 s for the
default run's 10 satellites over 48 h, 80 s for 1,000 satellites over 4 h, 440 s for 1,000
satellites over a day.  The page interpolates between samples along the orbit: it turns
both neighbours into a frame that does not rotate with the Earth (a rotation by the
Earth's rotation rate times the time), interpolates the direction along the great circle
and the radius linearly, and turns back.  Against SGP4 at the same instant that is
within 7 m at a 60 s step, 160 m at 290 s and 670 m at 600 s (the longest step) for the
default run's satellites.
"""

from __future__ import annotations

import base64
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..orbits.frames import EARTH_ROTATION_RAD_S
from . import activity, geometry
from .folders import Results, policy_label, read_summary

logger = logging.getLogger(__name__)

#: At most this many satellite positions (times x satellites) are stored.
POSITION_BUDGET = 200_000
MIN_STEP_S, MAX_STEP_S = 60.0, 600.0
#: At most this many satellites get a row in the timeline (the busiest).
TIMELINE_SATELLITES = 60
_STATUS = ("onboard", "ground", "dropped", "unfinished")


def position_step_s(satellites: int, horizon_s: float) -> float:
    """Seconds between stored positions: the budget spread over the horizon, in whole
    10 s, between :data:`MIN_STEP_S` and :data:`MAX_STEP_S`.

    >>> position_step_s(10, 48 * 3600.0), position_step_s(1000, 24 * 3600.0)
    (60.0, 440.0)
    """
    raw = satellites * horizon_s / POSITION_BUDGET
    return float(min(MAX_STEP_S, max(MIN_STEP_S, 10.0 * math.ceil(raw / 10.0))))


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _nums(values, digits: int = 3) -> list:
    """Floats rounded to ``digits``, ``None`` (JSON null) where not finite."""
    v = np.round(np.asarray(values, dtype=float), digits)
    return [None if not math.isfinite(x) else (int(x) if x == int(x) else x)
            for x in v.tolist()]


def _read(folder: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:  # noqa: BLE001 - any unreadable table is one message
        raise InputError(f"{folder.name}/{name}: cannot read it ({exc})") from None


def _scenario(run: Path):
    from ..config import load_scenario

    path = run / "scenario.yaml"
    if not path.is_file():
        raise InputError(f"{run.name}: no scenario.yaml; the view needs the run's scenario")
    return load_scenario(path)


def _constellation(run: Path, summary: dict):
    """``(orbits, stations, start, scenario)`` of a run, checked against its summary."""
    from ..engine.world import constellation_of

    scenario = _scenario(run)
    orbits, stations, start = constellation_of(scenario)
    names = [o.name for o in orbits]
    if summary.get("satellites") not in (None, names):
        raise InputError(f"{run.name}: its scenario now resolves to other satellites than the "
                         "run used (has the catalog changed?); cannot place them")
    return orbits, stations, start, scenario


def _contacts(run: Path, scenario, orbits, stations, start, horizon_s) -> pd.DataFrame:
    """The run's contact plan (``contacts.parquet``, or searched again when not saved)."""
    if scenario.link.availability == "always":
        return pd.DataFrame(columns=["sat", "st", "rise_s", "set_s", "max_elevation_deg"])
    table = _read(run, "contacts.parquet")
    if table is None:
        from ..orbits.contacts import cached_contacts

        table = cached_contacts(orbits, stations, start, horizon_s,
                                step_s=scenario.time.contact_step_s)
    sat_of = {o.name: k for k, o in enumerate(orbits)}
    st_of = {s.name: k for k, s in enumerate(stations)}
    out = pd.DataFrame({"sat": table["satellite"].map(sat_of), "st": table["station"].map(st_of),
                        "rise_s": table["rise_s"].astype(float),
                        "set_s": np.minimum(table["set_s"].astype(float), horizon_s),
                        "max_elevation_deg": table["max_elevation_deg"].astype(float)})
    out = out.dropna(subset=["sat", "st"])
    return out[out["rise_s"] < horizon_s].sort_values("rise_s").reset_index(drop=True)


def _arcs(contacts: pd.DataFrame, orbits, start) -> dict:
    """Sub-satellite points through each contact window (every ~30 s, 2 to 24 points)."""
    counts = np.clip(np.ceil((contacts["set_s"] - contacts["rise_s"]) / 30.0) + 1, 2, 24)
    counts = counts.astype(int).to_numpy()
    sat = np.repeat(contacts["sat"].to_numpy(int), counts)
    t = np.concatenate([np.linspace(a, b, n) for a, b, n in
                        zip(contacts["rise_s"], contacts["set_s"], counts)]) if len(counts) \
        else np.empty(0)
    lat, lon = geometry.lat_lon_deg(geometry.positions_of(orbits, start, sat, t))
    return {"count": counts.tolist(), "lat": _nums(lat, 2), "lon": _nums(lon, 2)}


def _stations(stations, altitude_km: float) -> list[dict]:
    out = []
    for s in stations:
        angle = geometry.footprint_angle_rad(altitude_km, s.min_elevation_deg)
        lat, lon = geometry.footprint_ring(s.lat_deg, s.lon_deg, angle)
        out.append({"name": s.name, "lat": s.lat_deg, "lon": s.lon_deg,
                    "mask_deg": s.min_elevation_deg, "antennas": s.antennas,
                    "footprint_km": round(geometry.EARTH_RADIUS_KM * angle, 1),
                    "ring_lat": _nums(lat, 3), "ring_lon": _nums(lon, 3)})
    return out


def _samples(samples: pd.DataFrame, sat_index: dict, st_index: dict) -> dict:
    compute = activity.compute_intervals(samples)
    offload = (samples["decision"] == "offload").to_numpy()
    return {
        "id": samples["sample_id"].astype(str).tolist(),
        "sat": samples["satellite"].map(sat_index).fillna(-1).astype(int).tolist(),
        "st": samples["station"].map(st_index).fillna(-1).astype(int).tolist(),
        "status": [(_STATUS.index(s) if s in _STATUS else 3) for s in samples["status"]],
        "offload": offload.astype(int).tolist(),
        "kind": np.where(offload, activity.sent_kind(samples) == "compressed", 0)
        .astype(int).tolist(),
        "capture": _nums(samples["capture_s"]),
        "onboard_start": _nums(compute["onboard_start_s"]),
        "onboard_end": _nums(compute["onboard_end_s"]),
        "ground_start": _nums(compute["ground_start_s"]),
        "ground_end": _nums(compute["ground_end_s"]),
        "done": _nums(samples["done_s"]),
        "e2e": _nums(samples["end_to_end_latency_s"]),
        "bytes_raw": samples["bytes_raw"].astype(int).tolist(),
        "bytes_sent": samples["bytes_sent"].astype(int).tolist(),
    }


def _cdf(results: Results) -> dict:
    columns = [c for c, _ in activity.LATENCIES]
    curves = {}
    for label, runs in results.curves.items():
        frames = [f for f in (_read(r, "samples.parquet", columns) for r in runs) if f is not None]
        pooled = pd.concat(frames) if frames else pd.DataFrame(columns=columns)
        curves[label] = {name: activity.latency_cdf(pooled[c]) for c, name in activity.LATENCIES}
        curves[label]["runs"] = len(runs)
    return curves


def _timeline_satellites(n: int, merged: pd.DataFrame, contacts: pd.DataFrame) -> list[int]:
    if n <= TIMELINE_SATELLITES:
        return list(range(n))
    sent = np.bincount(merged["satellite"].to_numpy(int), weights=merged["bytes"], minlength=n)
    passes = np.bincount(contacts["sat"].to_numpy(int), minlength=n)
    busiest = np.lexsort((np.arange(n), -passes, -sent))[:TIMELINE_SATELLITES]
    return sorted(int(k) for k in busiest)


def build_payload(results: Results) -> dict:
    """The payload (module docstring) of a resolved results folder."""
    run = results.run
    summary = read_summary(run)
    samples = _read(run, "samples.parquet")
    transmissions = _read(run, "transmissions.parquet")
    orbits, stations, start, scenario = _constellation(run, summary)
    horizon_s = float(summary.get("horizon_s") or
                      (scenario.time.duration_h + scenario.time.drain_h) * 3600.0)
    step = position_step_s(len(orbits), horizon_s)
    times = np.arange(int(math.ceil(horizon_s / step)) + 1) * step
    positions = geometry.positions_km(orbits, start, times)
    altitude = geometry.shell_altitude_km(orbits)
    contacts = _contacts(run, scenario, orbits, stations, start, horizon_s)
    merged = activity.transfers(transmissions, samples)
    mid = (merged["start_s"] + merged["end_s"]).to_numpy(float) / 2
    t_lat, t_lon = geometry.lat_lon_deg(
        geometry.positions_of(orbits, start, merged["satellite"].to_numpy(int), mid))
    names = [o.name for o in orbits]
    levels = activity.buffer_levels(samples, merged, names)
    total_t, total_b = activity.total_buffer(levels)
    allocation, method = policy_label(summary)
    notes = []
    if len(orbits) > TIMELINE_SATELLITES:
        notes.append(f"the timeline shows the {TIMELINE_SATELLITES} busiest of {len(orbits)} "
                     "satellites (bytes sent, then passes)")
    part = activity.breakdown(samples)
    if part["shown"] < part["finished"]:
        notes.append(f"the latency breakdown shows {part['shown']} of {part['finished']} "
                     "finished samples, evenly spread over the end-to-end order")
    return {
        "meta": {
            "kind": results.kind, "root": results.root.name, "run_id": run.name,
            "point": results.point, "scenario": summary.get("scenario", scenario.name),
            "policy": allocation, "compression": method,
            "synthetic": bool(summary.get("synthetic", False)),
            "start_utc": start.isoformat(), "horizon_s": horizon_s,
            "duration_s": scenario.time.duration_h * 3600.0,
            "availability": scenario.link.availability,
            "shell_altitude_km": round(altitude, 1), "version": __version__,
            "earth_radius_km": geometry.EARTH_RADIUS_KM,
            "earth_rotation_rad_s": EARTH_ROTATION_RAD_S, "notes": notes,
        },
        "sats": {"names": names, "step_s": step, "times": len(times),
                 "positions": _b64(positions),
                 "revs_per_day": _nums([o.satrec.no_kozai * 1440 / (2 * math.pi)
                                        for o in orbits], 4)},
        "stations": _stations(stations, altitude),
        "contacts": {"sat": contacts["sat"].astype(int).tolist(),
                     "st": contacts["st"].astype(int).tolist(),
                     "rise": _nums(contacts["rise_s"]), "set": _nums(contacts["set_s"]),
                     "max_el": _nums(contacts["max_elevation_deg"], 1),
                     "arc": _arcs(contacts, orbits, start)},
        "transfers": {"sample": merged["sample"].astype(int).tolist(),
                      "sat": merged["satellite"].astype(int).tolist(),
                      "st": merged["station"].astype(int).tolist(),
                      "start": _nums(merged["start_s"], 4), "end": _nums(merged["end_s"], 4),
                      "bytes": merged["bytes"].astype(int).tolist(),
                      "pieces": merged["pieces"].astype(int).tolist(),
                      "compressed": (merged["kind"] == "compressed").astype(int).tolist(),
                      "lat": _nums(t_lat, 2), "lon": _nums(t_lon, 2)},
        "samples": _samples(samples, {n: k for k, n in enumerate(names)},
                            {s.name: k for k, s in enumerate(stations)}),
        "buffer": [{"t": _nums(t, 2), "mb": _nums(b / 1e6, 4)} for t, b in levels],
        "buffer_total": {"t": _nums(total_t, 2), "mb": _nums(total_b / 1e6, 4)},
        "timeline_sats": _timeline_satellites(len(orbits), merged, contacts),
        "cdf": _cdf(results),
        "breakdown": part,
    }
