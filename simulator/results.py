"""Per-sample log, summaries, and the run folder (written atomically).

A run folder ``results/<run-id>/`` holds

* ``samples.parquet`` — one row per sample, columns :data:`SAMPLE_COLUMNS`;
* ``summary.json`` — accuracy, latency statistics, offload fraction, bytes,
  status counts, the policy, the trace's provenance (``synthetic`` or not) and
  the package version;
* ``scenario.yaml`` — the resolved scenario (every default filled in);
* ``contacts.parquet`` — the contact plan used (optional) and
  ``transmissions.parquet`` — every transmitted piece.

The folder is assembled under a hidden temporary name and renamed into place
in one step, so an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError

#: Columns of ``samples.parquet``, in order.
SAMPLE_COLUMNS = [
    "sample_id", "task", "satellite", "station", "status", "decision", "stage",
    "capture_s", "onboard_queue_s", "onboard_s", "compress_s",
    "bytes_raw", "bytes_sent", "buffer_queue_s", "wait_contact_s", "tx_s", "tx_pieces",
    "propagation_s", "ground_queue_s", "ground_s",
    "service_latency_s", "service_tx_s",
    "in_contact_latency_s", "end_to_end_latency_s", "score", "score_modelled",
    "tx_start_s", "tx_end_s", "done_s",
]


def _stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    return {"mean": float(values.mean()), "p50": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95)), "max": float(values.max())}


def summarize(samples: pd.DataFrame, *, policy: dict, compression: dict, trace_meta: dict,
              extra: dict | None = None) -> dict:
    """The numbers of ``summary.json`` for one run (one policy)."""
    n = len(samples)
    done = samples["status"].isin(["onboard", "ground"]).to_numpy()
    counts = samples["status"].value_counts().to_dict()
    offloaded = (samples["decision"] == "offload").to_numpy()
    score = samples["score"].to_numpy(float)
    summary = {
        "version": __version__,
        "policy": policy,
        "compression": compression,
        "trace": {k: trace_meta.get(k) for k in ("name", "source", "models", "task", "licence",
                                                 "synthetic")},
        "synthetic": bool(trace_meta.get("synthetic", False)),
        "samples": n,
        "status": {s: int(counts.get(s, 0)) for s in ("onboard", "ground", "dropped", "unfinished")},
        "accuracy": float(score[done].mean()) if done.any() else None,
        "accuracy_all_samples": float(np.where(done, score, 0.0).mean()) if n else None,
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
        "bytes_sent": int(samples.loc[samples["status"].to_numpy() == "ground",
                                      "bytes_sent"].sum()),
        "transmission_s": float(samples["tx_s"].sum()),
        "wait_contact_s_mean_offloaded": (float(samples.loc[offloaded, "wait_contact_s"].mean())
                                          if offloaded.any() else None),
        "score_modelled": bool(samples["score_modelled"].any()),
    }
    if extra:
        summary.update(extra)
    return summary


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def write_run(folder: Path, *, samples: pd.DataFrame, summary: dict, scenario_yaml: str,
              tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write a run folder atomically (build under a temporary name, then rename)."""
    folder = Path(folder)
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{parent}: cannot create results folder ({exc.strerror or exc})") from None
    tmp = parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        samples.to_parquet(tmp / "samples.parquet", index=False)
        for name, table in (tables or {}).items():
            table.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "scenario.yaml").write_text(scenario_yaml)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default)
                                          + "\n")
        if folder.exists():
            old = parent / f".{folder.name}.old-{os.getpid()}"
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write results ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_summary(folder: Path) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text())
