"""Run folders: written atomically, read back with one-line errors for damaged files.

A run folder ``results/<run-id>/`` holds

* ``samples.parquet`` — one row per sample, columns :data:`SAMPLE_COLUMNS`;
* ``summary.json`` — the metrics (:data:`simulator.results.METRICS`), status counts,
  the policy and its notes, the trace's provenance, the models, the warnings about
  degenerate results and the package version;
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
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..fileio import clean_leftovers, remove_path, replace_folder, temp_name
from .metrics import Summary, canonical_summary

#: Columns of ``samples.parquet``, in order.
SAMPLE_COLUMNS = [
    "sample_id", "task", "satellite", "station", "status", "decision", "stage",
    "capture_s", "onboard_queue_s", "onboard_s", "compress_s",
    "bytes_raw", "bytes_sent", "buffer_queue_s", "wait_contact_s", "tx_s", "tx_pieces",
    "propagation_s", "ground_queue_s", "ground_s",
    "service_latency_s", "service_tx_s",
    "in_contact_latency_s", "end_to_end_latency_s", "score", "answer_score", "score_modelled",
    "tx_start_s", "tx_end_s", "done_s", "isl_hops", "isl_s", "isl_path",
]
SUMMARY_FILE, SAMPLES_FILE, SCENARIO_FILE = "summary.json", "samples.parquet", "scenario.yaml"


# ---------------------------------------------------------------------------
# writing


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


def summary_text(summary: dict) -> str:
    """``summary.json``'s text (NumPy values as plain JSON, NaN as null)."""
    return json.dumps(summary, indent=2, default=_json_default) + "\n"


def write_run_files(folder: Path, *, samples: pd.DataFrame, summary: dict,
                    scenario_yaml: str, tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Write the files of a run into the existing (empty) ``folder``.

    ``summary.json`` comes last: readers take a folder with a summary as complete.
    Files get the umask's mode (``0666 & ~umask``) like any ordinary file.
    """
    folder = Path(folder)
    samples.to_parquet(folder / SAMPLES_FILE, index=False)
    for name, table in (tables or {}).items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / SCENARIO_FILE).write_text(scenario_yaml)
    (folder / SUMMARY_FILE).write_text(summary_text(summary))


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
    from .. import results as package  # write_run_files as the package holds it now

    folder = Path(folder)
    prepare_results_folder(folder.parent)
    tmp = temp_name(folder, "tmp")
    try:
        remove_path(tmp)  # this process's own leftover, if any
        tmp.mkdir()
        package.write_run_files(tmp, samples=samples, summary=summary,
                                scenario_yaml=scenario_yaml, tables=tables)
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


# ---------------------------------------------------------------------------
# reading


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def read_json_file(path, what: str = "results file") -> dict:
    """The JSON object in ``path``, or a one-line :class:`InputError` naming the file.

    A missing, unreadable, empty, truncated or non-JSON file, and one whose top
    level is not an object, are all input errors (a damaged results folder).

    >>> read_json_file("/no/such/summary.json", "run summary")
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: /no/such/summary.json: no such run summary
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a {what} (JSON file)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({_reason(exc)})") from None
    if not data.strip():
        raise InputError(f"{path}: empty file, expected a {what} (JSON object)")
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); expected a {what} "
                         "(JSON object)") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: damaged {what}, not valid JSON ({_reason(exc)}); "
                         "truncated or overwritten?") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: damaged {what}: top level is {type(value).__name__}, "
                         "expected a JSON object")
    return value


#: Fields of ``summary.json`` that readers use, with the types they must have.
SUMMARY_TYPES = {"trace": (dict,), "policy": (dict, str), "compression": (dict, str),
                 "satellites": (list,), "stations": (list,), "horizon_s": (int, float),
                 "run_id": (str,), "preset": (str,), "status": (dict,), "warnings": (list,)}
_TYPE_WORDS = {dict: "an object", str: "text", list: "a list", int: "a number", float: "a number"}


def read_run_summary(path) -> Summary:
    """A run's ``summary.json`` (see :func:`read_json_file`) with today's metric names
    (older names mapped) and the fields readers use of the right types; a damaged or
    hand-edited one is a one-line :class:`InputError`."""
    summary = read_json_file(path, "run summary")
    for key, types in SUMMARY_TYPES.items():
        value = summary.get(key)
        if value is None:
            continue
        ok = isinstance(value, types) and not isinstance(value, bool)
        if ok and key == "horizon_s":
            ok = math.isfinite(value) and value > 0
        if not ok:
            expected = " or ".join(dict.fromkeys(_TYPE_WORDS[t] for t in types))
            shown = repr(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            bound = " > 0" if key == "horizon_s" else ""
            raise InputError(f"{path}: damaged run summary: {key} is {shown}; "
                             f"expected {expected}{bound}")
    return canonical_summary(summary)


def read_summary(folder) -> Summary:
    """The ``summary.json`` of the run folder ``folder`` (:func:`read_run_summary`)."""
    return read_run_summary(Path(folder) / SUMMARY_FILE)


def read_table_file(path, what: str = "results table",
                    columns: Sequence[str] = ()) -> pd.DataFrame:
    """The Parquet table in ``path``, or a one-line :class:`InputError` naming the file.

    ``columns`` are columns the caller needs: a table without one of them is
    damaged (or written by something else) and is an error too.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a {what} (Parquet file)")
    try:
        frame = pd.read_parquet(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise InputError(f"{path}: damaged {what}, cannot read it as Parquet "
                         f"({_reason(exc)})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: damaged {what}: no column(s) {', '.join(missing)}")
    return frame


def read_samples(folder, columns: Sequence[str] | None = None,
                 needed: Sequence[str] = ("status", "decision")) -> pd.DataFrame:
    """The run's ``samples.parquet``, only ``columns`` where given (those it has);
    ``needed`` columns missing make it a damaged table (one line)."""
    path = Path(folder) / SAMPLES_FILE
    if columns is None:
        return read_table_file(path, "samples table", needed)
    try:
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)
    except FileNotFoundError:
        raise InputError(f"{path}: no such samples table") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file
        raise InputError(f"{path}: damaged samples table, cannot read it as Parquet "
                         f"({_reason(exc)})") from None
    missing = [c for c in needed if c not in have]
    if missing:
        raise InputError(f"{path}: damaged samples table: no column(s) {', '.join(missing)}")
    try:
        return pd.read_parquet(path, columns=[c for c in columns if c in have])
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: damaged samples table, cannot read it as Parquet "
                         f"({_reason(exc)})") from None


def is_run_folder(folder) -> bool:
    folder = Path(folder)
    return (folder / SUMMARY_FILE).is_file() and (folder / SAMPLES_FILE).is_file()


def read_run(folder, columns: Sequence[str] | None = None) -> tuple[Summary, pd.DataFrame]:
    """``(summary, samples)`` of a run folder; a folder that is not one, or a damaged
    file, is a one-line :class:`InputError`."""
    folder = Path(folder)
    if not is_run_folder(folder):
        raise InputError(f"{folder}: not a run folder (needs {SUMMARY_FILE} and {SAMPLES_FILE})")
    return read_summary(folder), read_samples(folder, columns)


def run_metrics(folder) -> dict:
    """Every metric of a run folder (:func:`~simulator.results.metrics.point_metrics`)."""
    from .metrics import SAMPLE_NEEDS, point_metrics

    folder = Path(folder)
    if not is_run_folder(folder):
        raise InputError(f"{folder}: not a run folder (needs {SUMMARY_FILE} and {SAMPLES_FILE})")
    samples = read_samples(folder, SAMPLE_NEEDS, needed=("status", "decision", "bytes_raw",
                                                         "bytes_sent", "end_to_end_latency_s"))
    return point_metrics(read_summary(folder), samples)
