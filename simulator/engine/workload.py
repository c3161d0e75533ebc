"""The workload of a scenario: which samples, which satellite captures each, and when.

:func:`build_workload` builds the ``workload`` block's samples: the trace
(generated, recorded live by :func:`record_live`, or read from a file), the
training pool held apart from it, the samples drawn from the rest and what
each image weighs on the downlink (``workload.image_bytes``);
:func:`arrivals` says which satellite captures each sample, and when.

Two ways to say how much work arrives:

* a **rate** (``workload.rate_per_satellite_h``): every satellite captures that
  many samples per hour.  The number of samples follows from the run's length,
  ``n = rate x satellites x duration``, and results *under load* depend on the
  rate, not on how long the run is.  Arrivals are ``periodic`` (each satellite
  every ``1 / rate`` hours, satellites staggered evenly) or ``poisson`` (a seeded
  Poisson process of the total rate).  Capture times are prefix-stable: a
  longer run at the same rate starts with exactly the captures of a shorter one.
* a **count** (``workload.samples``) spread over the duration: ``uniform``
  (evenly spaced), ``poisson`` (seeded exponential gaps of the mean spacing) or
  ``at_start`` (everything at time 0).  The load then grows with the count.

>>> import numpy as np
>>> sat, t = spread_samples(6, 3, 3600.0, assignment="round_robin", arrival="uniform",
...                         rng=np.random.default_rng(0))
>>> sat.tolist()
[0, 1, 2, 0, 1, 2]
>>> t.tolist()
[0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0]
>>> sat, t = spread_samples(6, 3, 3600.0, assignment="round_robin", arrival="periodic",
...                         rng=np.random.default_rng(0), rate_per_satellite_h=2.0)
>>> t.tolist()            # each satellite every 1800 s, the three staggered by 600 s
[0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0]
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..scenario_blocks import field, resolve_path

logger = logging.getLogger(__name__)


def sample_count(*, samples: int | None, rate_per_satellite_h: float | None,
                 satellites: int, duration_h: float) -> int | None:
    """Samples to simulate: ``samples``, or ``rate x satellites x duration`` (None = all rows).

    >>> sample_count(samples=None, rate_per_satellite_h=4, satellites=10, duration_h=24)
    960
    """
    if rate_per_satellite_h is None:
        return samples
    n = int(math.floor(rate_per_satellite_h * satellites * duration_h + 1e-9))
    if n < 1:
        raise InputError(f"workload.rate_per_satellite_h {rate_per_satellite_h:g} x "
                         f"{satellites} satellites x {duration_h:g} h gives no sample; "
                         f"expected at least one")
    return n


def spread_samples(n: int, n_satellites: int, duration_s: float, *, assignment: str,
                   arrival: str, rng: np.random.Generator,
                   rate_per_satellite_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Satellite index and capture time (seconds) for each of ``n`` samples.

    * ``assignment``: ``round_robin`` deals samples to satellites in turn (the
      paper "evenly distributes the test data"); ``random`` draws a satellite per
      sample.
    * ``arrival``: see the module docstring.  With ``rate_per_satellite_h`` the
      mean spacing of captures (all satellites together) is ``3600 / (rate x
      satellites)`` seconds; without it, ``duration_s / n``.
    """
    if n_satellites < 1:
        raise InputError("workload: no satellites to assign samples to")
    if assignment == "round_robin":
        sat = np.arange(n) % n_satellites
    elif assignment == "random":
        sat = rng.integers(0, n_satellites, size=n)
    else:
        raise InputError(f"workload.assignment: expected round_robin or random, got {assignment!r}")
    if rate_per_satellite_h is not None:
        spacing = 3600.0 / (float(rate_per_satellite_h) * n_satellites)
    else:
        spacing = duration_s / n if n else 0.0
    if arrival in ("uniform", "periodic"):
        if arrival == "periodic" and rate_per_satellite_h is None:
            raise InputError("workload.arrival periodic needs workload.rate_per_satellite_h")
        t = np.arange(n) * spacing
    elif arrival == "poisson":
        gaps = rng.exponential(spacing, size=n)
        t = np.concatenate([[0.0], np.cumsum(gaps[:-1])]) if n else np.zeros(0)
    elif arrival == "at_start":
        t = np.zeros(n)
    else:
        raise InputError(f"workload.arrival: expected periodic, uniform, poisson or at_start, "
                         f"got {arrival!r}")
    return sat.astype(np.int64), t.astype(float)


@dataclass
class Workload:
    """The samples of a run: the cached backend, its sample table and the training pool."""

    backend: object
    samples: pd.DataFrame
    train: pd.DataFrame


def build_workload(scenario, rng: np.random.Generator, stage_tokens: int,
                   n_satellites: int) -> Workload:
    """The scenario's :class:`Workload`; errors read ``FILE:LINE: workload...: message``.

    The training pool is held apart first (:func:`simulator.inference.split.split_trace`),
    then the simulated samples are drawn from the other rows: in order for a
    synthetic trace (its rows are independent draws, generated prefix-stably), by
    seeded permutation cycles otherwise (:func:`~simulator.inference.split.draw_rows`).
    Either way a run of ``k`` samples simulates the first ``k`` samples of a longer
    run.  Image bytes follow ``workload.image_bytes``.
    """
    with field(scenario, "workload"):
        return _build_workload(scenario, rng, stage_tokens, n_satellites)


def _build_workload(scenario, rng, stage_tokens: int, n_satellites: int) -> Workload:
    from ..inference.cached import CachedBackend
    from ..inference.image_bytes import image_bytes
    from ..inference.split import draw_rows, split_trace
    from ..inference.traces import Trace

    wl = scenario.workload
    n = sample_count(samples=wl.samples, rate_per_satellite_h=wl.rate_per_satellite_h,
                     satellites=n_satellites, duration_h=scenario.time.duration_h)
    seed = int(rng.integers(0, 2**31 - 1))
    trace = load_trace(scenario, stage_tokens, n)
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
    return Workload(backend, table, train)


def load_trace(scenario, stage_tokens: int, n_needed: int | None):
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
    return read_trace(resolve_path(wl.trace, scenario))


def check_trace(scenario) -> str | None:
    """Read a trace file the scenario names (not a generated or live one): ``NAME (N rows)``."""
    from ..inference.traces import read_trace

    wl = scenario.workload
    if wl.trace in ("synthetic", "live"):
        return None
    with field(scenario, "workload.trace"):
        trace = read_trace(resolve_path(wl.trace, scenario))
    return f"{trace.name} ({len(trace)} rows)"


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


def arrivals(scenario, n: int, n_satellites: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Satellite index and capture time of each of ``n`` samples (:func:`spread_samples`)."""
    wl = scenario.workload
    return spread_samples(n, n_satellites, scenario.time.duration_h * 3600.0,
                          assignment=wl.assignment, arrival=wl.arrival, rng=rng,
                          rate_per_satellite_h=wl.rate_per_satellite_h)


def describe_load(scenario, n: int, n_satellites: int) -> dict:
    """``load`` in summary.json: the rate, the arrival process and what they gave."""
    wl = scenario.workload
    return {"rate_per_satellite_h": wl.rate_per_satellite_h, "arrival": wl.arrival,
            "samples": n, "satellites": n_satellites,
            "duration_h": scenario.time.duration_h}


def describe_image_bytes(scenario) -> dict:
    """``image_bytes`` in summary.json: how a downlinked image's size is modelled."""
    from ..inference.image_bytes import describe

    wl = scenario.workload
    return describe(wl.image_bytes, bands=wl.bands, bytes_per_sample=wl.bytes_per_sample)
