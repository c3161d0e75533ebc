"""The policies of a scenario, built from its ``policy`` block, and what they decide.

:func:`policies_from_scenario` resolves the allocation policy, its decision
points (``policy.params.stages``, ``stage_tokens``) and the compression;
:func:`cost_estimates` gives the per-sample costs a policy may weigh
(:class:`~simulator.policies.allocation.PolicyContext`); :func:`decide` plans
every sample (where it is answered, at which stage) and compresses what is
sent.  Errors read ``FILE:LINE: policy...: message``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..scenario_blocks import field
from .allocation import PolicyContext, get_policy
from .compression import get_compression


@dataclass
class Policies:
    """The scenario's allocation policy, its decision points and its compression."""

    allocation: object
    compression: object
    #: decision points (``policy.params.stages``) and tokens per generation stage
    points: int
    stage_tokens: int


@dataclass
class Decisions:
    """What the policies decided for each sample, and what an offloaded one sends."""

    plan: object
    offload: np.ndarray
    bytes_sent: np.ndarray
    compress_s: np.ndarray
    #: the score of the answer each sample gets (ground score where offloaded)
    score: np.ndarray
    #: whether the offloaded answers' scores are modelled (a compression's accuracy model)
    score_modelled: bool
    #: the score each sample's answer would have if offloaded (decisions taken during the
    #: run pick between this and the onboard score afterwards)
    ground_score: np.ndarray | None = None


def policies_from_scenario(scenario) -> Policies:
    """The scenario's :class:`Policies` (nothing trained yet)."""
    params = dict(scenario.policy.params)
    with field(scenario, "policy.params"):
        layout = {}
        for key, default in (("stages", 2), ("stage_tokens", 16)):
            value = params.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
                raise InputError(f"policy.params.{key}: {value!r}; expected a whole number "
                                 f"from 1 to 1000")
            layout[key] = int(value)
        points, stage_tokens = layout["stages"], layout["stage_tokens"]
    with field(scenario, "policy.allocation"):
        policy = get_policy(scenario.policy.allocation, params)
    with field(scenario, "policy.compression.method"):
        comp = get_compression(scenario.policy.compression.method,
                               dict(scenario.policy.compression.params))
    return Policies(policy, comp, points, stage_tokens)


def decide(scenario, policies: Policies, table: pd.DataFrame, train: pd.DataFrame,
           estimates: dict, trace_meta: dict, *, policy_rng: np.random.Generator,
           compression_rng: np.random.Generator) -> Decisions:
    """Plan every sample of ``table`` and compress what the plan offloads.

    Policies that send the full image (``sends_full_image``, e.g. Tabi) bypass
    the compression; a plan's ``offload_score`` replaces the ground scores.
    """
    ctx = PolicyContext(table, policies.points, policies.stage_tokens, policy_rng, train=train,
                        estimates=estimates, trace_meta=trace_meta, cache_dir=policy_cache())
    # The compression's calibration on the bundled images reads nothing of the run (its
    # own seed, its own images): it runs beside the allocation policy (which may train
    # g̃), mostly in image encoders that release the GIL.  apply() then finds it ready.
    # An interrupted plan does not wait for it.
    calibrating = start_calibration(policies.compression)
    with field(scenario, "policy.allocation"):
        plan = policies.allocation.plan(ctx)   # (an error here leaves the daemon thread)
    if calibrating is not None:
        calibrating.join()
    with field(scenario, "policy.compression"):
        compressed = policies.compression.apply(table, compression_rng)
    n = len(table)
    offload = plan.offload.astype(bool)
    bypass = bool(getattr(policies.allocation, "sends_full_image", False))
    bytes_sent = table["image_bytes"].to_numpy(np.int64) if bypass else compressed.bytes_sent
    compress_s = np.zeros(n) if bypass else compressed.compress_s
    ground_score = table["ground_score"].to_numpy(float) if bypass else compressed.ground_score
    if plan.offload_score is not None:
        ground_score = np.asarray(plan.offload_score, dtype=float)
    score = np.where(offload, ground_score, table["onboard_score"].to_numpy(float))
    return Decisions(plan, offload, bytes_sent, compress_s, score,
                     bool(compressed.modelled) and not bypass, ground_score=ground_score)


def start_calibration(compression) -> threading.Thread | None:
    """Compute the compression's calibration on the bundled images on a thread, if it has
    one that is not in memory yet; returns the thread (to ``join``) or None.

    The calibration reads nothing of the run (its own seed, its own images), so it can
    run while the allocation policy plans (and perhaps trains g̃); it spends most of its
    time in image encoders that release the GIL.  Any error is left for ``apply``, which
    computes the calibration again and reports it in context.
    """
    calibration = getattr(compression, "calibration", None)
    if calibration is None or getattr(compression, "calibrated", lambda: True)():
        return None

    def run():
        try:
            calibration()
        except Exception:  # noqa: BLE001 - apply() raises it again, with its field
            pass

    thread = threading.Thread(target=run, name="calibration", daemon=True)
    thread.start()
    return thread


def cost_estimates(table: pd.DataFrame, stage_seconds: Callable, points: int, windows,
                   horizon_s: float, transport, propagation) -> dict:
    """Per-sample cost estimates a policy may weigh (see PolicyContext).

    ``stage_seconds(stage)`` gives the onboard and ground seconds of every sample
    for a stage (:func:`simulator.compute.build.stage_timer`).  ``tx_s`` is each
    sample's raw image sent alone over the run's transport at the start of its
    satellite's first contact (station 0, satellite 0 when there are no windows)
    -- the service-latency view of the downlink.
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


def policy_cache() -> Path | None:
    """The folder for trained policy networks, or None (after one warning) when the
    cache folder cannot be used: policies then train their networks again."""
    from ..paths import cache_subdir

    return cache_subdir("policies")
