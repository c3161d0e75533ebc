"""Per-sample log, summaries, and the run folder (written atomically).

A run folder ``results/<run-id>/`` holds

* ``samples.parquet`` — one row per sample, columns :data:`SAMPLE_COLUMNS`;
* ``summary.json`` — accuracy, latency statistics, offload fraction, bytes,
  status counts, the policy, the trace's provenance (``synthetic`` or not) and
  the package version;
* ``scenario.yaml`` — the resolved scenario (every default filled in);
* ``contacts.parquet`` — the contact plan used (optional) and
  ``transmissions.parquet`` — every transmitted piece.

The folder is assembled under a hidden temporary name and swapped into place
in one step, so an interrupted run never leaves a folder that looks complete and
a re-run never loses the earlier result (see :func:`write_run`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .fileio import clean_leftovers, remove_path, replace_folder, temp_name

#: Columns of ``samples.parquet``, in order.
SAMPLE_COLUMNS = [
    "sample_id", "task", "satellite", "station", "status", "decision", "stage",
    "capture_s", "onboard_queue_s", "onboard_s", "compress_s",
    "bytes_raw", "bytes_sent", "buffer_queue_s", "wait_contact_s", "tx_s", "tx_pieces",
    "propagation_s", "ground_queue_s", "ground_s",
    "service_latency_s", "service_tx_s",
    "in_contact_latency_s", "end_to_end_latency_s", "score", "answer_score", "score_modelled",
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
        # The paper's accuracy: every sample gets its answer (one sample at a time, as the
        # service latency), whether or not it finished within this run's horizon.
        "accuracy_service": (float(np.nanmean(samples["answer_score"].to_numpy(float)))
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


def write_run_files(folder: Path, *, samples: pd.DataFrame, summary: dict,
                    scenario_yaml: str, tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Write the files of a run into the existing (empty) ``folder``.

    ``summary.json`` comes last: readers take a folder with a summary as complete.
    Files get the umask's mode (``0666 & ~umask``) like any ordinary file.
    """
    folder = Path(folder)
    samples.to_parquet(folder / "samples.parquet", index=False)
    for name, table in (tables or {}).items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "scenario.yaml").write_text(scenario_yaml)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default)
                                         + "\n")


def prepare_results_folder(parent: Path) -> Path:
    """Create the folder that receives run folders and tidy what dead writers left there
    (see :func:`simulator.fileio.clean_leftovers`); one-line error if it cannot be made."""
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{parent}: cannot create results folder ({exc.strerror or exc})") from None
    clean_leftovers(parent)
    return parent


def write_run(folder: Path, *, samples: pd.DataFrame, summary: dict, scenario_yaml: str,
              tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write a run folder atomically: build it under the hidden name
    ``.<run-id>.tmp-PID@HOST``, then swap it into place in one step
    (:func:`simulator.fileio.replace_folder`).  A re-run never loses the earlier
    result: until the swap the old folder is at ``folder``, after it the new one.
    An interrupted or failed write leaves no hidden folder behind (a killed one
    leaves one that the next command removes).
    """
    folder = Path(folder)
    prepare_results_folder(folder.parent)
    tmp = temp_name(folder, "tmp")
    try:
        remove_path(tmp)  # this process's own leftover, if any
        tmp.mkdir()
        write_run_files(tmp, samples=samples, summary=summary, scenario_yaml=scenario_yaml,
                        tables=tables)
        replace_folder(tmp, folder)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write results ({exc.strerror or exc})") from None
    finally:
        if os.path.lexists(tmp):
            try:
                remove_path(tmp)
            except OSError:
                pass  # a dead-process leftover now; the next command removes it
    return folder


def read_summary(folder: Path) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text())
