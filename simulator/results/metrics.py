"""Every metric of a run, defined once: its name, what it counts, its unit.

:data:`METRICS` is the definition table.  A metric has one name, used alike in
``summary.json`` (where it is a top-level number, or a statistic of a nested
latency block: :attr:`Metric.summary`), as a column of ``sweep.parquet``, in the
tables the commands print, in reports and in figures.  Three accuracies are
kept apart by name:

* ``accuracy_finished_samples`` — over the samples finished within the run;
* ``accuracy_all_samples`` — over every simulated sample, unfinished ones scored 0;
* ``accuracy_every_answer`` — the answer every sample gets under the policy's
  decision, finished within the run or not: the paper's accuracy, the partner of
  the service latency.

Older result folders used other names (``accuracy``, ``accuracy_service``,
``accuracy_all``); :data:`SUMMARY_LEGACY` and :data:`COLUMN_LEGACY` map them, and
every reader here applies the mapping (:func:`canonical_summary`,
:func:`canonical_columns`).

:func:`summarize` computes ``summary.json`` from a run's sample log and
:func:`point_metrics` the metric columns of its ``sweep.parquet`` row; nothing
else computes a metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import __version__

#: Statuses of a sample that finished within the run.
FINISHED = ("onboard", "ground")
#: Every status a sample can end in.
STATUSES = ("onboard", "ground", "dropped", "unfinished")
#: The latency stages of ``samples.parquet`` averaged over finished offloaded samples.
BREAKDOWN_COLUMNS = ["onboard_s", "onboard_queue_s", "compress_s", "buffer_queue_s",
                     "wait_contact_s", "tx_s", "propagation_s", "ground_queue_s", "ground_s"]
_STAGE_WORDS = {
    "onboard_s": "onboard compute", "onboard_queue_s": "wait for the onboard accelerator",
    "compress_s": "compression", "buffer_queue_s": "wait in the downlink buffer",
    "wait_contact_s": "wait for a contact window", "tx_s": "transmission",
    "propagation_s": "propagation (light time)", "ground_queue_s": "wait for a ground GPU",
    "ground_s": "ground compute"}


@dataclass(frozen=True)
class Metric:
    """One metric: ``name`` (column of ``sweep.parquet``), ``what`` it counts, ``unit``,
    and ``summary``: where ``summary.json`` holds it (a dotted path; ``None`` when it is
    computed from the sample log only)."""

    name: str
    what: str
    unit: str
    summary: str | None = None
    #: the headline metrics: shown by ``runs list``, ``run``, ``compare``, ``sweep``
    headline: bool = False

    def row(self) -> dict:
        return {"name": self.name, "what it counts": self.what, "unit": self.unit}


def _m(name, what, unit, summary=None, headline=False) -> Metric:
    return Metric(name, what, unit, summary, headline)


_ACC = "fraction (0-1)"
_S = "seconds"
#: The definition table, in the order of the ``sweep.parquet`` columns.
METRIC_LIST: list[Metric] = [
    _m("samples", "samples simulated (the training pool is held apart and never simulated)",
       "samples", "samples"),
    _m("training_pool_rows", "rows held apart as the training pool of learning policies "
       "(never simulated)", "rows", "train_samples"),
    _m("finished", "samples answered within the run, onboard or on the ground", "samples"),
    _m("offloaded", "samples the policy decided to offload to the ground", "samples"),
    _m("accuracy_finished_samples", "mean score over the samples finished within the run "
       "(dropped and unfinished samples left out)", _ACC, "accuracy_finished_samples"),
    _m("accuracy_all_samples", "mean score over every simulated sample; a sample dropped or "
       "unfinished when the run ends scores 0", _ACC, "accuracy_all_samples"),
    _m("accuracy_every_answer", "mean score of the answer every sample gets under the policy's "
       "decision, finished within the run or not (the paper's accuracy, the partner of the "
       "service latency)", _ACC, "accuracy_every_answer", headline=True),
    _m("service_mean_s", "service latency, mean over every sample: each sample alone, no "
       "queueing, no wait for a contact window (the paper's per-sample latency)", _S,
       "service_latency_s.mean", headline=True),
    _m("service_p50_s", "service latency, median over every sample", _S,
       "service_latency_s.p50"),
    _m("service_p95_s", "service latency, 95th percentile over every sample", _S,
       "service_latency_s.p95"),
    _m("service_tx_s_mean", "transmission part of the service latency, mean over the "
       "offloaded samples", _S),
    _m("service_offloaded_mean_s", "service latency, mean over the offloaded samples", _S),
    _m("in_contact_mean_s", "latency under the run's load without the wait for a contact "
       "window (queues included), mean over the finished samples", _S,
       "in_contact_latency_s.mean", headline=True),
    _m("in_contact_p50_s", "in-contact latency under load, median over the finished samples",
       _S, "in_contact_latency_s.p50"),
    _m("in_contact_p95_s", "in-contact latency under load, 95th percentile over the finished "
       "samples", _S, "in_contact_latency_s.p95"),
    _m("end_to_end_mean_s", "latency under the run's load from capture to answer, the wait "
       "for a contact window included, mean over the finished samples", _S,
       "end_to_end_latency_s.mean"),
    _m("end_to_end_p95_s", "end-to-end latency under load, 95th percentile over the finished "
       "samples", _S, "end_to_end_latency_s.p95"),
    _m("offload_fraction", "share of the samples the policy offloaded", "fraction (0-1)",
       "offload_fraction", headline=True),
    _m("bytes_raw", "raw image bytes of every sample", "bytes", "bytes_raw"),
    _m("bytes_sent", "bytes that reached the ground (dropped and unfinished samples never "
       "arrived)", "bytes", "bytes_sent"),
    _m("compression_ratio", "raw bytes of the offloaded samples over the bytes sent for them "
       "(empty when nothing was sent)", "ratio (raw : sent)"),
    *[_m(f"{c}_mean", f"{_STAGE_WORDS[c]}, mean seconds over the finished offloaded samples "
         "(a stage a sample skips counts 0)", _S) for c in BREAKDOWN_COLUMNS],
    _m("onboard_only_latency_mean_s", "end-to-end latency of the samples answered onboard, "
       "mean", _S),
    _m("contact_windows", "contact windows of the run", "windows", "contact_windows"),
    _m("satellites", "satellites simulated", "satellites", "satellites"),
    _m("stations", "ground stations", "stations", "stations"),
]
#: Name -> :class:`Metric`.
METRICS: dict[str, Metric] = {m.name: m for m in METRIC_LIST}
#: The three accuracies, the paper's first.
ACCURACIES = ("accuracy_every_answer", "accuracy_all_samples", "accuracy_finished_samples")
#: The headline metrics (``runs list``, the tables of ``run``, ``compare`` and ``sweep``).
HEADLINE = tuple(m.name for m in METRIC_LIST if m.headline)

#: Old names of ``summary.json`` keys -> their names now.
SUMMARY_LEGACY = {"accuracy": "accuracy_finished_samples",
                  "accuracy_service": "accuracy_every_answer"}
#: Old names of ``sweep.parquet`` columns (and of the old compare table) -> their names now.
COLUMN_LEGACY = {"accuracy": "accuracy_finished_samples", "accuracy_all": "accuracy_all_samples",
                 "accuracy_service": "accuracy_every_answer"}


def definition(name: str) -> str:
    """``name: what it counts (unit)`` of a metric (``name`` alone for an unknown one)."""
    m = METRICS.get(name)
    return f"{name}: {m.what} ({m.unit})" if m else name


def definitions_table(names=None) -> pd.DataFrame:
    """The definition table (name, what it counts, unit) of ``names`` (default: all)."""
    chosen = [METRICS[n] for n in names if n in METRICS] if names is not None else METRIC_LIST
    return pd.DataFrame([m.row() for m in chosen], columns=["name", "what it counts", "unit"])


# ---------------------------------------------------------------------------
# summary.json


class Summary(dict):
    """``summary.json`` as a dict.  An old name (:data:`SUMMARY_LEGACY`) still reads the
    value under its new name (``summary["accuracy"]`` is ``accuracy_finished_samples``),
    for code written against older folders; only the new names are stored."""

    def __missing__(self, key):
        new = SUMMARY_LEGACY.get(key)
        if new is not None and dict.__contains__(self, new):
            return self[new]
        raise KeyError(key)

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            return self[key]
        new = SUMMARY_LEGACY.get(key)
        if new is not None and dict.__contains__(self, new):
            return self[new]
        return default


def canonical_summary(summary: dict) -> Summary:
    """A summary with the names of now (old names renamed in place, order kept)."""
    out = Summary()
    for key, value in summary.items():
        new = SUMMARY_LEGACY.get(key, key)
        if new != key and new in summary:
            continue  # both spellings: the new one wins
        out[new] = value
    return out


def canonical_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with old column names (:data:`COLUMN_LEGACY`) renamed (a copy when any)."""
    rename = {old: new for old, new in COLUMN_LEGACY.items()
              if old in frame.columns and new not in frame.columns}
    drop = [old for old, new in COLUMN_LEGACY.items()
            if old in frame.columns and new in frame.columns]
    if not rename and not drop:
        return frame
    out = frame.drop(columns=drop).rename(columns=rename)
    out.attrs = dict(frame.attrs)
    return out


def summary_value(summary: dict, name: str):
    """The value of metric ``name`` in a summary (None when it is not there)."""
    m = METRICS.get(name)
    path = m.summary if m else name
    if path is None:
        return None
    value = summary
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if name in ("satellites", "stations") and isinstance(value, list):
        return len(value)
    return value


def _stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    return {"mean": float(values.mean()), "p50": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95)), "max": float(values.max())}


def summarize(samples: pd.DataFrame, *, policy: dict, compression: dict, trace_meta: dict,
              extra: dict | None = None) -> Summary:
    """The numbers of ``summary.json`` for one run (one policy); its ``warnings`` are the
    degenerate results found (:func:`simulator.results.degenerate.run_warnings`)."""
    from .degenerate import run_warnings

    n = len(samples)
    done = samples["status"].isin(FINISHED).to_numpy()
    counts = samples["status"].value_counts().to_dict()
    offloaded = (samples["decision"] == "offload").to_numpy()
    score = samples["score"].to_numpy(float)
    summary = Summary({
        "version": __version__,
        "policy": policy,
        "compression": compression,
        "trace": {k: trace_meta.get(k) for k in ("name", "source", "models", "task", "licence",
                                                 "synthetic")},
        "synthetic": bool(trace_meta.get("synthetic", False)),
        "samples": n,
        "status": {s: int(counts.get(s, 0)) for s in STATUSES},
        "accuracy_finished_samples": float(score[done].mean()) if done.any() else None,
        "accuracy_all_samples": float(np.where(done, score, 0.0).mean()) if n else None,
        # The paper's accuracy: every sample gets its answer (one sample at a time, as the
        # service latency), whether or not it finished within this run's horizon.
        "accuracy_every_answer": (float(np.nanmean(samples["answer_score"].to_numpy(float)))
                                  if n and "answer_score" in samples else None),
        "offload_fraction": float(offloaded.mean()) if n else None,
        # The paper's metric: each sample alone (no queueing, no wait for contact), over
        # every sample -- it does not depend on the load or on which samples finished.
        "service_latency_s": _stats(samples["service_latency_s"].to_numpy(float)),
        "service_latency_undefined": int((~np.isfinite(samples["service_latency_s"]
                                                       .to_numpy(float))).sum()),
        # Latency under the run's load (finished samples): queues, buffer, contact waits.
        "in_contact_latency_s": _stats(samples.loc[done, "in_contact_latency_s"].to_numpy(float)),
        "end_to_end_latency_s": _stats(samples.loc[done, "end_to_end_latency_s"].to_numpy(float)),
        "bytes_raw": int(samples["bytes_raw"].sum()),
        # bytes that reached the ground (dropped and unfinished samples never arrived)
        "bytes_sent": int(samples.loc[(samples["status"] == "ground").to_numpy(),
                                      "bytes_sent"].sum()),
        "transmission_s": float(samples["tx_s"].sum()),
        "wait_contact_s_mean_offloaded": (float(samples.loc[offloaded, "wait_contact_s"].mean())
                                          if offloaded.any() else None),
        "score_modelled": bool(samples["score_modelled"].any()),
    })
    if extra:
        summary.update(extra)
    summary["warnings"] = run_warnings(summary, samples)
    return summary


# ---------------------------------------------------------------------------
# sweep.parquet rows


def _nan(value) -> float:
    if value is None or isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _count(value) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _mean(samples: pd.DataFrame, column: str, rows: np.ndarray) -> float:
    if column not in samples:
        return float("nan")
    values = samples[column].to_numpy(float)[rows]
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


#: Columns of ``samples.parquet`` that :func:`point_metrics` reads (when present).
SAMPLE_NEEDS = ["status", "decision", "stage", "bytes_raw", "bytes_sent",
                "end_to_end_latency_s", "service_latency_s", "service_tx_s",
                *BREAKDOWN_COLUMNS]


def point_metrics(summary: dict, samples: pd.DataFrame) -> dict:
    """The metric columns of ``sweep.parquet`` for one run (summary + sample log), and
    ``warnings`` (the run's degenerate results, one text)."""
    from .degenerate import run_warnings

    summary = canonical_summary(summary)
    offload = (samples["decision"].astype(str) == "offload").to_numpy()
    finished = samples["status"].astype(str).isin(FINISHED).to_numpy()
    fo = finished & offload
    fon = finished & ~offload
    sent = int(samples["bytes_sent"].to_numpy(np.int64)[offload].sum())
    raw_off = int(samples["bytes_raw"].to_numpy(np.int64)[offload].sum())
    trace = summary.get("trace")
    row = {
        "trace": trace.get("name") if isinstance(trace, dict) else None,
        "synthetic": bool(summary.get("synthetic", False)),
        "score_modelled": bool(summary.get("score_modelled", False)),
        "preset": str(summary.get("preset", "physical")),
        "samples": _count(summary.get("samples")),
        "training_pool_rows": _count(summary.get("train_samples")),
        "finished": int(finished.sum()),
        "offloaded": int(offload.sum()),
        "service_tx_s_mean": _mean(samples, "service_tx_s", offload),
        "service_offloaded_mean_s": _mean(samples, "service_latency_s", offload),
        "compression_ratio": raw_off / sent if sent > 0 else float("nan"),
    }
    for name in ("accuracy_finished_samples", "accuracy_all_samples", "accuracy_every_answer",
                 "service_mean_s", "service_p50_s", "service_p95_s", "in_contact_mean_s",
                 "in_contact_p50_s", "in_contact_p95_s", "end_to_end_mean_s", "end_to_end_p95_s",
                 "offload_fraction"):
        row[name] = _nan(summary_value(summary, name))
    for name in ("bytes_raw", "bytes_sent"):
        row[name] = _count(summary.get(name))
    for col in BREAKDOWN_COLUMNS:
        values = samples[col].to_numpy(float)[fo] if col in samples else np.array([])
        row[f"{col}_mean"] = float(values.mean()) if len(values) else float("nan")
    onboard = samples["end_to_end_latency_s"].to_numpy(float)[fon]
    row["onboard_only_latency_mean_s"] = float(onboard.mean()) if len(onboard) else float("nan")
    row["contact_windows"] = _count(summary.get("contact_windows", 0)) or 0
    row["satellites"] = len(summary.get("satellites") or [])
    row["stations"] = len(summary.get("stations") or [])
    row["warnings"] = "; ".join(w["message"] for w in run_warnings(summary, samples))
    return row


def service_breakdown(samples: pd.DataFrame) -> dict[str, float]:
    """The service-latency columns of one run's sample log: ``service_mean_s`` and
    ``offload_fraction`` over every sample, ``service_tx_s_mean`` and the
    ``compress_s_mean``, ``propagation_s_mean``, ``ground_s_mean`` of the offloaded
    samples (their service path: nothing queues, so every offloaded sample counts)."""
    offload = (samples["decision"].astype(str) == "offload").to_numpy()

    def finite_mean(values) -> float:
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        v = v[np.isfinite(v)]
        return float(v.mean()) if len(v) else float("nan")

    out = {"service_mean_s": finite_mean(samples.get("service_latency_s", np.nan)),
           "offload_fraction": float(offload.mean()) if len(samples) else float("nan"),
           "service_tx_s_mean": (finite_mean(samples.loc[offload, "service_tx_s"])
                                 if "service_tx_s" in samples.columns else float("nan"))}
    for col in ("compress_s", "propagation_s", "ground_s"):
        out[f"{col}_mean"] = (finite_mean(samples.loc[offload, col])
                              if col in samples.columns else float("nan"))
    return out


def format_value(name: str, value) -> str:
    """A metric's value as the tables print it: accuracies and shares in %, seconds with
    two decimals, counts with thousands separators; ``-`` for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    try:
        if value is pd.NA or pd.isna(value):
            return "-"
    except (TypeError, ValueError):
        pass
    m = METRICS.get(name)
    unit = m.unit if m else ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if unit.startswith("fraction"):
        return f"{100 * number:.2f} %"
    if unit == _S:
        return f"{number:.3f} s" if abs(number) < 100 else f"{number:,.1f} s"
    if unit.startswith("ratio"):
        return f"{number:.2f}"
    if float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:.4g}"
