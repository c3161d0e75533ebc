"""Figure data from saved results: sweep tables (``sweep.parquet``) and run folders.

Nothing here draws.  The central helper is :func:`_prepare`: the finished rows
of a sweep with, for every row, its ``workload`` and ``preset`` (panels), its
``policy``, and the swept settings that still vary among rows of one panel and
policy, split in two:

* ``knob`` — the policy's own parameters (``policy.params``, a JSON mapping
  column or ``policy.params.<name>`` columns) that the policy actually reads:
  the parameter a curve is drawn over (Tabi's threshold, SpaceVerse's tau);
* ``series`` — every other swept axis (altitude, link rate, ...): one curve
  (or bar) per value.

Rows then differ only by seed within (workload, preset, policy, series, knob),
which is what :func:`aggregate` averages over.

Reading run and sweep folders, the metrics and the Pareto front belong to
:mod:`simulator.results`; the names here (:func:`read_table_file`,
:func:`read_run_summary`, :func:`pareto_mask`, ...) are its functions.  A sweep
table read here carries today's metric names *and*, for the figure code that
still asks for them, the older names as copies (:func:`figure_columns`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import results as _results
from ..errors import InputError
from ..results import (SUMMARY_TYPES, pareto_mask, read_json_file,  # noqa: F401 - re-exported
                       read_run_summary)
from .style import STAGES, _ordered_policies, _policy_style, _truthy, provenance_flags

logger = logging.getLogger("simulator.plots")

SWEEP_META = ("point", "key", "status", "error", "run_dir")
#: Every column of sweep.parquet that is not a swept axis (:data:`simulator.results.SWEEP_COLUMNS`),
#: and the older names of its metrics.
SWEEP_METRICS = tuple(_results.SWEEP_COLUMNS) + tuple(_results.COLUMN_LEGACY)
ALTITUDE_AXIS = "constellation.walker.altitude_km"
THRESHOLD_AXIS = "policy.params.threshold"
POLICY_PARAMS = "policy.params"
_FAILED = {"error", "failed", "failure", "crashed", "timeout", "pending", "running", "missing"}

#: Parameters each allocation policy reads (used when the policy registry cannot be
#: imported); a swept parameter a policy ignores does not split its points.
_ACCEPTS = {
    "satellite-only": (), "ground-only": (), "oracle": (),
    "tabi": ("threshold", "weight"),
    "ai-rg": ("latency_weight", "guidance_weight", "iterations", "population",
              "elite_fraction", "batch", "count_contact_wait", "act"),
    "spaceverse": ("tau", "checkpoint", "epochs", "hidden", "seed", "target"),
    "spaceverse-g": ("tau", "checkpoint", "epochs", "hidden", "seed", "target", "threshold"),
    "spaceverse-g-prime": ("tau", "checkpoint", "epochs", "hidden", "seed", "target",
                           "threshold"),
}
_LAYOUT = ("stages", "stage_tokens")  # read by the workload layout: matter to every policy
_SYMBOLS = {"tau": "τ", "alpha": "α", "beta": "β", "threshold": "threshold"}
_accepts_cache: dict[str, tuple[str, ...] | None] = {}


def policy_accepts(policy: str) -> tuple[str, ...] | None:
    """The ``policy.params`` a policy reads (None: unknown policy, every parameter counts)."""
    if policy not in _accepts_cache:
        found = None
        try:
            from ..policies.allocation import LAYOUT_PARAMS, REGISTRY
            cls = REGISTRY.get(policy)
            if cls is not None:
                found = tuple(getattr(cls, "accepts", ())) + tuple(LAYOUT_PARAMS)
        except Exception:  # noqa: BLE001 - plotting must not depend on the policies importing
            found = None
        _accepts_cache[policy] = found if found is not None else _ACCEPTS.get(policy)
    return _accepts_cache[policy]


# --------------------------------------------------------------------------- values


def sweep_axes(sweep: pd.DataFrame) -> list[str]:
    """The swept-axis columns of a sweep table (dotted scenario paths, ``seed``...);
    columns whose name starts with ``_`` are working columns of the figures, not axes."""
    known = set(SWEEP_META) | set(SWEEP_METRICS)
    return [c for c in sweep.columns
            if (c not in known or c == "seed") and not str(c).startswith("_")]


def _key(value) -> str:
    """A hashable, printable form of an axis value (lists and dicts as compact JSON)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, str) and value[:1] in "[{":
        try:  # JSON text from sweep.parquet: one canonical spelling
            return _key(json.loads(value))
        except ValueError:
            return value
    return str(value)


def _sortable(key: str):
    """An ordering for axis keys: numbers, then lists of numbers, then text."""
    try:
        return (0, float(key), ())
    except ValueError:
        pass
    if key.startswith("["):
        try:
            items = json.loads(key)
            return (1, 0.0, tuple(float(v) for v in items))
        except (ValueError, TypeError):
            pass
    return (2, 0.0, (key,))


def ok_rows(sweep: pd.DataFrame, needed: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of finished points with finite ``needed`` metrics (a table with older metric
    names is read with today's, :func:`figure_columns`)."""
    sweep = figure_columns(sweep)
    keep = np.ones(len(sweep), dtype=bool)
    if "status" in sweep.columns:
        keep &= ~sweep["status"].astype(str).str.lower().isin(_FAILED).to_numpy()
    if "error" in sweep.columns:
        err = sweep["error"]
        keep &= (err.isna() | err.astype(str).str.strip().isin(["", "None", "nan"])).to_numpy()
    for col in needed:
        if col not in sweep.columns:
            raise InputError(f"sweep table has no column {col!r}")
        keep &= np.isfinite(pd.to_numeric(sweep[col], errors="coerce").to_numpy(float))
    out = sweep[keep].copy()
    if len(out) < len(sweep):
        logger.info("%d of %d sweep points left out (failed or missing %s)",
                    len(sweep) - len(out), len(sweep), ", ".join(needed) or "results")
    return out


def workload_of(frame: pd.DataFrame) -> pd.Series:
    """The workload of each row: its ``trace`` name, the seed suffix of synthetic traces removed.

    A synthetic trace is named ``synthetic-<task>-<n>-s<seed>``; rows that only
    differ by seed belong to the same workload (panel).
    """
    if "trace" not in frame.columns:
        return pd.Series("workload", index=frame.index)
    names = frame["trace"].map(_key)
    synthetic = (_truthy(frame["synthetic"]) if "synthetic" in frame.columns
                 else np.zeros(len(frame), bool))
    # synthetic-<task>-<n>[-train<m>]-s<seed> -> "synthetic <task> (<n>)": one panel per task
    # and size, seeds merged
    stripped = names.str.replace(r"^synthetic-([a-z]+)-(\d+)(-train\d+)?-s\d+$", r"synthetic \1 (\2)",
                                 regex=True).str.replace(r"-s\d+$", "", regex=True)
    out = pd.Series(np.where(synthetic, stripped, names), index=frame.index)
    return out.replace("", "workload")


def _compression_method(value) -> str:
    text = _key(value)
    if text.startswith("{"):
        try:
            return str(json.loads(text).get("method", text))
        except (ValueError, AttributeError):
            return text
    return text or "none"


def latency_column(table: pd.DataFrame, preferred: str = "service_mean_s",
                   fallback: str = "in_contact_mean_s") -> str:
    """``preferred`` when the table has values in it, else ``fallback`` (older tables)."""
    values = pd.to_numeric(table[preferred], errors="coerce") if preferred in table.columns \
        else pd.Series(dtype=float)
    if values.notna().any():
        return preferred
    return fallback


# --------------------------------------------------------------------------- labels


def _short_axis(name: str) -> str:
    last = name.split(".")[-1]
    return {"altitude_km": "alt", "rate_mbps": "rate"}.get(last, _SYMBOLS.get(last, last))


def _value_text(value: str) -> str:
    if value.startswith("["):
        try:
            items = json.loads(value)
            return "(" + ", ".join(_key(v) for v in items) + ")"
        except (ValueError, TypeError):
            return value
    return value


def _axis_text(name: str, value: str) -> str:
    """A short label for one axis value: ``550 km``, ``3 GS``, ``threshold=0.3``,
    ``τ=(0.5, 0.4)``."""
    if value == "":
        return ""
    if name.endswith("compression.method") or name in ("policy.allocation", "preset (axis)"):
        return value
    if name.endswith("altitude_km"):
        return f"{value} km"
    if name.endswith("rate_mbps"):
        return f"{value} Mbps"
    if name == "ground_stations" and value.startswith("["):
        try:
            items = json.loads(value)
            return f"{len(items)} GS" if len(items) != 1 else f"GS {_key(items[0])}"
        except ValueError:
            pass
    return f"{_short_axis(name)}={_value_text(value)}"


# --------------------------------------------------------------------------- preparing a sweep


def _expanded_axes(rows: pd.DataFrame, axes: Sequence[str]) -> dict[str, pd.Series]:
    """Axis name -> canonical keys per row; JSON-mapping axes become one axis per entry
    (``policy.params`` -> ``policy.params.tau``, ``policy.params.threshold``...)."""
    out: dict[str, pd.Series] = {}
    for axis in axes:
        keys = rows[axis].map(_key)
        parsed: list = []
        for k in keys:
            value = k if k else None
            if k.startswith("{"):
                try:
                    value = json.loads(k)
                except ValueError:
                    pass
            parsed.append(value)
        if parsed and all(p is None or isinstance(p, dict) for p in parsed) and any(
                isinstance(p, dict) for p in parsed):
            names = list(dict.fromkeys(n for p in parsed if p for n in p))
            for name in names:
                out[f"{axis}.{name}"] = pd.Series(
                    [_key(p.get(name)) if p else "" for p in parsed], index=rows.index)
        else:
            out[axis] = keys
    return out


def _relevant(axis: str, policy: str) -> bool:
    """Whether the swept ``axis`` can change ``policy``'s results (a parameter it reads)."""
    if not axis.startswith(POLICY_PARAMS + "."):
        return True
    name = axis[len(POLICY_PARAMS) + 1:].split(".")[0]
    accepts = policy_accepts(policy)
    return accepts is None or name in accepts or name in _LAYOUT


def _prepare(sweep: pd.DataFrame, needed: Sequence[str], *, by: Sequence[str] = ("policy",),
             ignore: Sequence[str] = (), knobs: Sequence[str] = (POLICY_PARAMS,)
             ) -> tuple[pd.DataFrame, list[str]]:
    """Finished rows with ``workload``, ``preset``, ``policy`` and the labels of what was swept.

    A swept axis (other than the seed and ``ignore``) *varies* when its values
    differ among rows of one (workload, preset, ``by``) group; mapping axes
    count entry by entry, and a ``policy.params`` entry the row's policy does not
    read is blanked (it does not split).  Columns added: ``knob`` (the varying
    axes under a ``knobs`` prefix, e.g. ``τ=(0.5, 0.4)``), ``series`` (the other
    varying axes, e.g. ``550 km``), ``variant`` (preset, series and knob: every
    setting that differs), and the grouping keys ``_knob``, ``_series``,
    ``_variant`` and ``_knob_sort`` (an ordering of the knob values).  Averages
    over rows of one (workload, preset, by, variant) are then over seeds only.
    Returns the table and the varying axes.
    """
    rows = ok_rows(sweep, needed)
    if not len(rows):
        raise InputError("no finished sweep points with " + ", ".join(needed))
    rows["workload"] = workload_of(rows)
    rows["policy"] = rows["policy"].map(_key) if "policy" in rows.columns else "policy"
    rows["preset"] = rows["preset"].map(_key) if "preset" in rows.columns else ""
    if "compression" in rows.columns:
        rows["compression"] = rows["compression"].map(_compression_method)
    skip = {"seed", "preset (axis)", "policy (axis)", *ignore}
    axes = _expanded_axes(rows, [a for a in sweep_axes(rows) if a not in skip])
    axes = {a: k for a, k in axes.items() if a not in skip}
    policies = rows["policy"].to_numpy()
    for axis, keys in axes.items():
        if axis.startswith(POLICY_PARAMS + "."):
            mask = np.array([not _relevant(axis, p) for p in policies])
            if mask.any():
                keys[mask] = ""
    group = [rows[g] for g in ("workload", "preset", *by)]
    varying = [a for a, keys in axes.items() if (keys.groupby(group).nunique() > 1).any()]
    knob_axes = [a for a in varying if any(a == k or a.startswith(k + ".") for k in knobs)]
    series_axes = [a for a in varying if a not in knob_axes]

    values = {a: axes[a].tolist() for a in varying}  # by position: the index may repeat

    def labels(names):
        texts = [", ".join(filter(None, (_axis_text(a, values[a][i]) for a in names)))
                 for i in range(len(rows))]
        keys = ["\x1f".join(values[a][i] for a in names) for i in range(len(rows))]
        return texts, keys

    rows["knob"], rows["_knob"] = labels(knob_axes)
    rows["series"], rows["_series"] = labels(series_axes)
    rows["_knob_sort"] = [tuple(_sortable(values[a][i]) for a in knob_axes)
                          for i in range(len(rows))]
    presets_vary = rows.groupby("workload")["preset"].nunique().gt(1).any()
    rows["variant"] = [", ".join(filter(None, ((p if presets_vary else ""), s, k)))
                       for p, s, k in zip(rows["preset"], rows["series"], rows["knob"])]
    rows["_variant"] = rows["preset"] + "\x1e" + rows["_series"] + "\x1e" + rows["_knob"]
    for axis in varying:
        rows[f"_{axis}"] = values[axis]
    return rows, varying


def aggregate(rows: pd.DataFrame, keys: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean and standard deviation (over seeds, ddof=1; 0 for one seed) of ``metrics``.

    Columns: ``keys``, ``<metric>`` (mean), ``<metric>_std``, ``n`` (rows averaged).
    A display column among ``keys`` (``variant``, ``series``, ``knob``) is grouped by
    its key column (``_variant``...) as well when there is one, so that two settings
    with the same label are never averaged together; ``_knob_sort`` is carried along.
    """
    keys = list(keys)
    for label in ("variant", "series", "knob"):
        if label in keys and f"_{label}" in rows.columns and f"_{label}" not in keys:
            keys.append(f"_{label}")
    data = rows[keys].copy()
    for m in metrics:
        data[m] = pd.to_numeric(rows[m], errors="coerce").astype(float)
    grouped = data.groupby(keys, sort=False, dropna=False)
    mean = grouped[list(metrics)].mean()
    std = grouped[list(metrics)].std(ddof=1).fillna(0.0).add_suffix("_std")
    n = grouped.size().rename("n")
    out = pd.concat([mean, std, n], axis=1).reset_index()
    if "_knob_sort" in rows.columns and "_knob" in keys:
        order = dict(zip(rows["_knob"], rows["_knob_sort"]))
        out["_knob_sort"] = out["_knob"].map(order)
    return out


def knob_range(pts: pd.DataFrame) -> str:
    """``threshold=0.3 → 0.9`` for a curve's points (sorted by knob), '' without a knob."""
    knobs = [k for k in pts["knob"] if k]
    if len(knobs) < 2:
        return knobs[0] if knobs else ""
    first, last = knobs[0], knobs[-1]
    if first.count("=") == 1 and last.count("=") == 1 and \
            first.split("=")[0] == last.split("=")[0]:
        return f"{first} → {last.split('=', 1)[1]}"
    return f"{first} → {last}"


def pareto_front(points: pd.DataFrame, *, latency: str = "in_contact_mean_s",
                 accuracy: str = "accuracy", exclude: Sequence[str] = ("oracle",)) -> pd.DataFrame:
    """The rows on the accuracy-latency front (:func:`simulator.results.pareto_front`, the
    one definition), sorted by latency (accuracy then rises along the front): what a
    figure draws."""
    on = _results.pareto_front(points, accuracy=accuracy, latency=latency, exclude=exclude)
    return points[on.to_numpy()].sort_values([latency, accuracy], ascending=[True, False])


def compression_x(values) -> np.ndarray:
    """Compression ratio as ``raw : sent`` (>= 1): values below 1 are read as
    ``sent / raw`` and inverted; 0 or missing becomes NaN."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(v >= 1.0, v, 1.0 / v)
    out[~np.isfinite(out) | (v <= 0)] = np.nan
    return out


# --------------------------------------------------------------------------- run folders


#: Columns of ``samples.parquet`` that the figures of a run read.
RUN_SAMPLE_COLUMNS = ("satellite", "decision", "status", "capture_s", "done_s", "bytes_sent")
#: Columns of ``contacts.parquet`` (contact windows) that the figures read.
CONTACT_COLUMNS = ("satellite", "station", "rise_s", "set_s", "duration_s")
#: Columns of ``transmissions.parquet`` that the figures read.
TRANSMISSION_COLUMNS = ("satellite_index", "station_index", "start_s", "end_s", "bytes")


def figure_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A sweep table with today's metric names (:func:`simulator.results.canonical_columns`)
    and, beside them, copies under the older names (``accuracy``, ``accuracy_all``,
    ``accuracy_service``) for the figure code that still asks for those."""
    frame = _results.canonical_columns(frame)
    missing = {old: new for old, new in _results.COLUMN_LEGACY.items()
               if new in frame.columns and old not in frame.columns}
    if missing:
        frame = frame.assign(**{old: frame[new] for old, new in missing.items()})
    return frame


def read_table_file(path, what: str = "results table",
                    columns: Sequence[str] = ()) -> pd.DataFrame:
    """The Parquet table in ``path`` (:func:`simulator.results.read_table_file`: a one-line
    :class:`InputError` for a damaged file); a sweep table (``sweep.parquet``) with
    :func:`figure_columns`."""
    frame = _results.read_table_file(path, what, columns)
    if what == "sweep table" or Path(path).name == _results.SWEEP_TABLE:
        frame = figure_columns(frame)
    return frame


def _load_run(folder) -> tuple[dict, pd.DataFrame]:
    folder = Path(folder)
    summary_path, samples_path = folder / "summary.json", folder / "samples.parquet"
    if not (summary_path.exists() and samples_path.exists()):
        raise InputError(f"{folder}: not a run folder (needs summary.json and samples.parquet)")
    return (read_run_summary(summary_path),
            read_table_file(samples_path, "samples table", RUN_SAMPLE_COLUMNS))


def _policy_name(summary: dict) -> str:
    policy = summary.get("policy")
    if isinstance(policy, dict):
        return str(policy.get("name", "policy"))
    return str(policy or "policy")


def stage_means(samples: pd.DataFrame, *, offloaded_only: bool = True) -> dict[str, float]:
    """Mean seconds per stage under load (a stage a sample skips counts 0).

    Over the finished *offloaded* samples (as the sweep table's ``*_mean``
    columns), or over every finished sample when ``offloaded_only`` is false or
    nothing was offloaded (then the bar is the onboard answer's latency).  The
    stages add up to the mean end-to-end latency of those samples; without
    ``wait_contact_s`` to their mean in-contact latency.
    """
    done = samples[samples["status"].isin(["onboard", "ground"])]
    if offloaded_only and (done["decision"] == "offload").any():
        done = done[done["decision"] == "offload"]
    return {col: float(pd.to_numeric(done[col], errors="coerce").fillna(0.0).mean())
            if len(done) and col in done.columns else 0.0 for col, _, _ in STAGES}


#: The service-latency columns of one run's sample log (:func:`simulator.results.service_breakdown`).
service_columns = _results.service_breakdown


def service_stages(frame: pd.DataFrame) -> pd.DataFrame:
    """Service latency per stage, per row, averaged over *all* samples (adds up to
    ``service_mean_s``): an offloaded share ``f`` contributes ``f`` x its
    transmission (``service_tx_s_mean``), propagation, compression and ground
    compute; onboard compute is the rest (all of it for satellite-only)."""
    f = pd.to_numeric(frame.get("offload_fraction", np.nan), errors="coerce").to_numpy(float)
    total = pd.to_numeric(frame["service_mean_s"], errors="coerce").to_numpy(float)
    f = np.nan_to_num(f, nan=0.0)
    parts = {}
    for col, source in (("tx_s", "service_tx_s_mean"), ("propagation_s", "propagation_s_mean"),
                        ("compress_s", "compress_s_mean"), ("ground_s", "ground_s_mean")):
        values = (pd.to_numeric(frame[source], errors="coerce").to_numpy(float)
                  if source in frame.columns else np.zeros(len(frame)))
        parts[f"{col}_mean"] = f * np.nan_to_num(values, nan=0.0)
    rest = total - sum(parts.values())
    parts["onboard_s_mean"] = np.clip(rest, 0.0, None)
    out = pd.DataFrame(parts, index=frame.index)
    out["total"] = total
    return out


def breakdown_table(table_or_run, view: str = "end-to-end") -> pd.DataFrame:
    """Rows (``workload``, ``preset``, ``policy``, ``series``, ``label``, ``<stage>_mean``
    per stage, ``total``, ``synthetic``, ``score_modelled``) for the latency breakdown.

    ``view`` is ``service`` (each sample alone, over all samples: the paper's
    metric; needs ``service_mean_s``), ``in-contact`` or ``end-to-end`` (under
    load, over the finished offloaded samples: the ``*_mean`` columns).
    Accepts a run folder, a sweep folder, a sweep table (averaged over seeds per
    policy and per varying axis, e.g. altitude) or a samples table.
    """
    if view not in ("service", "in-contact", "end-to-end"):
        raise InputError(f"breakdown view must be service, in-contact or end-to-end, got {view!r}")
    stages = [f"{c}_mean" for c, _, _ in STAGES]
    if isinstance(table_or_run, (str, Path)):
        folder = Path(table_or_run)
        if (folder / "sweep.parquet").exists():
            return breakdown_table(read_table_file(folder / "sweep.parquet", "sweep table"),
                                   view)
        summary, samples = _load_run(folder)
        trace = summary.get("trace") or {}
        samples = samples.assign(policy=_policy_name(summary),
                                 synthetic=bool(summary.get("synthetic", False)),
                                 score_modelled=bool(summary.get("score_modelled", False)))
        out = breakdown_table(samples, view)
        out["workload"] = str(trace.get("name") or "workload")
        out["preset"] = str(summary.get("preset") or "")
        return out
    frame = table_or_run
    if "status" in frame.columns and "tx_s" in frame.columns and "tx_s_mean" not in frame.columns:
        policy = str(frame["policy"].iloc[0]) if "policy" in frame.columns else "run"
        row = {"workload": "workload", "preset": "", "policy": policy, "series": "",
               "label": _policy_style(policy)[0],
               "synthetic": bool(_truthy(frame["synthetic"]).any())
               if "synthetic" in frame.columns else False,
               "score_modelled": bool(_truthy(frame["score_modelled"]).any())
               if "score_modelled" in frame.columns else False}
        if view == "service":
            if "service_latency_s" not in frame.columns:
                raise InputError("service latency breakdown needs service_latency_s")
            service = service_stages(pd.DataFrame([service_columns(frame)]))
            row.update({c: float(service[c].iloc[0]) for c in service.columns})
        else:
            row.update({f"{c}_mean": v for c, v in stage_means(frame).items()})
        out = pd.DataFrame([row])
        for col in stages:
            out[col] = out[col] if col in out.columns else 0.0
        if view != "service":
            names = [c for c in stages if view == "end-to-end" or c != "wait_contact_s_mean"]
            out["total"] = out[names].sum(axis=1)
        return out
    if view == "service":
        if "service_mean_s" not in frame.columns:
            raise InputError("service latency breakdown needs service_mean_s (a newer sweep)")
        frame = frame.copy()
        service = service_stages(frame)
        for col in service.columns:
            frame[f"_svc_{col}"] = service[col]
        needed = ["service_mean_s"]
        metrics = [f"_svc_{c}" for c in service.columns]
    else:
        if "tx_s_mean" not in frame.columns:
            raise InputError("latency breakdown needs per-stage means (tx_s_mean, ...) "
                             "or a run folder")
        frame = frame.copy()
        for col in stages:
            if col not in frame.columns:
                frame[col] = 0.0
        # A point with nothing offloaded has no breakdown (NaN): its bar is the latency of
        # its onboard answers (onboard_only_latency_mean_s), drawn as onboard compute.
        if "onboard_only_latency_mean_s" in frame.columns:
            none_sent = (pd.to_numeric(frame["tx_s_mean"], errors="coerce").isna()
                         & pd.to_numeric(frame["onboard_only_latency_mean_s"],
                                         errors="coerce").notna())
            if "offloaded" in frame.columns:
                none_sent &= pd.to_numeric(frame["offloaded"], errors="coerce").fillna(0).eq(0)
            frame.loc[none_sent, stages] = 0.0
            frame.loc[none_sent, "onboard_s_mean"] = frame.loc[none_sent,
                                                               "onboard_only_latency_mean_s"]
        needed = ["tx_s_mean"]
        metrics = stages
    rows, _ = _prepare(frame, needed, ignore=("policy.allocation",))
    rows[metrics] = rows[metrics].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    agg = aggregate(rows, ["workload", "preset", "policy", "series", "knob"], metrics)
    if view == "service":
        agg = agg.rename(columns={f"_svc_{c}": c for c in ("total", *stages)})
    else:
        names = [c for c in stages if view == "end-to-end" or c != "wait_contact_s_mean"]
        agg["total"] = agg[names].sum(axis=1)
    for col in stages:
        if col not in agg.columns:
            agg[col] = 0.0
    one_policy = agg["policy"].nunique() == 1
    setting = [", ".join(filter(None, (s, k))) for s, k in zip(agg["series"], agg["knob"])]
    agg["label"] = [" ".join(filter(None, ["" if (one_policy and v) else _policy_style(p)[0], v]))
                    for p, v in zip(agg["policy"], setting)]
    order = {p: i for i, p in enumerate(_ordered_policies(agg["policy"]))}
    agg["_order"] = agg["policy"].map(order)
    agg = agg.sort_values(["_order"], kind="stable")
    flags = provenance_flags(rows)
    agg["synthetic"] = "synthetic" in flags
    agg["score_modelled"] = "modelled accuracy" in flags
    return agg[["workload", "preset", "policy", "series", "label", *stages, "total",
                "synthetic", "score_modelled"]].reset_index(drop=True)


def contact_fraction_table(sweep: pd.DataFrame, folder) -> pd.DataFrame:
    """Fig. 4a's table from a sweep over ``constellation.walker.altitude_km``.

    Reads each point's ``contacts.parquet`` and ``summary.json`` (horizon,
    satellites): ``mean_contact_fraction`` is contact time (union over stations)
    per satellite over the horizon, ``pass_fraction_of_period`` the mean pass
    over the Keplerian period.  ``series`` names the other swept axes (e.g. the
    ground stations) so that different station sets are not averaged together.
    """
    from ..orbits.contact_stats import orbital_period_s, per_satellite

    if ALTITUDE_AXIS not in sweep.columns:
        raise InputError(f"sweep has no {ALTITUDE_AXIS} axis")
    prepared, _ = _prepare(sweep, [], by=(), ignore=(ALTITUDE_AXIS, "policy.allocation"),
                           knobs=())
    rows = []
    for _, row in prepared.iterrows():
        run = Path(folder) / str(row.get("run_dir", ""))
        contacts, summary = run / "contacts.parquet", run / "summary.json"
        if not (contacts.exists() and summary.exists()):
            continue
        s = read_run_summary(summary)
        windows = read_table_file(contacts, "contact table", CONTACT_COLUMNS)
        horizon = float(s.get("horizon_s") or 0.0)
        n_sat = len(s.get("satellites") or []) or windows["satellite"].nunique()
        alt = float(row[ALTITUDE_AXIS])
        if horizon <= 0 or n_sat == 0:
            continue
        per_sat = (per_satellite(windows, horizon) if len(windows)
                   else pd.DataFrame({"contact_s": []}))
        mean_pass = float(windows["duration_s"].mean()) if len(windows) else 0.0
        rows.append({"altitude_km": alt,
                     "mean_contact_fraction": float(per_sat["contact_s"].sum()) / (horizon * n_sat),
                     "pass_fraction_of_period": mean_pass / orbital_period_s(alt),
                     "series": row["series"],
                     "synthetic": bool(s.get("synthetic", False))})
    if not rows:
        raise InputError("no run folder of the sweep has contacts.parquet and summary.json")
    return pd.DataFrame(rows)
