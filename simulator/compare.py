"""Run several allocation policies on one scenario and compare them (paper Fig. 9).

Every policy sees the same scenario, seed, samples and training split (the
split does not depend on the policy), so differences come from the policies
alone.  As in the paper, the SpaceVerse policies use the scenario's compression
(multi-scale preprocessing) and the baselines send raw images, unless
``same_compression`` is asked for.

The table has one row per policy with accuracy, mean and p95 in-contact
latency, mean end-to-end latency, offload fraction and megabytes sent, and a
``pareto`` column: whether the policy is on the accuracy-latency Pareto front of
the non-oracle policies (higher accuracy, lower mean in-contact latency).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

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
    """
    candidates = table[~table["policy"].isin(exclude)]
    on_front = []
    for _, row in table.iterrows():
        if row["policy"] in exclude:
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
    from .engine.world import run_scenario

    rows = []
    for policy in policies:
        extra = [f"policy.allocation={policy}"]
        if not same_compression and not uses_scenario_compression(policy):
            extra += ["policy.compression.method=none", "policy.compression.params={}"]
        scenario = load_scenario(scenario_path, list(overrides) + extra)
        result = run_scenario(scenario, out_dir=out_dir)
        if progress:
            progress(policy)
        s = result.summary
        rows.append({
            "policy": policy,
            "accuracy": s["accuracy_all_samples"],
            "in_contact_mean_s": s["in_contact_latency_s"]["mean"],
            "in_contact_p95_s": s["in_contact_latency_s"]["p95"],
            "end_to_end_mean_s": s["end_to_end_latency_s"]["mean"],
            "offload_fraction": s["offload_fraction"],
            "mb_sent": s["bytes_sent"] / 1e6,
            "finished": s["status"]["onboard"] + s["status"]["ground"],
            "synthetic": s["synthetic"],
            "run": str(result.folder),
        })
    table = pd.DataFrame(rows)
    table["pareto"] = pareto_front(table)
    return table[COLUMNS]


def verdict(table: pd.DataFrame, policy: str = "spaceverse") -> str:
    """One honest sentence on whether ``policy`` is on the Pareto front."""
    if policy not in set(table["policy"]):
        return f"{policy} was not run"
    row = table[table["policy"] == policy].iloc[0]
    if row["pareto"]:
        return f"{policy} is on the accuracy-latency Pareto front of the non-oracle policies"
    others = table[(table["policy"] != policy) & (table["policy"] != "oracle")]
    beaters = others[(others["accuracy"] >= row["accuracy"])
                     & (others["in_contact_mean_s"] <= row["in_contact_mean_s"])]
    return (f"{policy} is NOT on the Pareto front: dominated by "
            f"{', '.join(beaters['policy'])} on this workload")
