"""The compute of a scenario, built from its ``compute`` block, and the seconds it takes.

:func:`computes_from_scenario` loads the satellite's and the ground's
:class:`~simulator.compute.model.ComputeModel` (device, model, overrides,
``max_pixels``); :func:`stage_timer` turns them into the per-sample seconds of a
plan -- from the roofline (``compute.timing: model``) or from the wall times a
real backend recorded in the trace (``measured``).  Onboard work up to decision
point ``k`` (:func:`simulator.policies.allocation.stage_name`) is nothing for
``k = 0``, the vision encoding for ``k = 1``, and for ``k > 1`` the prefill
plus the decoding of the first ``k - 1`` generation stages of ``stage_tokens``
tokens (all of the answer past the last point).  Errors read
``FILE:LINE: compute...: message``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..scenario_blocks import field
from .model import load_compute

#: Columns a trace recorded by a real backend holds, which ``timing: measured`` reads.
MEASURED_COLUMNS = ("onboard_encode_s", "onboard_prefill_s", "onboard_stage_seconds",
                    "ground_encode_s", "ground_prefill_s", "ground_decode_s")

#: ``seconds(stage) -> (onboard seconds, ground seconds)``, one entry per sample.
StageTimer = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]


def computes_from_scenario(scenario) -> tuple[object, object]:
    """``(satellite, ground)`` compute models of the scenario's ``compute`` block."""
    computes = {}
    for side in ("satellite", "ground"):
        cfg = getattr(scenario.compute, side)
        with field(scenario, f"compute.{side}"):
            computes[side] = load_compute(cfg.device, cfg.model, cfg.overrides,
                                          max_pixels=scenario.compute.max_pixels)
    return computes["satellite"], computes["ground"]


def calibrated(compute, calibration: dict | None):
    """``compute`` slowed by a preset's ``ground_time_scale`` (itself without one)."""
    if calibration is None:
        return compute
    return dataclasses.replace(compute, time_scale=compute.time_scale
                               * calibration["ground_time_scale"])


def check_fits(scenario, computes, table: pd.DataFrame) -> None:
    """Raise ``FILE:LINE: compute: ...`` when a model does not fit its device for ``table``."""
    with field(scenario, "compute"):
        for cm in computes:
            if len(table) and hasattr(cm, "check_fits"):
                cm.check_fits(table["image_width_px"].to_numpy(),
                              table["image_height_px"].to_numpy())


def stage_timer(scenario, table: pd.DataFrame, backend, sat_compute, ground_compute,
                points: int, stage_tokens: int) -> StageTimer:
    """The per-sample ``(onboard, ground)`` seconds of ``table`` for a plan's stages."""

    def stage_seconds(stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if scenario.compute.timing == "measured":
            with field(scenario, "compute.timing"):
                return measured_seconds(table, backend, stage, points, stage_tokens)
        stage = np.asarray(stage)
        if len(table) <= ROOFLINE_ROWS:
            return (onboard_seconds(table, sat_compute, stage, points, stage_tokens),
                    ground_seconds(table, ground_compute))
        # Each sample's seconds depend on its own row only: computed in slices of rows, so
        # the rooflines' temporaries (a dozen arrays) never exist for every sample at once.
        onboard, ground = np.empty(len(table)), np.empty(len(table))
        for lo in range(0, len(table), ROOFLINE_ROWS):
            rows = table.iloc[lo:lo + ROOFLINE_ROWS]
            onboard[lo:lo + len(rows)] = onboard_seconds(rows, sat_compute,
                                                         stage[lo:lo + len(rows)], points,
                                                         stage_tokens)
            ground[lo:lo + len(rows)] = ground_seconds(rows, ground_compute)
        return onboard, ground

    return stage_seconds


#: Rows per slice of the per-sample roofline arithmetic.
ROOFLINE_ROWS = 1 << 17


def onboard_seconds(table: pd.DataFrame, compute, stage: np.ndarray, points: int,
                    stage_tokens: int) -> np.ndarray:
    """Onboard seconds of each sample up to its decision point ``stage`` (roofline)."""
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


def ground_seconds(table: pd.DataFrame, compute) -> np.ndarray:
    """Ground seconds of each sample's full answer (roofline)."""
    w = table["image_width_px"].to_numpy()
    h = table["image_height_px"].to_numpy()
    vt = compute.visual_tokens(w, h)
    return np.asarray(compute.encode_s(w, h)
                      + compute.prefill_s(vt, table["prompt_tokens"].to_numpy())
                      + compute.decode_s(table["ground_output_tokens"].to_numpy()), dtype=float)


def measured_seconds(table: pd.DataFrame, backend, stage: np.ndarray, points: int,
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


def describe_compute(cm) -> dict:
    """What a compute model is, for summary.json."""
    describe = getattr(cm, "describe", None)
    if describe is not None:
        return describe()
    return {"device": cm.device.name, "model": cm.model.name}
