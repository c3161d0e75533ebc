"""Run several allocation policies on one scenario and compare them (paper Fig. 9).

A comparison is a sweep with one axis, the policy (:func:`compare_sweep`): its
folder (default ``<output.dir>/compare/<scenario name>``) is a sweep folder —
``sweep.parquet``, ``sweep.yaml`` (``kind: compare``) and ``points/<key>/`` — so
it resumes (a second call computes nothing new) and ``spaceverse plot`` and
``spaceverse report`` work on it.

Every policy sees the same scenario, seed, samples and training split (the
split does not depend on the policy), so differences come from the policies
alone.  As in the paper, the SpaceVerse policies use the scenario's compression
(multi-scale preprocessing) and the baselines send raw images, unless
``same_compression`` is asked for.

The table (:data:`COLUMNS`) has one row per policy with the metrics of
:data:`simulator.results.METRICS` and two Pareto columns: ``pareto``, on the front
of ``accuracy_every_answer`` vs ``service_mean_s`` (the paper's pair: each sample
alone), and ``pareto_under_load``, on the front of ``accuracy_all_samples`` vs
``in_contact_mean_s`` (the run's load); the oracle is on no front.  A policy
without a latency (nothing finished) is on no front of it, and the table still
prints.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from .errors import InputError
from .results import (SERVICE, UNDER_LOAD, pareto_front, pareto_noise, read_sweep_table,
                      sweep_kind)
from .results import verdict as _verdict

logger = logging.getLogger(__name__)

#: Policies compared by default, in the order of the paper's Fig. 9.
DEFAULT_POLICIES = ("satellite-only", "ground-only", "tabi", "ai-rg", "spaceverse", "oracle")

#: Policies that learn from the training pool (SpaceVerse's also from a checkpoint).
LEARNING = ("tabi", "ai-rg", "spaceverse", "spaceverse-g", "spaceverse-g-prime")
#: The training pool a comparison holds apart when the scenario holds none and a learning
#: policy is compared: the paper's 5 % (§4.1.2), for every policy alike.
DEFAULT_TRAIN_FRACTION = 0.05

#: Columns of the comparison table, in order.
COLUMNS = ["policy", "accuracy_every_answer", "service_mean_s", "pareto",
           "accuracy_all_samples", "in_contact_mean_s", "in_contact_p95_s", "pareto_under_load",
           "end_to_end_mean_s", "accuracy_finished_samples", "offload_fraction", "mb_sent",
           "finished", "samples", "training_pool_rows", "status", "warnings", "synthetic", "run"]
#: What ``spaceverse compare`` prints of it.
SHOWN = ["policy", "accuracy_every_answer", "service_mean_s", "pareto", "accuracy_all_samples",
         "in_contact_mean_s", "pareto_under_load", "end_to_end_mean_s", "offload_fraction",
         "mb_sent", "finished"]


def uses_scenario_compression(policy: str) -> bool:
    return policy.startswith("spaceverse")


def compare_sweep(scenario_path, policies: Sequence[str] = DEFAULT_POLICIES, *,
                  overrides: Sequence[str] = (), same_compression: bool = False):
    """The sweep of a comparison: one point per policy (zipped with the compression when
    the baselines send raw images and the scenario compresses).  Every policy's scenario
    is checked first, with the errors ``spaceverse run`` would give."""
    from .config import load_scenario
    from .engine.world import check_scenario
    from .sweep import sweep_from_scenario

    policies = list(policies)
    if not policies:
        raise InputError("no policy to compare; expected one or more policy names")
    twice = sorted({p for p in policies if policies.count(p) > 1})
    if twice:
        raise InputError(f"policy {', '.join(twice)} named twice; expected each policy once")
    base = load_scenario(scenario_path, list(overrides))
    learners = _without_pool(base, policies)
    if learners:
        pool = f"workload.train_fraction={DEFAULT_TRAIN_FRACTION:g}"
        logger.warning("%s holds no training pool: every policy is compared with %s (the "
                       "paper's 5 %%) held apart, so that %s can learn (choose with --set "
                       "workload.train_rows=N)", scenario_path, pool, ", ".join(learners))
        overrides = list(overrides) + [pool]
        base = load_scenario(scenario_path, overrides)
    method, params = base.policy.compression.method, dict(base.policy.compression.params)
    methods, parameters = [], []
    for policy in policies:  # every policy's scenario is checked before anything runs
        extra = [f"policy.allocation={policy}"]
        own = same_compression or uses_scenario_compression(policy)
        if not own:
            extra += ["policy.compression.method=none", "policy.compression.params={}"]
        check_scenario(load_scenario(scenario_path, list(overrides) + extra))
        methods.append(method if own else "none")
        parameters.append(params if own else {})
    axes = {"policy.allocation": policies}
    if any(m != method for m in methods) or any(p != params for p in parameters):
        axes.update({"policy.compression.method": methods,
                     "policy.compression.params": parameters})
    return sweep_from_scenario(
        scenario_path, name=base.name, axes=axes, overrides=overrides, kind="compare",
        description=f"spaceverse compare {scenario_path}: one point per policy"
                    + ("" if same_compression else "; baselines send raw images"))


def _without_pool(base, policies: Sequence[str]) -> list[str]:
    """The learning policies of ``policies`` that would find no training pool in the
    scenario ``base`` (a recorded or live trace without ``train_rows`` or
    ``train_fraction``; synthetic traces generate their own pool)."""
    workload = base.workload
    if workload.trace == "synthetic" or workload.train_rows or workload.train_fraction:
        return []
    checkpoint = bool((base.policy.params or {}).get("checkpoint"))
    return [p for p in policies
            if p in LEARNING and not (checkpoint and p.startswith("spaceverse"))]


def compare_policies(scenario_path, policies: Sequence[str] = DEFAULT_POLICIES, *,
                     overrides: Sequence[str] = (), out_dir: str | Path | None = None,
                     same_compression: bool = False,
                     progress: Callable[[str], None] | None = None, workers: int = 1,
                     resume: bool = True) -> pd.DataFrame:
    """Run ``policies`` on the scenario file; return the comparison table (:data:`COLUMNS`).

    ``out_dir`` is the comparison's folder (default ``<output.dir>/compare/<scenario
    name>``); points already there are read back, not computed again (``resume``).
    ``progress`` is called with each policy's name when its point is done.  The
    table's ``attrs`` hold ``out_dir`` and the keys ``computed``, ``cached`` and
    ``failed`` (:func:`simulator.sweep.run_sweep`).
    """
    from .sweep import run_sweep

    sweep = compare_sweep(scenario_path, policies, overrides=overrides,
                          same_compression=same_compression)
    out = Path(out_dir) if out_dir is not None else sweep.default_out_dir()
    policy_of = {p.key: p.scenario.policy.allocation for p in sweep.points()}
    tick = (lambda done, total, key: progress(policy_of.get(key, key))) if progress else None
    frame = run_sweep(sweep, out_dir=out, workers=workers, progress=tick, resume=resume)
    table = comparison_table(frame, out)
    table.attrs.update(frame.attrs)
    return table


def comparison_table(sweep: pd.DataFrame | str | Path, folder: str | Path | None = None
                     ) -> pd.DataFrame:
    """The comparison table (:data:`COLUMNS`) of a comparison's ``sweep.parquet`` (a frame,
    or the folder holding it)."""
    if not isinstance(sweep, pd.DataFrame):
        folder = Path(sweep)
        sweep = read_sweep_table(folder)
    folder = Path(folder) if folder is not None else Path(".")
    rows = []
    for row in sweep.to_dict("records"):
        run_dir = row.get("run_dir") or ""
        sent = row.get("bytes_sent")
        rows.append({
            **{c: row.get(c) for c in COLUMNS if c in row},
            "policy": row.get("policy"),
            "mb_sent": float(sent) / 1e6 if sent is not None and not pd.isna(sent) else float("nan"),
            "status": row.get("status") if row.get("status") == "ok"
            else f"failed: {row.get('error')}",
            "warnings": row.get("warnings") if isinstance(row.get("warnings"), str) else "",
            "synthetic": bool(row.get("synthetic")) if not pd.isna(row.get("synthetic"))
            else False,
            "run": str(folder / run_dir) if run_dir else "",
        })
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in
                                        ("pareto", "pareto_under_load")])
    for col in table.columns:
        if col not in ("policy", "status", "warnings", "synthetic", "run"):
            table[col] = pd.to_numeric(table[col], errors="coerce")
    table["pareto"] = pareto_front(table, accuracy=SERVICE[0], latency=SERVICE[1])
    table["pareto_under_load"] = pareto_front(table, accuracy=UNDER_LOAD[0],
                                              latency=UNDER_LOAD[1])
    return table[COLUMNS]


def verdicts(table: pd.DataFrame, policy: str = "spaceverse") -> list[str]:
    """Honest sentences on whether ``policy`` is on the Pareto front: of the paper's pair
    (``accuracy_every_answer`` vs ``service_mean_s``), then under the run's load
    (``accuracy_all_samples`` vs ``in_contact_mean_s``), each saying when it is decided
    within the noise (1 % here: a comparison has one seed)."""
    have = [pair for pair in (SERVICE, UNDER_LOAD)
            if pair[0] in table.columns and pair[1] in table.columns]
    if not have:
        raise InputError("comparison table without accuracy and latency columns")
    return [_verdict(table, policy, accuracy=a, latency=lat) for a, lat in have]


def verdict(table: pd.DataFrame, policy: str = "spaceverse") -> str:
    """:func:`verdicts` in one line."""
    return "; ".join(verdicts(table, policy))


def noise_warnings(table: pd.DataFrame) -> list[str]:
    """The Pareto verdicts of the comparison decided within the noise."""
    out = []
    for accuracy, latency in (SERVICE, UNDER_LOAD):
        if accuracy in table.columns and latency in table.columns:
            out += list(pareto_noise(table, accuracy=accuracy, latency=latency).values())
    return out


def is_compare_folder(folder) -> bool:
    """Whether ``folder`` holds a comparison (``spaceverse compare``)."""
    return (Path(folder) / "sweep.parquet").is_file() and sweep_kind(folder) == "compare"
