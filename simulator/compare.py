"""Run several allocation policies on one scenario and compare them (paper Fig. 9).

Every policy sees the same scenario, seed, samples and training split (the
split does not depend on the policy), so differences come from the policies
alone.  As in the paper, the SpaceVerse policies use the scenario's compression
(multi-scale preprocessing) and the baselines send raw images, unless
``same_compression`` is asked for.

The table has one row per policy with accuracy, mean and p95 in-contact
latency, mean end-to-end latency, offload fraction and megabytes sent, and a
``pareto`` column: whether the policy is on the accuracy-latency Pareto front of
the non-oracle policies (higher accuracy, lower mean in-contact latency).  A
policy that finished no sample has no latency (NaN): it is on no front, and
the table still prints.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from .errors import InputError

logger = logging.getLogger(__name__)

#: Policies compared by default, in the order of the paper's Fig. 9.
DEFAULT_POLICIES = ("satellite-only", "ground-only", "tabi", "ai-rg", "spaceverse", "oracle")

COLUMNS = ["policy", "accuracy", "in_contact_mean_s", "in_contact_p95_s", "end_to_end_mean_s",
           "offload_fraction", "mb_sent", "finished", "pareto", "synthetic", "run"]


def uses_scenario_compression(policy: str) -> bool:
    return policy.startswith("spaceverse")


def pareto_front(table: pd.DataFrame, *, exclude: Sequence[str] = ("oracle",)) -> pd.Series:
    """True for rows no other (non-excluded) row beats on both accuracy and latency.

    >>> t = pd.DataFrame({"policy": ["a", "b", "c", "oracle"], "accuracy": [0.5, 0.7, 0.6, 0.9],
    ...                   "in_contact_mean_s": [1.0, 3.0, 4.0, 0.5]})
    >>> pareto_front(t).tolist()
    [True, True, False, False]

    A row without a finite accuracy or latency (no sample finished) is on no front
    and beats no other row.
    """
    accuracy = pd.to_numeric(table["accuracy"], errors="coerce")
    latency = pd.to_numeric(table["in_contact_mean_s"], errors="coerce")
    measured = accuracy.notna() & latency.notna()
    candidates = table[~table["policy"].isin(exclude) & measured]
    on_front = []
    for i, row in table.iterrows():
        if row["policy"] in exclude or not measured[i]:
            on_front.append(False)
            continue
        others = candidates[candidates["policy"] != row["policy"]]
        dominated = ((others["accuracy"] >= row["accuracy"])
                     & (others["in_contact_mean_s"] <= row["in_contact_mean_s"])
                     & ((others["accuracy"] > row["accuracy"])
                        | (others["in_contact_mean_s"] < row["in_contact_mean_s"]))).any()
        on_front.append(not dominated)
    return pd.Series(on_front, index=table.index)


def compare_policies(scenario_path, policies: Sequence[str] = DEFAULT_POLICIES, *,
                     overrides: Sequence[str] = (), out_dir: str | Path | None = None,
                     same_compression: bool = False,
                     progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run ``policies`` on the scenario file; return the comparison table.

    ``progress`` is called with each policy's name when its run has finished.
    """
    from .config import load_scenario
    from .engine.world import check_scenario, run_scenario

    policies = list(policies)
    if not policies:
        raise InputError("no policy to compare; expected one or more policy names")
    twice = sorted({p for p in policies if policies.count(p) > 1})
    if twice:
        raise InputError(f"policy {', '.join(twice)} named twice; expected each policy once")
    scenarios = []  # every policy's scenario is checked before anything runs
    for policy in policies:
        extra = [f"policy.allocation={policy}"]
        if not same_compression and not uses_scenario_compression(policy):
            extra += ["policy.compression.method=none", "policy.compression.params={}"]
        scenario = load_scenario(scenario_path, list(overrides) + extra)
        check_scenario(scenario)  # an unknown policy fails here, before any run
        scenarios.append(scenario)
    rows = []
    for policy, scenario in zip(policies, scenarios):
        result = run_scenario(scenario, out_dir=out_dir)
        if progress:
            progress(policy)
        s = result.summary
        in_contact = s.get("in_contact_latency_s") or {}
        end_to_end = s.get("end_to_end_latency_s") or {}
        status = s.get("status") or {}
        rows.append({
            "policy": policy,
            "accuracy": _number(s.get("accuracy_all_samples")),
            "in_contact_mean_s": _number(in_contact.get("mean")),
            "in_contact_p95_s": _number(in_contact.get("p95")),
            "end_to_end_mean_s": _number(end_to_end.get("mean")),
            "offload_fraction": _number(s.get("offload_fraction")),
            "mb_sent": _number(s.get("bytes_sent")) / 1e6,
            "finished": int(status.get("onboard", 0)) + int(status.get("ground", 0)),
            "synthetic": bool(s.get("synthetic", False)),
            "run": str(result.folder),
        })
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "pareto"])
    table["pareto"] = pareto_front(table) if len(table) else pd.Series(dtype=bool)
    return table[COLUMNS]


def _number(value) -> float:
    """A summary value as a float; None (nothing finished to measure) becomes NaN."""
    return float("nan") if value is None else float(value)


def verdict(table: pd.DataFrame, policy: str = "spaceverse") -> str:
    """One honest sentence on whether ``policy`` is on the Pareto front."""
    if policy not in set(table["policy"]):
        return f"{policy} was not run"
    row = table[table["policy"] == policy].iloc[0]
    if pd.isna(row["accuracy"]) or pd.isna(row["in_contact_mean_s"]):
        return f"{policy} finished no sample in contact: no accuracy-latency verdict"
    if row["pareto"]:
        return f"{policy} is on the accuracy-latency Pareto front of the non-oracle policies"
    others = table[(table["policy"] != policy) & (table["policy"] != "oracle")]
    beaters = others[(others["accuracy"] >= row["accuracy"])
                     & (others["in_contact_mean_s"] <= row["in_contact_mean_s"])]
    return (f"{policy} is NOT on the Pareto front: dominated by "
            f"{', '.join(beaters['policy'])} on this workload")
