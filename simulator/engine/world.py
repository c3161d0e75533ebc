"""From a validated scenario to a finished run: the one place that wires modules.

Each part of a run is built by its own module from its scenario block; this
module only connects them:

=====================  ==========================================================
scenario block         built by
=====================  ==========================================================
``constellation``      :func:`simulator.orbits.constellations.orbits_from_scenario`
``ground_stations``    :func:`simulator.orbits.stations.stations_from_scenario`
``link``               :func:`simulator.links.build.build_link` (capacity, light
                       time, transport; the preset's calibrated goodput) and
                       :func:`simulator.engine.windows.contact_plan` (availability)
``compute``            :mod:`simulator.compute.build` (models, the preset's ground
                       scale, per-stage seconds)
``workload``           :func:`simulator.engine.workload.build_workload` (trace,
                       training pool, drawn samples, image bytes) and
                       :func:`~simulator.engine.workload.arrivals`
``policy``             :mod:`simulator.policies.build` (allocation, compression,
                       cost estimates, decisions)
=====================  ==========================================================

:func:`build_world` connects them into a :class:`World`; :func:`run_world` runs
the SimPy core (:mod:`simulator.engine.simulation`) and turns its timings into
the per-sample log; :func:`run_scenario` does both and writes the run folder.
Errors from any part read ``FILE:LINE: field.path: message``
(:func:`simulator.scenario_blocks.field`).

Randomness: one seed in the scenario fixes every draw.  Independent streams
are spawned from it (``numpy.random.SeedSequence``) for the satellite
selection, the trace sampling, the workload spread, the policy and the
compression, so changing one part does not shift the others.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..compute.build import (calibrated, check_fits, computes_from_scenario, describe_compute,
                             onboard_seconds, stage_timer)
from ..links.build import build_link, check_link
from ..memory import release_freed_memory
from ..orbits.constellations import orbits_from_scenario, start_of
from ..orbits.contacts import SatelliteOrbit
from ..orbits.stations import GroundStation, stations_from_scenario
from ..policies.allocation import stage_name
from ..policies.build import Policies, cost_estimates, decide, policies_from_scenario
from ..scenario_blocks import field
from ..text_columns import labels_column, str_dtype
from .service import service_latency
from .simulation import NetworkInputs, SampleInputs, Simulation
from .windows import contact_plan
from .workload import (arrivals, build_workload, check_trace, describe_image_bytes,
                       describe_load, record_live)

__all__ = ["World", "RunResult", "build_world", "run_world", "run_scenario", "sample_log",
           "check_scenario", "constellation_of", "record_live"]

logger = logging.getLogger(__name__)

_STREAMS = ("selection", "trace", "workload", "policy", "compression", "split")

#: Kept for tests/test_spaceverse_policy.py, which still imports it from here; the
#: function is :func:`simulator.compute.build.onboard_seconds`.
_onboard_seconds = onboard_seconds


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
    onboard_at_stage: np.ndarray | None = None   #: cumulative onboard seconds per stage
    ground_score: np.ndarray | None = None       #: each sample's score if offloaded


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children)}


@dataclass
class _Resolved:
    orbits: list
    constellation: object
    stations: list
    sat_compute: object
    ground_compute: object
    policies: Policies


def _resolve(scenario, rngs) -> _Resolved:
    """Everything named in a scenario that can be checked without running it."""
    orbits, const = orbits_from_scenario(scenario, rngs["selection"])
    stations = stations_from_scenario(scenario)
    sat_compute, ground_compute = computes_from_scenario(scenario)
    return _Resolved(orbits, const, stations, sat_compute, ground_compute,
                     policies_from_scenario(scenario))


def constellation_of(scenario):
    """``(orbits, stations, start)`` of a scenario: the satellites (same selection and
    elements as its runs), the ground stations and the start time (UTC datetime).

    Everything a picture of the run needs to propagate the satellites exactly as
    the contact search did (:class:`~simulator.orbits.contacts.SatelliteOrbit` holds
    each satellite's SGP4 record).
    """
    orbits, const = orbits_from_scenario(scenario, _rngs(scenario.seed)["selection"])
    stations = stations_from_scenario(scenario)
    return orbits, stations, start_of(scenario, const)


def check_scenario(scenario) -> dict:
    """Resolve the cheap parts of a scenario (no contact search, no simulation).

    Raises :class:`InputError` for anything that a run would reject: unknown
    catalog, station, policy, compression, device or model, a model that does not
    fit its device.  Returns a few facts for the user.
    """
    r = _resolve(scenario, _rngs(scenario.seed))
    facts = {"satellites": len(r.orbits), "stations": len(r.stations),
             "policy": r.policies.allocation.name, "run id": scenario.run_id}
    trace = check_trace(scenario)
    if trace is not None:
        facts["trace"] = trace
    check_link(scenario, r.orbits, r.stations)
    return facts


def build_world(scenario) -> World:
    """Resolve a validated scenario into a ready-to-run :class:`World`."""
    from ..compute import unverified_constants
    from ..orbits.tle import epoch_warnings

    rngs = _rngs(scenario.seed)
    r = _resolve(scenario, rngs)
    orbits, stations, pol = r.orbits, r.stations, r.policies
    start = start_of(scenario, r.constellation)
    if r.constellation.catalog is not None:
        epoch_warnings(r.constellation.catalog, start)
    horizon_s = scenario.time.duration_h * 3600.0 + scenario.time.drain_h * 3600.0

    workload = build_workload(scenario, rngs["trace"], pol.stage_tokens, len(orbits))
    table, backend = workload.samples, workload.backend
    check_fits(scenario, (r.sat_compute, r.ground_compute), table)
    plan = contact_plan(scenario, orbits, stations, start, horizon_s)

    calibration = None
    if scenario.preset == "paper-calibrated":
        from ..presets import paper_calibration

        calibration = paper_calibration(scenario.compute.max_pixels)
    ground_compute = calibrated(r.ground_compute, calibration)
    link = build_link(scenario, orbits, stations, start, plan.service_windows, calibration)

    stage_seconds = stage_timer(scenario, table, backend, r.sat_compute, ground_compute,
                                pol.points, pol.stage_tokens)
    estimates = cost_estimates(table, stage_seconds, pol.points, plan.windows, horizon_s,
                               link.transport, link.propagation_s)
    decided = decide(scenario, pol, table, workload.train, estimates,
                     getattr(backend, "meta", {}) or {}, policy_rng=rngs["policy"],
                     compression_rng=rngs["compression"])
    _release_policy_scratch()

    satellite, capture = arrivals(scenario, len(table), len(orbits), rngs["workload"])
    onboard_s, ground_s = stage_seconds(decided.plan.stage)
    inputs = SampleInputs(satellite=satellite, capture_s=capture, onboard_s=onboard_s,
                          offload=decided.offload, compress_s=decided.compress_s,
                          bytes_sent=decided.bytes_sent, ground_s=ground_s,
                          priority=_buffer_priority(scenario, table, capture))
    if getattr(pol.allocation, "online", False):
        # decided during the run, from the state of the network (engine.decisions)
        inputs.decider = pol.allocation.decider(None, decided.plan)
        inputs.onboard_at_stage = estimates["onboard_s_at_stage"]
    network = NetworkInputs(windows=plan.windows, antennas=[s.antennas for s in stations],
                            gpus=[scenario.compute.ground.gpus] * len(stations),
                            transport=link.transport, propagation_s=link.propagation_s,
                            slots=scenario.compute.satellite.slots,
                            buffer_capacity_bytes=scenario.buffer.capacity_mb * 1e6,
                            priority_buffer=scenario.buffer.discipline == "priority",
                            horizon_s=horizon_s, isl=_isl(scenario, orbits, start))
    model_info = {
        "preset": scenario.preset,
        "image_bytes": describe_image_bytes(scenario),
        "compute": {"satellite": describe_compute(r.sat_compute),
                    "ground": describe_compute(ground_compute)},
        "paper_calibration": calibration,
        "unverified_constants": unverified_constants(),
        "load": describe_load(scenario, len(table), len(orbits)),
        "isl": network.isl.describe() if network.isl is not None else None,
    }
    return World(scenario=scenario, orbits=orbits, stations=stations, start=start,
                 horizon_s=horizon_s, contacts=plan.contacts, backend=backend,
                 samples_table=table, sample_inputs=inputs, network=network,
                 plan_stage=decided.plan.stage, points=pol.points, score=decided.score,
                 score_modelled=decided.score_modelled,
                 onboard_score=table["onboard_score"].to_numpy(float), policy=pol.allocation,
                 compression=pol.compression, link_info=link.info,
                 train_samples=len(workload.train), plan_notes=dict(decided.plan.notes),
                 model_info=model_info, service_windows=plan.service_windows,
                 onboard_at_stage=estimates["onboard_s_at_stage"],
                 ground_score=decided.ground_score)


def _isl(scenario, orbits, start):
    """The scenario's inter-satellite links (``isl`` block), or None."""
    spec = scenario.isl
    if spec is None:
        return None
    from ..orbits.isl import InterSatelliteLinks

    with field(scenario, "isl"):
        return InterSatelliteLinks(orbits, start, neighbours=spec.neighbours, k=spec.k,
                                   pairs=spec.pairs, rate_mbps=spec.rate_mbps,
                                   max_range_km=spec.max_range_km, margin_s=spec.margin_s,
                                   max_hops=spec.max_hops)


def _buffer_priority(scenario, table: pd.DataFrame, capture: np.ndarray) -> np.ndarray | None:
    """The onboard buffer's priority key (``buffer.discipline: priority``), or None (FIFO)."""
    if scenario.buffer.discipline != "priority":
        return None
    if "onboard_confidence" in table:
        return table["onboard_confidence"].to_numpy(float)
    logger.warning("buffer.discipline priority: the trace has no onboard_confidence; "
                   "falling back to capture order")
    return capture.copy()


def run_world(world: World, progress: Callable[[float], None] | None = None):
    """Run the simulation; return (samples DataFrame, simulation output)."""
    out = Simulation(world.sample_inputs, world.network).run(progress=progress)
    return sample_log(world, out), out


def sample_log(world: World, out) -> pd.DataFrame:
    """The per-sample log (:data:`simulator.results.SAMPLE_COLUMNS`) of a finished run."""
    inp = world.sample_inputs
    table = world.samples_table
    offload = out.offload if out.offload is not None else np.asarray(inp.offload, bool)
    onboard_s = out.onboard_s if out.onboard_s is not None else inp.onboard_s
    if out.stage is not None:  # decided during the run; -1 = never started (horizon)
        stage = np.where(out.stage >= 0, out.stage, world.points + 1)
        answer = np.where(offload, world.ground_score, world.onboard_score)
    else:
        stage, answer = world.plan_stage, np.asarray(world.score, dtype=float)
    # Text columns gathered in Arrow from their few values (no Python string a row).
    st_names = [s.name for s in world.stations] + [""]
    done = out.done_s
    e2e = done - inp.capture_s
    in_contact = e2e - out.wait_contact_s
    stage_names = [stage_name(k, world.points) for k in range(world.points + 2)]
    finished = (out.status == "onboard") | (out.status == "ground")
    score = np.where(finished, answer, np.nan)
    service = service_latency(satellite=inp.satellite, capture_s=inp.capture_s,
                              offload=offload, onboard_s=onboard_s,
                              compress_s=inp.compress_s, bytes_sent=inp.bytes_sent,
                              ground_s=inp.ground_s,
                              windows=world.service_windows or world.network.windows,
                              transport=world.network.transport,
                              propagation_s=world.network.propagation_s)
    samples = pd.DataFrame({
        "sample_id": _text(table["sample_id"]),
        "task": _text(table["task"]),
        "satellite": labels_column([o.name for o in world.orbits], inp.satellite),
        "station": labels_column(st_names, np.where(out.station >= 0, out.station,
                                                    len(st_names) - 1)),
        "status": pd.array(out.status, dtype=str_dtype()),
        "decision": labels_column(["onboard", "offload"], offload.astype(np.int8)),
        "stage": labels_column(stage_names, stage),
        "capture_s": inp.capture_s,
        "onboard_queue_s": out.onboard_start_s - inp.capture_s,
        "onboard_s": onboard_s,
        "compress_s": np.where(offload, inp.compress_s, 0.0),
        "bytes_raw": table["image_bytes"].to_numpy(np.int64),
        "bytes_sent": np.where(offload, inp.bytes_sent, 0).astype(np.int64, copy=False),
        "buffer_queue_s": out.buffer_queue_s,
        "wait_contact_s": out.wait_contact_s,
        "tx_s": out.tx_s,
        "tx_pieces": out.tx_pieces,
        "propagation_s": out.propagation_s,
        "ground_queue_s": out.ground_start_s - out.ground_arrival_s,
        "ground_s": np.where(offload, out.ground_end_s - out.ground_start_s, 0.0),
        "service_latency_s": service["service_latency_s"],
        "service_tx_s": service["service_tx_s"],
        "in_contact_latency_s": in_contact,
        "end_to_end_latency_s": e2e,
        "score": score,
        "answer_score": np.asarray(answer, dtype=float),
        "score_modelled": np.full(len(table), world.score_modelled) & offload,
        "isl_hops": out.isl_hops if out.isl_hops is not None else np.zeros(len(table), int),
        "isl_s": out.isl_s if out.isl_s is not None else np.zeros(len(table)),
        "isl_path": out.isl_path if out.isl_path is not None else [""] * len(table),
        "tx_start_s": out.tx_start_s,
        "tx_end_s": out.tx_end_s,
        "done_s": done,
    }, copy=False)  # the arrays are this log's own: one copy of each column, not two
    return samples


def _text(column: pd.Series):
    """A trace column as strings (the column itself when it already is)."""
    return column.array if column.dtype == str_dtype() else column.astype(str).to_numpy()


#: The trace columns a run still reads once its world is built (the per-sample log's).
LOG_TRACE_COLUMNS = ["sample_id", "task", "image_bytes"]


def _release_policy_scratch() -> None:
    """Once the policy has decided: forget the sentence embedder g̃'s answers needed (90
    MB; loaded again when next needed), and hand back the memory Arrow keeps for its own
    next allocations (the rest of a run allocates NumPy's), and glibc's likewise."""
    from ..inference.metrics import release_sentence_model

    release_sentence_model()
    release_freed_memory()


def _let_go_of_policy_inputs(world: World, *, keep_trace: bool) -> None:
    """Let go of what only the policy read, once the world is built: the trace columns
    the log does not need (answers, questions, feature vectors, confidences: about 300
    bytes a sample) and the backend that holds them (``keep_trace``: a live trace is
    saved with the run, whole).  They would otherwise sit in memory through the run."""
    if not keep_trace:
        world.samples_table = world.samples_table[LOG_TRACE_COLUMNS]
        world.backend = None
    release_freed_memory()  # (build_world already let go of the embedder)


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
    trace_meta = getattr(world.backend, "meta", None) or {}
    _let_go_of_policy_inputs(world, keep_trace=scenario.workload.trace == "live")
    if progress_factory is not None:
        with progress_factory(world.horizon_s) as advance:
            samples, out = run_world(world, progress=advance)
    else:
        samples, out = run_world(world)
    samples = samples[SAMPLE_COLUMNS]
    transmissions = pd.DataFrame(out.transmissions, columns=["row", "satellite_index",
                                                             "station_index", "start_s",
                                                             "end_s", "bytes"])
    events, dropped_bytes, hops = int(out.events), float(out.dropped_bytes), out.hops
    # The log holds what the rest needs: let go of the run's per-sample inputs and of
    # the output arrays the log does not share (about 130 bytes a sample).
    del out
    world.sample_inputs = None
    world.score = world.onboard_score = world.ground_score = None
    world.plan_stage = world.onboard_at_stage = None
    release_freed_memory()
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
        "events": events,
        "train_samples": world.train_samples,
        "policy_notes": world.plan_notes,
        "dropped_bytes": dropped_bytes,
        **world.model_info,
    }
    summary = summarize(samples, policy=world.policy.describe(),
                        compression=world.compression.describe(),
                        trace_meta=trace_meta,
                        extra=extra)
    tables = {"transmissions": transmissions}
    if world.network.isl is not None:
        names = [o.name for o in world.orbits]
        tables["hops"] = pd.DataFrame(
            [(r, h, names[a], names[b], t0, t1, nb, d) for r, h, a, b, t0, t1, nb, d in hops],
            columns=["row", "hop", "from_satellite", "to_satellite", "start_s", "end_s",
                     "bytes", "light_s"])
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

