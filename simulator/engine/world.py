"""From a validated scenario to a finished run: the one place that wires modules.

:func:`build_world` resolves everything a scenario names — satellites, stations,
contact plan, link model, compute profiles, trace and policies — and
precomputes per-sample inputs (vectorised); :func:`run_world` runs the SimPy
core (:mod:`simulator.engine.simulation`) and turns its timings into the
per-sample log; :func:`run_scenario` does both and writes the run folder.

Randomness: one seed in the scenario fixes every draw.  Independent streams
are spawned from it (``numpy.random.SeedSequence``) for the satellite
selection, the trace sampling, the workload spread, the policy and the
compression, so changing one part does not shift the others.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..orbits.contacts import SatelliteOrbit, cached_contacts
from ..orbits.stations import GroundStation, resolve_stations
from ..policies.allocation import PolicyContext, get_policy, stage_name
from ..policies.compression import get_compression
from .service import service_latency
from .simulation import ContactWindow, NetworkInputs, SampleInputs, Simulation
from .workload import spread_samples

logger = logging.getLogger(__name__)

SPEED_OF_LIGHT_KM_S = 299792.458
#: Contacts are searched this far past the horizon, for the service latency only.
SERVICE_LOOKAHEAD_S = 24 * 3600.0
_STREAMS = ("selection", "trace", "workload", "policy", "compression", "split")


@dataclass
class World:
    """Everything a run needs, resolved and precomputed."""

    scenario: object
    orbits: list[SatelliteOrbit]
    stations: list[GroundStation]
    start: object
    horizon_s: float
    contacts: pd.DataFrame
    backend: object
    samples_table: pd.DataFrame
    sample_inputs: SampleInputs
    network: NetworkInputs
    plan_stage: np.ndarray
    points: int
    score: np.ndarray
    score_modelled: bool
    onboard_score: np.ndarray
    policy: object
    compression: object
    link_info: dict
    train_samples: int = 0
    plan_notes: dict = dataclasses.field(default_factory=dict)
    model_info: dict = dataclasses.field(default_factory=dict)
    service_windows: list | None = None


@contextmanager
def _field(scenario, path: str):
    """Report an error from resolving ``path`` as ``FILE:LINE: path: message``."""
    try:
        yield
    except InputError as exc:
        if getattr(exc, "problems", None) or not hasattr(scenario, "input_error"):
            raise
        message = str(exc)
        if message.startswith(path + ": "):
            message = message[len(path) + 2:]
        raise scenario.input_error(path, message) from None


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children)}


def _resolve_path(text: str, scenario) -> str:
    """Relative paths in a scenario are relative to the scenario file's folder."""
    base = getattr(scenario, "source_path", None)
    if base and not Path(text).is_absolute():
        candidate = Path(base).parent / text
        if candidate.exists():
            return str(candidate)
    return text


def _orbits(scenario, rng) -> tuple[list[SatelliteOrbit], object]:
    """The scenario's satellites: its catalog or Walker shell, narrowed by ``select``.

    A catalog's candidates are taken in name order.  A Walker shell's are taken
    in shell order (plane by plane, each plane in orbit order, whatever the
    number of planes), so ``strategy: spread`` spreads them over the planes;
    its altitude and inclination filters compare the shell's own altitude and
    inclination (what the scenario wrote), not the SGP4 mean elements.
    """
    from types import SimpleNamespace

    from ..orbits.constellations import from_shell, load_constellation, select_orbits
    from ..orbits.shells import WalkerShell

    c = scenario.constellation
    if c.walker is not None:
        w = c.walker
        shell = WalkerShell(altitude_km=w.altitude_km, inclination_deg=w.inclination_deg,
                            planes=w.planes, sats_per_plane=w.per_plane, phasing=w.phasing,
                            raan0_deg=w.raan0_deg)
        const = from_shell(shell)
    else:
        const = load_constellation(_resolve_path(c.catalog, scenario), names=c.names or None,
                                   lenient=c.lenient)
    orbits = list(const.orbits)
    if c.select is not None:
        s = c.select
        if c.walker is None:
            orbits = select_orbits(orbits, count=s.count, altitude_km=s.altitude_km,
                                   tolerance_km=s.tolerance_km,
                                   inclination_deg=s.inclination_deg,
                                   inclination_tolerance_deg=s.inclination_tolerance_deg,
                                   strategy=s.strategy, rng=rng)
        else:
            w = c.walker
            outside = ((s.altitude_km is not None
                        and abs(w.altitude_km - s.altitude_km) > s.tolerance_km)
                       or (s.inclination_deg is not None
                           and abs(w.inclination_deg - s.inclination_deg)
                           > s.inclination_tolerance_deg))
            if outside:
                raise InputError(f"constellation.select: no satellite within "
                                 f"{s.tolerance_km:g} km of {s.altitude_km} km altitude and "
                                 f"{s.inclination_tolerance_deg:g} deg of {s.inclination_deg} "
                                 f"deg inclination (the walker shell: {w.altitude_km:g} km, "
                                 f"{w.inclination_deg:g} deg)")
            # count and strategy as for a catalog, over stand-ins named in shell order
            # (satellite names sort out of shell order past 100 planes or slots)
            stand_ins = [SimpleNamespace(name=f"{k:08d}", index=k) for k in range(len(orbits))]
            picked = select_orbits(stand_ins, count=s.count, strategy=s.strategy, rng=rng)
            orbits = [orbits[p.index] for p in picked]
    return orbits, const


def _stations(scenario) -> list[GroundStation]:
    catalog_path = (_resolve_path(scenario.stations_catalog, scenario)
                    if scenario.stations_catalog else None)
    out: list[GroundStation] = []
    for k, spec in enumerate(scenario.ground_stations):
        where = f"ground_stations[{k}]"
        if spec.lat_deg is not None:
            with _field(scenario, where):
                found = [GroundStation(spec.name, spec.lat_deg, spec.lon_deg, spec.alt_m or 0.0,
                                       min_elevation_deg=(spec.min_elevation_deg
                                                          if spec.min_elevation_deg is not None
                                                          else 10.0),
                                       antennas=spec.antennas or 1)]
        else:
            key = f"network:{spec.network}" if spec.network else spec.name
            with _field(scenario, where + (".network" if spec.network else ".name")):
                found = resolve_stations([key], catalog_path=catalog_path)
            changes = {}
            if spec.min_elevation_deg is not None:
                changes["min_elevation_deg"] = spec.min_elevation_deg
            if spec.antennas is not None:
                changes["antennas"] = spec.antennas
            found = [dataclasses.replace(s, **changes) for s in found]
        for s in found:
            if any(o.name == s.name for o in out):
                raise scenario.input_error(where, f"station {s.name!r} is listed twice")
            out.append(s)
    return out


def _capacity(scenario, orbits, stations, start):
    """The link's capacity model (``link.model``) and the pass geometry it built, if any."""
    from ..links import BudgetLink, ConstantLink, TraceLink
    from ..orbits.geometry import PassGeometry

    cfg = scenario.link
    geometry = None
    if cfg.model == "constant":
        model = ConstantLink(cfg.rate_mbps)
    elif cfg.model == "trace":
        t = cfg.trace
        name = t.file if t is not None else "starlink-autobahn-2024-04-19"
        options = ({"scale": t.scale, "offset_s": t.offset_s, "loop": t.loop}
                   if t is not None else {})
        resolved = _resolve_path(name, scenario)
        model = (TraceLink.from_file(resolved, **options) if Path(resolved).exists()
                 else TraceLink.from_bundled(name, **options))
    else:
        geometry = PassGeometry(orbits, stations, start)
        b = cfg.budget
        kwargs = b.model_dump() if b is not None else {}
        model = BudgetLink(geometry, **kwargs)
    return model, geometry


def _propagation(scenario, orbits, stations, start, windows, geometry):
    """``propagation_s(sat, station, t)``: the slant-range light time (0 when switched off)."""
    cfg = scenario.link
    if cfg.propagation_delay and cfg.availability == "orbital":
        from ..orbits.geometry import PassGeometry, RangeTable

        ranges = RangeTable(geometry or PassGeometry(orbits, stations, start), windows)

        def propagation(sat, st, t):
            return ranges.range_km(sat, st, t) / SPEED_OF_LIGHT_KM_S
    elif cfg.propagation_delay:
        # Always connected (the paper's measurement): the station is straight below, so
        # the slant range is the satellite's altitude (its lowest possible value).
        from ..orbits.constellations import mean_altitude_km

        altitude = [mean_altitude_km(o) for o in orbits]

        def propagation(sat, st, t):
            return altitude[sat] / SPEED_OF_LIGHT_KM_S
    else:
        def propagation(sat, st, t):
            return 0.0
    return propagation


def _transport(scenario, capacity, propagation, calibrated: dict | None):
    """The link's transport (``link.transport``, or the preset's) and its description."""
    from ..links import transport as tp

    cfg = scenario.link.transport
    model = cfg.model if cfg is not None else (
        "goodput" if scenario.preset == "paper-calibrated" else "tcp")
    if model == "ideal":
        return tp.IdealTransport(capacity)
    if model == "goodput":
        goodput = cfg.goodput_mbps if cfg is not None and cfg.goodput_mbps is not None else None
        per_transfer = (cfg.per_transfer_s if cfg is not None and cfg.per_transfer_s is not None
                        else 0.0)
        if goodput is None:
            if calibrated is None:
                raise InputError("link.transport.goodput_mbps is required with model: goodput "
                                 "(or use preset: paper-calibrated for the derived value)")
            goodput = calibrated["goodput_mbps"]
        return tp.GoodputTransport(goodput, per_transfer_s=per_transfer)
    options = {}
    if cfg is not None:
        for key in ("loss_rate", "mss_bytes", "mtu_bytes", "initial_window_segments",
                    "handshake_rtts", "receive_window_bytes"):
            value = getattr(cfg, key)
            if value is not None:
                options[key] = value
        options["throughput_model"] = cfg.throughput_model
    ground_rtt_s = (cfg.ground_rtt_ms / 1000.0 if cfg is not None and cfg.ground_rtt_ms is not None
                    else tp.GROUND_RTT_S)

    def rtt_s(sat, st, t):
        return 2.0 * propagation(sat, st, t) + ground_rtt_s

    return tp.TcpTransport(capacity, rtt_s=rtt_s, **options)


def _onboard_seconds(table: pd.DataFrame, compute, stage: np.ndarray, points: int,
                     stage_tokens: int) -> np.ndarray:
    w = table["image_width_px"].to_numpy()
    h = table["image_height_px"].to_numpy()
    out_tokens = table["onboard_output_tokens"].to_numpy()
    vt = compute.visual_tokens(w, h)
    encode = compute.encode_s(w, h)
    prefill = compute.prefill_s(vt, table["prompt_tokens"].to_numpy())
    generated = np.where(stage >= points + 1, out_tokens,
                         np.minimum(np.maximum(stage - 1, 0) * stage_tokens, out_tokens))
    seconds = np.where(stage >= 1, encode, 0.0)
    seconds = seconds + np.where(stage >= 2, prefill + compute.decode_s(generated), 0.0)
    return np.asarray(seconds, dtype=float)


MEASURED_COLUMNS = ("onboard_encode_s", "onboard_prefill_s", "onboard_stage_seconds",
                    "ground_encode_s", "ground_prefill_s", "ground_decode_s")


def _measured_seconds(table: pd.DataFrame, backend, stage: np.ndarray, points: int,
                      stage_tokens: int):
    """Onboard and ground seconds from the wall times a real backend recorded.

    Onboard work up to decision point i is the vision encoding, and for i > 1 the
    prefill plus the recorded decode time of the first i - 1 generation stages;
    the trace must have been recorded with the scenario's ``stage_tokens``.
    """
    missing = [c for c in MEASURED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"measured needs a trace recorded by a real backend; this one lacks "
                         f"{', '.join(missing)}")
    meta = getattr(backend, "meta", {}) or {}
    recorded = meta.get("stage_tokens")
    if recorded is not None and int(recorded) != stage_tokens:
        raise InputError(f"the trace was recorded with stage_tokens {recorded}, the scenario "
                         f"uses {stage_tokens} (policy.params.stage_tokens)")
    encode = table["onboard_encode_s"].to_numpy(float)
    prefill = table["onboard_prefill_s"].to_numpy(float)
    stages = table["onboard_stage_seconds"].tolist()
    decoded = np.array([float(np.sum(st[: (len(st) if k >= points + 1 else max(k - 1, 0))]))
                        for st, k in zip(stages, stage.tolist())])
    onboard = np.where(stage >= 1, encode, 0.0) + np.where(stage >= 2, prefill + decoded, 0.0)
    ground = (table["ground_encode_s"].to_numpy(float) + table["ground_prefill_s"].to_numpy(float)
              + table["ground_decode_s"].to_numpy(float))
    return onboard, ground


def _ground_seconds(table: pd.DataFrame, compute) -> np.ndarray:
    w = table["image_width_px"].to_numpy()
    h = table["image_height_px"].to_numpy()
    vt = compute.visual_tokens(w, h)
    return np.asarray(compute.encode_s(w, h) + compute.prefill_s(vt, table["prompt_tokens"].to_numpy())
                      + compute.decode_s(table["ground_output_tokens"].to_numpy()), dtype=float)


def record_live(live, stage_tokens: int):
    """Run the real models of a ``workload.live`` block over its image set; return the trace."""
    from ..inference.images import load_image_set
    from ..inference.metrics import score
    from ..inference.record import record_trace
    from ..inference.transformers_backend import QwenVLBackend

    samples = load_image_set(live.dataset)[: live.limit]
    onboard = QwenVLBackend(live.onboard_model_dir, device=live.device, dtype=live.dtype,
                            max_new_tokens=live.max_new_tokens)
    ground = (onboard if not live.ground_model_dir
              or Path(live.ground_model_dir) == Path(live.onboard_model_dir)
              else QwenVLBackend(live.ground_model_dir, device=live.device, dtype=live.dtype,
                                 max_new_tokens=live.max_new_tokens))
    logger.info("running the real models over %d images of %s", len(samples), live.dataset)
    items = [(s.sample_id, s.image, s.prompt, s.reference, s.task, s.size_bytes)
             for s in samples]
    return record_trace(onboard, ground, items, stage_tokens=stage_tokens, scorer=score,
                        name=f"live-{live.dataset}",
                        source=f"recorded live on {onboard.device_name} over {live.dataset}")


def _trace(scenario, stage_tokens: int, n_needed: int | None):
    """The scenario's trace: generated, recorded live, or read from a file."""
    from ..inference.synthetic import generate_synthetic
    from ..inference.traces import read_trace

    wl = scenario.workload
    if wl.trace == "live":
        return record_live(wl.live, stage_tokens)
    if wl.trace == "synthetic":
        syn = wl.synthetic
        kwargs = syn.model_dump(exclude_none=True) if syn is not None else {}
        # the generator is prefix-stable: generating more rows than asked changes none
        kwargs["samples"] = max(int(kwargs.get("samples", 1)), int(n_needed or 0))
        return generate_synthetic(seed=scenario.seed, **kwargs)
    return read_trace(_resolve_path(wl.trace, scenario))


def _workload(scenario, rng, stage_tokens: int, n_satellites: int):
    """``(backend, samples table, training table)`` of a scenario.

    The training pool is held apart first (:func:`simulator.inference.split.split_trace`),
    then the simulated samples are drawn from the other rows: in order for a
    synthetic trace (its rows are independent draws, generated prefix-stably), by
    seeded permutation cycles otherwise (:func:`~simulator.inference.split.draw_rows`).
    Either way a run of ``k`` samples simulates the first ``k`` samples of a longer
    run.  Image bytes follow ``workload.image_bytes``.
    """
    from ..inference.cached import CachedBackend
    from ..inference.image_bytes import image_bytes
    from ..inference.split import draw_rows, split_trace
    from ..inference.traces import Trace
    from .workload import sample_count

    wl = scenario.workload
    n = sample_count(samples=wl.samples, rate_per_satellite_h=wl.rate_per_satellite_h,
                     satellites=n_satellites, duration_h=scenario.time.duration_h)
    seed = int(rng.integers(0, 2**31 - 1))
    trace = _trace(scenario, stage_tokens, n)
    test, train = split_trace(trace.table, train_rows=wl.train_rows,
                              train_fraction=wl.train_fraction or None, seed=scenario.seed)
    meta = dict(trace.meta)
    if "n_samples" in meta:
        meta["n_samples"] = len(test)
    pool = Trace(test, meta, path=getattr(trace, "path", None))
    if wl.trace == "synthetic" and "split" in trace.table.columns:
        rows = np.arange(len(test) if n is None else n) % len(test)
    else:
        rows = draw_rows(len(test), n, seed)
    backend = CachedBackend(pool, rows=rows, seed=seed)
    table = backend.columns().reset_index(drop=True)
    for part in (table, train):
        if len(part):
            part["image_bytes"] = image_bytes(
                part["image_width_px"].to_numpy(), part["image_height_px"].to_numpy(),
                wl.image_bytes, bands=wl.bands, bytes_per_sample=wl.bytes_per_sample,
                stored=part["image_bytes"].to_numpy())
    return backend, table, train


@dataclass
class _Resolved:
    orbits: list
    constellation: object
    stations: list
    sat_compute: object
    ground_compute: object
    policy: object
    compression: object
    points: int
    stage_tokens: int


def _resolve(scenario, rngs) -> _Resolved:
    """Everything named in a scenario that can be checked without running it."""
    from ..compute import load_compute

    with _field(scenario, "constellation"):
        orbits, const = _orbits(scenario, rngs["selection"])
    stations = _stations(scenario)
    computes = {}
    for side in ("satellite", "ground"):
        cfg = getattr(scenario.compute, side)
        with _field(scenario, f"compute.{side}"):
            computes[side] = load_compute(cfg.device, cfg.model, cfg.overrides,
                                          max_pixels=scenario.compute.max_pixels)
    params = dict(scenario.policy.params)
    with _field(scenario, "policy.params"):
        points = int(params.get("stages", 2))
        stage_tokens = int(params.get("stage_tokens", 16))
        if points < 1 or stage_tokens < 1:
            raise InputError("stages and stage_tokens must be integers >= 1")
    with _field(scenario, "policy.allocation"):
        policy = get_policy(scenario.policy.allocation, params)
    with _field(scenario, "policy.compression.method"):
        comp = get_compression(scenario.policy.compression.method,
                               dict(scenario.policy.compression.params))
    return _Resolved(orbits, const, stations, computes["satellite"], computes["ground"],
                     policy, comp, points, stage_tokens)


def constellation_of(scenario):
    """``(orbits, stations, start)`` of a scenario: the satellites (same selection and
    elements as its runs), the ground stations and the start time (UTC datetime).

    Everything a picture of the run needs to propagate the satellites exactly as
    the contact search did (:class:`~simulator.orbits.contacts.SatelliteOrbit` holds
    each satellite's SGP4 record).
    """
    from ..orbits.frames import as_utc

    rngs = _rngs(scenario.seed)
    with _field(scenario, "constellation"):
        orbits, const = _orbits(scenario, rngs["selection"])
    stations = _stations(scenario)
    start = as_utc(scenario.time.start) if scenario.time.start else const.default_start
    return orbits, stations, start


def check_scenario(scenario) -> dict:
    """Resolve the cheap parts of a scenario (no contact search, no simulation).

    Raises :class:`InputError` for anything that a run would reject: unknown
    catalog, station, policy, compression, device or model, a model that does not
    fit its device.  Returns a few facts for the user.
    """
    from ..inference.traces import read_trace

    r = _resolve(scenario, _rngs(scenario.seed))
    wl = scenario.workload
    facts = {"satellites": len(r.orbits), "stations": len(r.stations),
             "policy": r.policy.name, "run id": scenario.run_id}
    if wl.trace not in ("synthetic", "live"):
        with _field(scenario, "workload.trace"):
            trace = read_trace(_resolve_path(wl.trace, scenario))
        facts["trace"] = f"{trace.name} ({len(trace)} rows)"
    if scenario.link.model == "trace":
        with _field(scenario, "link.trace"):
            _capacity(scenario, r.orbits, r.stations, None)
    return facts


def build_world(scenario) -> World:
    """Resolve a validated scenario into a ready-to-run :class:`World`."""
    from ..orbits.frames import as_utc
    from ..orbits.tle import epoch_warnings
    
    rngs = _rngs(scenario.seed)
    r = _resolve(scenario, rngs)
    orbits, const, stations = r.orbits, r.constellation, r.stations
    policy, comp, points, stage_tokens = r.policy, r.compression, r.points, r.stage_tokens
    start = as_utc(scenario.time.start) if scenario.time.start else const.default_start
    if const.catalog is not None:
        epoch_warnings(const.catalog, start)
    duration_s = scenario.time.duration_h * 3600.0
    horizon_s = duration_s + scenario.time.drain_h * 3600.0
    sat_cfg, gs_cfg = scenario.compute.satellite, scenario.compute.ground
    wl = scenario.workload

    with _field(scenario, "workload"):
        backend, table, train = _workload(scenario, rngs["trace"], stage_tokens, len(orbits))
    n = len(table)
    with _field(scenario, "compute"):
        for cm in (r.sat_compute, r.ground_compute):
            if n and hasattr(cm, "check_fits"):
                cm.check_fits(table["image_width_px"].to_numpy(), table["image_height_px"].to_numpy())

    if scenario.link.availability == "always":
        contacts = pd.DataFrame()
        windows = [[ContactWindow(0.0, math.inf, 0)] for _ in orbits]
        service_windows = windows
    else:
        # Contacts a day past the horizon too: a sample's *service* latency needs the
        # first contact after it is ready, even when that comes after the run ends.
        ahead = cached_contacts(orbits, stations, start, horizon_s + SERVICE_LOOKAHEAD_S,
                                step_s=scenario.time.contact_step_s)
        service_windows = _windows_by_satellite(ahead, orbits, stations)
        contacts = ahead[ahead["rise_s"] < horizon_s].reset_index(drop=True)
        windows = [[w for w in ws if w.rise_s < horizon_s] for ws in service_windows]

    calibration = None
    ground_compute = r.ground_compute
    if scenario.preset == "paper-calibrated":
        from ..presets import paper_calibration

        calibration = paper_calibration(scenario.compute.max_pixels)
        ground_compute = dataclasses.replace(
            r.ground_compute, time_scale=r.ground_compute.time_scale
            * calibration["ground_time_scale"])
    with _field(scenario, "link"):
        capacity, geometry = _capacity(scenario, orbits, stations, start)
        propagation = _propagation(scenario, orbits, stations, start, service_windows, geometry)
        transport = _transport(scenario, capacity, propagation, calibration)
    link_info = {"model": scenario.link.model, "availability": scenario.link.availability,
                 **capacity.describe(), "transport": transport.describe()}

    def stage_seconds(stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if scenario.compute.timing == "measured":
            with _field(scenario, "compute.timing"):
                return _measured_seconds(table, backend, stage, points, stage_tokens)
        return (_onboard_seconds(table, r.sat_compute, stage, points, stage_tokens),
                _ground_seconds(table, ground_compute))

    estimates = _estimates(table, stage_seconds, points, windows, horizon_s, transport,
                           propagation)
    ctx = PolicyContext(table, points, stage_tokens, rngs["policy"], train=train,
                        estimates=estimates, trace_meta=getattr(backend, "meta", {}) or {},
                        cache_dir=_policy_cache())
    with _field(scenario, "policy.allocation"):
        plan = policy.plan(ctx)
    with _field(scenario, "policy.compression"):
        compressed = comp.apply(table, rngs["compression"])

    sat_idx, capture = spread_samples(n, len(orbits), duration_s, assignment=wl.assignment,
                                      arrival=wl.arrival, rng=rngs["workload"],
                                      rate_per_satellite_h=wl.rate_per_satellite_h)
    onboard_s, ground_s = stage_seconds(plan.stage)
    priority = table["onboard_confidence"].to_numpy(float) if (
        scenario.buffer.discipline == "priority" and "onboard_confidence" in table) else None
    if scenario.buffer.discipline == "priority" and priority is None:
        priority = capture.copy()
        logger.warning("buffer.discipline priority: the trace has no onboard_confidence; "
                       "falling back to capture order")
    offload = plan.offload.astype(bool)
    # Policies that send the full image (e.g. Tabi) bypass compression.
    bypass = bool(getattr(policy, "sends_full_image", False))
    bytes_sent = table["image_bytes"].to_numpy(np.int64) if bypass else compressed.bytes_sent
    compress_s = np.zeros(n) if bypass else compressed.compress_s
    ground_score = table["ground_score"].to_numpy(float) if bypass else compressed.ground_score
    if plan.offload_score is not None:
        ground_score = np.asarray(plan.offload_score, dtype=float)
    inputs = SampleInputs(satellite=sat_idx, capture_s=capture, onboard_s=onboard_s,
                          offload=offload, compress_s=compress_s, bytes_sent=bytes_sent,
                          ground_s=ground_s, priority=priority)
    network = NetworkInputs(windows=windows, antennas=[s.antennas for s in stations],
                            gpus=[gs_cfg.gpus] * len(stations), transport=transport,
                            propagation_s=propagation, slots=sat_cfg.slots,
                            buffer_capacity_bytes=scenario.buffer.capacity_mb * 1e6,
                            priority_buffer=scenario.buffer.discipline == "priority",
                            horizon_s=horizon_s)
    score = np.where(offload, ground_score, table["onboard_score"].to_numpy(float))
    from ..inference.image_bytes import describe as describe_bytes

    model_info = {
        "preset": scenario.preset,
        "image_bytes": describe_bytes(wl.image_bytes, bands=wl.bands,
                                      bytes_per_sample=wl.bytes_per_sample),
        "compute": {"satellite": _describe_compute(r.sat_compute),
                    "ground": _describe_compute(ground_compute)},
        "paper_calibration": calibration,
        "unverified_constants": _unverified(),
        "load": {"rate_per_satellite_h": wl.rate_per_satellite_h, "arrival": wl.arrival,
                 "samples": n, "satellites": len(orbits),
                 "duration_h": scenario.time.duration_h},
    }
    return World(scenario=scenario, orbits=orbits, stations=stations, start=start,
                 horizon_s=horizon_s, contacts=contacts, backend=backend, samples_table=table,
                 sample_inputs=inputs, network=network, plan_stage=plan.stage, points=points,
                 score=score, score_modelled=bool(compressed.modelled) and not bypass,
                 onboard_score=table["onboard_score"].to_numpy(float), policy=policy,
                 compression=comp, link_info=link_info, train_samples=len(train),
                 plan_notes=dict(plan.notes), model_info=model_info,
                 service_windows=service_windows)


def _unverified() -> list:
    from ..compute import unverified_constants

    return unverified_constants()


def _describe_compute(cm) -> dict:
    describe = getattr(cm, "describe", None)
    if describe is not None:
        return describe()
    return {"device": cm.device.name, "model": cm.model.name}


def _estimates(table, stage_seconds, points, windows, horizon_s, transport,
               propagation) -> dict:
    """Per-sample cost estimates a policy may weigh (see PolicyContext).

    ``tx_s`` is each sample's raw image sent alone over the run's transport at
    the start of its satellite's first contact (station 0, satellite 0 when
    there are no windows) -- the service-latency view of the downlink.
    """
    n = len(table)
    onboard = np.zeros((n, points + 2))
    ground = np.zeros(n)
    for k in range(points + 2):
        onboard[:, k], ground = stage_seconds(np.full(n, k))
    image_bytes = table["image_bytes"].to_numpy(float)
    sat, st, t0 = 0, 0, 0.0
    for k, sat_windows in enumerate(windows):
        if sat_windows:
            first = min(sat_windows, key=lambda w: w.rise_s)
            sat, st, t0 = k, first.station, first.rise_s
            break
    try:
        tx = np.array([transport.alone_seconds(sat, st, t0, b) for b in image_bytes]) \
            if n <= 5000 else _tx_by_quantiles(transport, sat, st, t0, image_bytes)
        tx = tx + propagation(sat, st, t0)
    except InputError:
        tx = np.full(n, np.nan)
    # Mean residual wait for a contact, for a capture at a random time: sum(gap^2) / (2 T).
    waits = []
    for sat_windows in windows:
        edges = sorted((w.rise_s, min(w.set_s, horizon_s)) for w in sat_windows)
        t, acc = 0.0, 0.0
        for rise, set_ in edges:
            if rise > t:
                acc += (rise - t) ** 2
            t = max(t, set_)
        acc += max(0.0, horizon_s - t) ** 2
        waits.append(acc / (2 * horizon_s) if math.isfinite(horizon_s) else 0.0)
    big = float(np.median(image_bytes)) if n else 1e6
    one = transport.alone_seconds(sat, st, t0, big) if n else float("nan")
    nominal = big * 8 / one if one and one > 0 else float("nan")
    return {"onboard_s_at_stage": onboard, "ground_s": ground,
            "tx_s": tx, "image_bytes": image_bytes,
            "contact_wait_s": float(np.mean(waits)) if waits else 0.0,
            "rate_bps": nominal}


def _tx_by_quantiles(transport, sat, st, t0, sizes: np.ndarray) -> np.ndarray:
    """Transfer times of many sizes: exact at 257 size quantiles, interpolated between."""
    grid = np.unique(np.quantile(sizes, np.linspace(0, 1, 257)))
    times = np.array([transport.alone_seconds(sat, st, t0, b) for b in grid])
    return np.interp(sizes, grid, times)


def _policy_cache() -> Path | None:
    """The folder for trained policy networks, or None (after one warning) when the
    cache folder cannot be used: policies then train their networks again."""
    from ..paths import cache_subdir

    return cache_subdir("policies")


def _windows_by_satellite(contacts: pd.DataFrame, orbits, stations):
    sat_of = {o.name: i for i, o in enumerate(orbits)}
    st_of = {s.name: j for j, s in enumerate(stations)}
    windows: list[list[ContactWindow]] = [[] for _ in orbits]
    if len(contacts):
        ordered = contacts.sort_values("rise_s")
        for sat, st, rise, set_ in zip(ordered["satellite"], ordered["station"],
                                       ordered["rise_s"], ordered["set_s"]):
            windows[sat_of[sat]].append(ContactWindow(float(rise), float(set_), st_of[st]))
    return windows


def run_world(world: World, progress: Callable[[float], None] | None = None):
    """Run the simulation; return (samples DataFrame, simulation output)."""
    out = Simulation(world.sample_inputs, world.network).run(progress=progress)
    return sample_log(world, out), out


def sample_log(world: World, out) -> pd.DataFrame:
    """The per-sample log (:data:`simulator.results.SAMPLE_COLUMNS`) of a finished run."""
    inp = world.sample_inputs
    table = world.samples_table
    names = np.array([o.name for o in world.orbits], dtype=object)
    st_names = np.array([s.name for s in world.stations] + [""], dtype=object)
    done = out.done_s
    e2e = done - inp.capture_s
    in_contact = e2e - out.wait_contact_s
    stage_names = np.array([stage_name(k, world.points) for k in range(world.points + 2)],
                           dtype=object)
    status = out.status.astype(str)
    finished = np.isin(status, ["onboard", "ground"])
    score = np.where(finished, world.score, np.nan)
    service = service_latency(satellite=inp.satellite, capture_s=inp.capture_s,
                              offload=inp.offload, onboard_s=inp.onboard_s,
                              compress_s=inp.compress_s, bytes_sent=inp.bytes_sent,
                              ground_s=inp.ground_s,
                              windows=world.service_windows or world.network.windows,
                              transport=world.network.transport,
                              propagation_s=world.network.propagation_s)
    samples = pd.DataFrame({
        "sample_id": table["sample_id"].astype(str).to_numpy(),
        "task": table["task"].astype(str).to_numpy(),
        "satellite": names[inp.satellite],
        "station": st_names[out.station],
        "status": status,
        "decision": np.where(inp.offload, "offload", "onboard"),
        "stage": stage_names[world.plan_stage],
        "capture_s": inp.capture_s,
        "onboard_queue_s": out.onboard_start_s - inp.capture_s,
        "onboard_s": inp.onboard_s,
        "compress_s": np.where(inp.offload, inp.compress_s, 0.0),
        "bytes_raw": table["image_bytes"].to_numpy(np.int64),
        "bytes_sent": np.where(inp.offload, inp.bytes_sent, 0).astype(np.int64),
        "buffer_queue_s": out.buffer_queue_s,
        "wait_contact_s": out.wait_contact_s,
        "tx_s": out.tx_s,
        "tx_pieces": out.tx_pieces,
        "propagation_s": out.propagation_s,
        "ground_queue_s": out.ground_start_s - out.ground_arrival_s,
        "ground_s": np.where(inp.offload, out.ground_end_s - out.ground_start_s, 0.0),
        "service_latency_s": service["service_latency_s"],
        "service_tx_s": service["service_tx_s"],
        "in_contact_latency_s": in_contact,
        "end_to_end_latency_s": e2e,
        "score": score,
        "answer_score": np.asarray(world.score, dtype=float),
        "score_modelled": np.full(len(table), world.score_modelled) & inp.offload,
        "tx_start_s": out.tx_start_s,
        "tx_end_s": out.tx_end_s,
        "done_s": done,
    })
    return samples


@dataclass
class RunResult:
    folder: Path
    summary: dict
    samples: pd.DataFrame


def run_scenario(scenario, *, out_dir: str | Path | None = None,
                 progress_factory: Callable | None = None) -> RunResult:
    """Build, run and write ``<out_dir>/<run-id>/``; return the folder and summary."""
    from ..config import dump_resolved
    from ..results import SAMPLE_COLUMNS, summarize, write_run

    world = build_world(scenario)
    if progress_factory is not None:
        with progress_factory(world.horizon_s) as advance:
            samples, out = run_world(world, progress=advance)
    else:
        samples, out = run_world(world)
    samples = samples[SAMPLE_COLUMNS]
    transmissions = pd.DataFrame(out.transmissions, columns=["row", "satellite_index",
                                                             "station_index", "start_s",
                                                             "end_s", "bytes"])
    extra = {
        "scenario": scenario.name,
        "run_id": scenario.run_id,
        "seed": scenario.seed,
        "start_utc": world.start.isoformat(),
        "horizon_s": world.horizon_s,
        "satellites": [o.name for o in world.orbits],
        "stations": [s.name for s in world.stations],
        "contact_windows": int(len(world.contacts)),
        "link": world.link_info,
        "events": int(out.events),
        "train_samples": world.train_samples,
        "policy_notes": world.plan_notes,
        "dropped_bytes": float(out.dropped_bytes),
        **world.model_info,
    }
    summary = summarize(samples, policy=world.policy.describe(),
                        compression=world.compression.describe(),
                        trace_meta=world.backend.meta if hasattr(world.backend, "meta") else {},
                        extra=extra)
    tables = {"transmissions": transmissions}
    if scenario.workload.trace == "live":  # what the real models produced, for replay
        tables["trace"] = world.samples_table
    if scenario.output.save_contacts and len(world.contacts):
        tables["contacts"] = world.contacts
    base = Path(out_dir) if out_dir is not None else Path(scenario.output.dir)
    # The saved scenario records the start actually used (a catalog's default start).
    resolved = scenario.model_copy(update={"time": scenario.time.model_copy(
        update={"start": world.start})})
    folder = write_run(base / scenario.run_id, samples=samples, summary=summary,
                       scenario_yaml=dump_resolved(resolved), tables=tables)
    return RunResult(folder, summary, samples)

