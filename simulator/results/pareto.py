"""The accuracy-latency Pareto front: one definition, and whether a verdict is noise.

A row is on the front when no other contender (the oracle is never one) has
higher-or-equal accuracy and lower-or-equal latency with at least one of the two
strictly better; a row without a finite accuracy or latency is on no front.
The front is drawn by Fig. 9, printed by ``compare`` and stored per point in
``sweep.parquet`` (``pareto``), always for a named pair of metrics:

* :data:`SERVICE` — ``accuracy_every_answer`` vs ``service_mean_s``: the paper's pair
  (each sample alone);
* :data:`UNDER_LOAD` — ``accuracy_all_samples`` vs ``in_contact_mean_s``: the run's load.

:func:`pareto_noise` says when a policy is on (or off) the front only by less
than the seed-to-seed spread or :data:`~simulator.results.degenerate.NOISE_FLOOR`
(1 %) of the values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .degenerate import NOISE_FLOOR

#: The paper's pair: (accuracy, latency).
SERVICE = ("accuracy_every_answer", "service_mean_s")
#: Under the run's load.
UNDER_LOAD = ("accuracy_all_samples", "in_contact_mean_s")
#: Never a contender: it knows every answer in advance.
EXCLUDED = ("oracle",)


def pareto_mask(latency, accuracy) -> np.ndarray:
    """True where no other point has lower-or-equal latency and higher-or-equal accuracy
    with at least one strictly better (NaN points are never on the front).

    >>> pareto_mask([1.0, 3.0, 4.0], [0.5, 0.7, 0.6]).tolist()
    [True, True, False]
    """
    lat = np.asarray(latency, float)
    acc = np.asarray(accuracy, float)
    ok = np.isfinite(lat) & np.isfinite(acc)
    mask = np.zeros(len(lat), dtype=bool)
    for i in np.flatnonzero(ok):
        better = ok & (lat <= lat[i]) & (acc >= acc[i]) & ((lat < lat[i]) | (acc > acc[i]))
        mask[i] = not better.any()
    return mask


def pareto_front(table: pd.DataFrame, *, accuracy: str = SERVICE[0], latency: str = SERVICE[1],
                 exclude: Sequence[str] = EXCLUDED, by: str = "policy") -> pd.Series:
    """True for the rows of ``table`` on the accuracy-latency front (aligned to its index).

    Rows whose ``by`` value is in ``exclude`` are neither on the front nor beat anyone.

    >>> t = pd.DataFrame({"policy": ["a", "b", "c", "oracle"],
    ...                   "accuracy_every_answer": [0.5, 0.7, 0.6, 0.9],
    ...                   "service_mean_s": [1.0, 3.0, 4.0, 0.5]})
    >>> pareto_front(t).tolist()
    [True, True, False, False]
    """
    if not len(table):
        return pd.Series([], index=table.index, dtype=bool)
    acc = pd.to_numeric(table[accuracy], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(table[latency], errors="coerce").to_numpy(float)
    out = np.zeros(len(table), dtype=bool)
    keep = (~table[by].isin(exclude)).to_numpy() if by in table.columns else np.ones(len(table), bool)
    out[keep] = pareto_mask(lat[keep], acc[keep])
    return pd.Series(out, index=table.index)


def _tolerance(a: float, b: float, sa: float, sb: float) -> float:
    spread = math.sqrt((sa if math.isfinite(sa) else 0.0) ** 2
                       + (sb if math.isfinite(sb) else 0.0) ** 2)
    return max(NOISE_FLOOR * max(abs(a), abs(b)), spread)


def pareto_noise(table: pd.DataFrame, *, accuracy: str = SERVICE[0], latency: str = SERVICE[1],
                 exclude: Sequence[str] = EXCLUDED, by: str = "policy",
                 label: str | None = None) -> dict:
    """Index -> one sentence, for the rows whose place on (or off) the front is decided
    within the noise.

    Noise is the larger of the seed-to-seed spread (``<metric>_std`` columns, combined
    over the two rows compared; 0 without them) and 1 % of the values.  A row on the
    front is *within the noise* when another contender is as good on both metrics
    within the noise; a row off the front when every row that dominates it does so by
    less than the noise on both metrics.
    """
    label = label or by
    acc = pd.to_numeric(table[accuracy], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(table[latency], errors="coerce").to_numpy(float)
    zeros = np.zeros(len(table))
    sacc = (pd.to_numeric(table[f"{accuracy}_std"], errors="coerce").to_numpy(float)
            if f"{accuracy}_std" in table.columns else zeros)
    slat = (pd.to_numeric(table[f"{latency}_std"], errors="coerce").to_numpy(float)
            if f"{latency}_std" in table.columns else zeros)
    names = table[label].astype(str).tolist() if label in table.columns else \
        [str(i) for i in table.index]
    excluded = table[by].isin(exclude).to_numpy() if by in table.columns else \
        np.zeros(len(table), bool)
    ok = np.isfinite(acc) & np.isfinite(lat) & ~excluded
    front = np.zeros(len(table), bool)
    front[ok] = pareto_mask(lat[ok], acc[ok])
    out = {}
    pair = f"{accuracy} vs {latency}"
    for i in np.flatnonzero(ok):
        close, dominators, all_close = [], [], True
        for j in np.flatnonzero(ok):
            if j == i:
                continue
            ta = _tolerance(acc[i], acc[j], sacc[i], sacc[j])
            tl = _tolerance(lat[i], lat[j], slat[i], slat[j])
            dominates = (acc[j] >= acc[i] and lat[j] <= lat[i]
                         and (acc[j] > acc[i] or lat[j] < lat[i]))
            if dominates:
                dominators.append(names[j])
                all_close &= (acc[j] - acc[i] < ta) and (lat[i] - lat[j] < tl)
            elif acc[j] >= acc[i] - ta and lat[j] <= lat[i] + tl:
                close.append(names[j])
        if front[i] and close:
            out[table.index[i]] = (f"{names[i]} is on the Pareto front of {pair} only within "
                                   f"the noise: {', '.join(close)} as good within the "
                                   f"seed-to-seed spread or 1 %")
        elif not front[i] and dominators and all_close:
            out[table.index[i]] = (f"{names[i]} is off the Pareto front of {pair} only within "
                                   f"the noise: {', '.join(dominators)} better by less than "
                                   f"the seed-to-seed spread or 1 %")
    return out


def verdict(table: pd.DataFrame, policy: str = "spaceverse", *, accuracy: str = SERVICE[0],
            latency: str = SERVICE[1], exclude: Sequence[str] = EXCLUDED) -> str:
    """One honest sentence on whether ``policy`` is on the front of ``accuracy`` vs
    ``latency`` (rows: one per policy, with ``<metric>_std`` columns where known)."""
    pair = f"{accuracy} vs {latency}"
    if "policy" not in table.columns or policy not in set(table["policy"]):
        return f"{policy} was not run"
    i = table.index[table["policy"] == policy][0]
    row = table.loc[i]
    a = pd.to_numeric(pd.Series([row[accuracy]]), errors="coerce").iloc[0]
    lat = pd.to_numeric(pd.Series([row[latency]]), errors="coerce").iloc[0]
    if pd.isna(a) or pd.isna(lat):
        return f"{policy} has no {accuracy if pd.isna(a) else latency}: no verdict on {pair}"
    front = pareto_front(table, accuracy=accuracy, latency=latency, exclude=exclude)
    noise = pareto_noise(table, accuracy=accuracy, latency=latency, exclude=exclude)
    if front[i]:
        text = f"{policy} is on the Pareto front of {pair} (non-oracle policies)"
    else:
        others = table[(table["policy"] != policy) & ~table["policy"].isin(exclude)]
        oa = pd.to_numeric(others[accuracy], errors="coerce")
        ol = pd.to_numeric(others[latency], errors="coerce")
        beaters = others[(oa >= a) & (ol <= lat) & ((oa > a) | (ol < lat))]
        text = (f"{policy} is NOT on the Pareto front of {pair}: dominated by "
                f"{', '.join(beaters['policy'])}")
    if i in noise:
        text += " -- within the noise (seed-to-seed spread or 1 %)"
    return text


def _group_text(keys: dict) -> str:
    shown = [f"{k}={v}" for k, v in keys.items() if v not in ("", "nan", "None", "<NA>")]
    return f" [{', '.join(shown)}]" if shown else ""


def annotate_sweep(frame: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Set ``pareto`` (the point's policy setting is on the :data:`SERVICE` front of its
    group) and add the :func:`pareto_noise` sentences to ``warnings``, in place.

    A group is the points that share every swept axis except the seed and the policy's own
    (``policy.*``) and the preset; its contenders are the policies at each setting of their
    ``policy.*`` axes, averaged over seeds (the spread over seeds is the noise).
    """
    frame["pareto"] = pd.array([pd.NA] * len(frame), dtype="boolean")
    accuracy, latency = SERVICE
    if not len(frame) or accuracy not in frame.columns or latency not in frame.columns:
        return frame
    acc = pd.to_numeric(frame[accuracy], errors="coerce")
    lat = pd.to_numeric(frame[latency], errors="coerce")
    ok = (frame["status"] == "ok") & acc.notna() & lat.notna()
    if not ok.any():
        return frame
    own = [a for a in axes if a.startswith("policy") and a != "policy.allocation"]
    # a policy's own axes name its settings where they vary within the policy (a compression
    # zipped with the policy, as in a comparison, does not)
    own = [a for a in own if a in frame.columns
           and frame[ok].groupby("policy")[a].agg(lambda v: v.astype(str).nunique()).max() > 1]
    groups = [a for a in axes if a != "seed" and not a.startswith("policy")]
    rows = frame[ok].copy()
    keys = groups + (["preset"] if "preset" in rows.columns else [])
    rows["_group"] = (["\x1f".join(str(v) for v in t) for t in zip(*[rows[c] for c in keys])]
                      if keys else "")
    rows["_setting"] = [f"{p}" + (" (" + ", ".join(f"{a}={rows[a].iloc[k]}" for a in own) + ")"
                                  if own else "") for k, p in enumerate(rows["policy"])]
    rows[accuracy], rows[latency] = acc[ok], lat[ok]
    warnings = {i: [] for i in rows.index}
    several = rows["_group"].nunique() > 1
    for group, part in rows.groupby("_group", sort=False):
        stats = part.groupby("_setting", sort=False).agg(
            policy=("policy", "first"), **{accuracy: (accuracy, "mean"), latency: (latency, "mean"),
                                           f"{accuracy}_std": (accuracy, "std"),
                                           f"{latency}_std": (latency, "std")}).reset_index()
        stats = stats.fillna({f"{accuracy}_std": 0.0, f"{latency}_std": 0.0})
        on = pareto_front(stats, accuracy=accuracy, latency=latency)
        noise = pareto_noise(stats, accuracy=accuracy, latency=latency, label="_setting")
        context = _group_text(dict(zip(keys, str(group).split("\x1f")))) if several else ""
        for k, setting in enumerate(stats["_setting"]):
            members = part.index[part["_setting"] == setting]
            frame.loc[members, "pareto"] = bool(on.iloc[k])
            if k in noise:
                for i in members:
                    warnings[i].append(noise[k] + context)
    for i, extra in warnings.items():
        if extra:
            before = frame.at[i, "warnings"] if "warnings" in frame.columns else ""
            before = before if isinstance(before, str) else ""
            frame.at[i, "warnings"] = "; ".join([p for p in before.split("; ") if p] + extra)
    return frame
