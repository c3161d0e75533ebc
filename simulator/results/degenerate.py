"""Degenerate results: numbers that look like findings but are not.

Each warning is ``{"code": ..., "message": ...}``; a run's warnings are stored in
``summary.json`` (``warnings``) and in the ``warnings`` column of ``sweep.parquet``,
printed by the commands and shown in reports.  Codes:

``same_as_satellite_only``
    a policy that offloads nothing decides exactly as satellite-only;
``same_as_ground_only``
    a policy that offloads every sample at capture decides exactly as ground-only;
``offloads_everything``
    a policy that offloads every sample after some onboard stages: ground-only's
    answers, later;
``few_training_rows``
    a learning policy fitted on fewer than :data:`MIN_TRAINING_ROWS` rows;
``pareto_within_noise``
    a policy is on (or off) the accuracy-latency Pareto front only by a margin
    smaller than the seed-to-seed spread or :data:`NOISE_FLOOR` of the value
    (:func:`simulator.results.pareto.pareto_noise`).

:func:`warnings_for` gives the warnings of a run folder, a sweep folder, a sweep
table or a summary: what figures and reports should say beside the numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Fewer training rows than this make a learning policy's numbers unreliable.
MIN_TRAINING_ROWS = 1000
#: Relative differences below this are noise whatever the seeds say.
NOISE_FLOOR = 0.01
#: The baselines whose decisions other policies may turn out to copy.
SATELLITE_ONLY, GROUND_ONLY = "satellite-only", "ground-only"


def _warning(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def policy_name(summary: dict) -> str:
    policy = summary.get("policy")
    if isinstance(policy, dict):
        return str(policy.get("name") or "policy")
    return str(policy or "policy")


def training_rows(summary: dict) -> int | None:
    """Rows a learning policy was fitted on (None for a policy that learns nothing)."""
    notes = summary.get("policy_notes")
    if not isinstance(notes, dict):
        return None
    training = notes.get("training")
    for value in ((training or {}).get("n_rows") if isinstance(training, dict) else None,
                  notes.get("train_samples")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return None


def run_warnings(summary: dict, samples: pd.DataFrame | None = None) -> list[dict]:
    """The degenerate results of one run (see the module documentation)."""
    out = []
    name = policy_name(summary)
    if samples is not None and len(samples) and "decision" in samples:
        offload = (samples["decision"].astype(str) == "offload").to_numpy()
        at_capture = ((samples["stage"].astype(str) == "capture").to_numpy() if "stage" in samples
                      else np.zeros(len(samples), dtype=bool))
        if not offload.any() and name != SATELLITE_ONLY:
            out.append(_warning("same_as_satellite_only",
                                f"{name} offloaded 0 % of the samples: its decisions are "
                                f"satellite-only's"))
        elif offload.all() and at_capture.all() and name != GROUND_ONLY:
            out.append(_warning("same_as_ground_only",
                                f"{name} offloaded 100 % of the samples at capture: its "
                                f"decisions are ground-only's"))
        elif offload.all() and name != GROUND_ONLY:
            later = (samples.loc[~at_capture, "stage"].astype(str).unique().tolist()
                     if "stage" in samples else [])
            where = ", ".join(sorted(later)) or "after onboard stages"
            out.append(_warning("offloads_everything",
                                f"{name} offloaded 100 % of the samples (at {where}): "
                                f"ground-only's answers, later"))
    rows = training_rows(summary)
    if rows is not None and rows < MIN_TRAINING_ROWS:
        out.append(_warning("few_training_rows",
                            f"{name} learned from {rows:,} training rows, fewer than "
                            f"{MIN_TRAINING_ROWS:,}: its decisions may not generalise"))
    return out


def _messages(cells) -> list[str]:
    out: list[str] = []
    for cell in cells:
        if isinstance(cell, str) and cell.strip():
            out += [part.strip() for part in cell.split("; ") if part.strip()]
    return list(dict.fromkeys(out))


def warnings_for(results) -> list[str]:
    """Every warning of ``results``, once each: a run or sweep folder (path), a sweep table
    (its ``warnings`` column), or a run summary (its ``warnings``; computed for an older
    summary that has none).  For figures and reports to show beside the numbers."""
    if isinstance(results, pd.DataFrame):
        return _messages(results["warnings"]) if "warnings" in results.columns else []
    if isinstance(results, dict):
        stored = results.get("warnings")
        if stored is None:
            stored = run_warnings(results)
        return list(dict.fromkeys(w.get("message", str(w)) if isinstance(w, dict) else str(w)
                                  for w in stored or []))
    folder = Path(results)
    from .runs import is_run_folder, read_run
    from .sweeps import is_sweep_folder, read_sweep_table

    if is_sweep_folder(folder):
        return warnings_for(read_sweep_table(folder))
    if is_run_folder(folder):
        summary, samples = read_run(folder, columns=["decision", "stage"])
        stored = summary.get("warnings")
        if stored is None:
            stored = run_warnings(summary, samples)
        return warnings_for({"warnings": stored})
    return []
