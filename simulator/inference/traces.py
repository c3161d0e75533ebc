"""Inference traces: what the onboard and ground models answered, per sample.

The simulator never runs a VLM inside the event loop.  It replays a **trace**:
one row per sample with everything a backend would have produced -- both
models' answers, their task scores, how many tokens they generated, the image
size and bytes.  Recorded real traces are preferred; synthetic ones (see
:mod:`simulator.inference.synthetic`) say so in their metadata and file name.
Your own recordings -- a CSV or Parquet file of two models' answers -- become a
trace with :func:`simulator.inference.trace_import.import_trace` (``spaceverse
traces import``), which checks every cell first and computes the scores.

On disk a trace is two files side by side:

* ``<name>.parquet`` -- the table (schema below);
* ``<name>.json``    -- metadata: ``name``, ``source`` (citation), ``models``
  (``{"onboard": ..., "ground": ...}``), ``task``, ``licence``, ``synthetic``,
  ``created_utc``, ``generator`` (synthetic only), ``n_samples``, ``notes``,
  ``schema_version`` (1) and ``missing``: the optional columns this trace does
  not have.  A column that was not recorded is *marked missing, never
  invented*.

Required columns

=========================  =======  ==============================================
``sample_id``              str      unique
``task``                   str      vqa, classification, detection, ...
``image_width_px``         int      >= 1
``image_height_px``        int      >= 1
``image_bytes``            int      >= 0, the image as stored on board
``prompt_tokens``          int      >= 0
``onboard_answer``         str
``ground_answer``          str
``onboard_score``          float    in [0, 1], task metric vs ground truth
``ground_score``           float    in [0, 1]
``onboard_output_tokens``  int      >= 1
``ground_output_tokens``   int      >= 1
=========================  =======  ==============================================

Optional columns: ``question`` (str), ``reference_answer`` (str),
``onboard_confidence`` (float in [0, 1], e.g. the geometric mean of token
probabilities), ``difficulty`` (float, synthetic only), ``features``
(list<float32>, image features V(x)), ``answer_similarity`` (float in [0, 1],
similarity of the two answers: the target of the paper's Eq. 1),
``onboard_wall_s`` / ``ground_wall_s`` (float >= 0, measured seconds),
``split`` (``"test"`` or ``"train"``: a held-apart training pool, see
:mod:`simulator.inference.split`), ``onboard_stage_confidence`` (list of floats
in [0, 1], one per generation stage: the mean token probability of the tokens
generated so far), ``ground_confidence`` (float in [0, 1], the ground model's
mean token probability) and ``second_opinion_answer`` (str, a second onboard
model's answer).

Round trip::

    >>> import tempfile, pandas as pd
    >>> t = Trace(pd.DataFrame({
    ...     "sample_id": ["a"], "task": ["vqa"], "image_width_px": [256],
    ...     "image_height_px": [256], "image_bytes": [197191], "prompt_tokens": [30],
    ...     "onboard_answer": ["yes"], "ground_answer": ["no"], "onboard_score": [0.0],
    ...     "ground_score": [1.0], "onboard_output_tokens": [2], "ground_output_tokens": [2]}),
    ...     {"name": "demo", "source": "doctest", "models": {"onboard": "a", "ground": "b"},
    ...      "task": "vqa", "licence": "CC0-1.0", "synthetic": False})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     back = read_trace(write_trace(t, Path(folder) / "demo.parquet"))
    >>> back.name, len(back), back.meta["missing"][:2]
    ('demo', 1, ['question', 'reference_answer'])
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference.list_columns import arrow_lists, lists_flat_and_lengths
from simulator.paths import project_root

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

#: Column -> kind.  Kinds: ``str``; ``int>=0`` / ``int>=1`` (integer dtype);
#: ``unit`` (real in [0, 1]); ``real>=0``; ``real``; ``vector`` (list of floats).
REQUIRED_COLUMNS: dict[str, str] = {
    "sample_id": "str",
    "task": "str",
    "image_width_px": "int>=1",
    "image_height_px": "int>=1",
    "image_bytes": "int>=0",
    "prompt_tokens": "int>=0",
    "onboard_answer": "str",
    "ground_answer": "str",
    "onboard_score": "unit",
    "ground_score": "unit",
    "onboard_output_tokens": "int>=1",
    "ground_output_tokens": "int>=1",
}
OPTIONAL_COLUMNS: dict[str, str] = {
    "question": "str",
    "reference_answer": "str",
    "onboard_confidence": "unit",
    "difficulty": "real",
    "features": "vector",
    "answer_similarity": "unit",
    "onboard_wall_s": "real>=0",
    "ground_wall_s": "real>=0",
    "split": "split",
    "onboard_stage_confidence": "unit-list",
    "ground_confidence": "unit",
    "second_opinion_answer": "str",
}
#: Values of the ``split`` column.
SPLIT_VALUES = ("test", "train")
REQUIRED_META = ("name", "source", "models", "task", "licence", "synthetic", "schema_version")

_KIND_TEXT = {
    "str": "text",
    "int>=0": "integers >= 0",
    "int>=1": "integers >= 1",
    "unit": "numbers in [0, 1]",
    "real>=0": "numbers >= 0",
    "real": "finite numbers",
    "vector": "lists of finite floats, all of one length",
    "unit-list": "non-empty lists of numbers in [0, 1]",
    "split": "'test' or 'train'",
}


def bundled_traces_dir() -> Path:
    """Folder of the traces shipped with the project (``models/traces``)."""
    return project_root() / "models" / "traces"


@dataclass
class Trace:
    """A per-sample table plus its metadata (see the module docstring).

    ``path`` is where the trace was read from, if anywhere; error messages
    name it.
    """

    table: pd.DataFrame
    meta: dict[str, Any]
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self.meta = dict(self.meta)
        self.meta.setdefault("schema_version", SCHEMA_VERSION)
        self.meta.setdefault("missing", self.absent_optional_columns())

    def __len__(self) -> int:
        return len(self.table)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.path.stem if self.path else "unnamed"))

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    def absent_optional_columns(self) -> list[str]:
        """Optional columns the table does not have, in schema order."""
        return [c for c in OPTIONAL_COLUMNS if c not in self.table.columns]

    def _where(self) -> str:
        return str(self.path) if self.path else f"trace {self.name!r}"

    def validate(self) -> None:
        """Raise :class:`InputError` naming the file, the column and the first bad row.

        >>> t = Trace(pd.DataFrame({"sample_id": ["a", "a"]}), {"name": "x"})
        >>> t.validate()
        Traceback (most recent call last):
        ...
        simulator.errors.InputError: trace 'x': missing metadata key(s) source, models, task, licence, synthetic; expected name, source, models, task, licence, synthetic, schema_version
        """
        where = self._where()
        _validate_meta(self.meta, where)
        table = self.table
        absent = [c for c in REQUIRED_COLUMNS if c not in table.columns]
        if absent:
            raise InputError(f"{where}: missing required column(s) {', '.join(absent)}")
        if len(table) == 0:
            raise InputError(f"{where}: the table has no rows; expected one row per sample")
        schema = {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}
        for column in table.columns:
            if column in schema:
                _check_column(table, column, schema[column], where)
        ids = table["sample_id"]
        dup = ids.duplicated()
        if dup.any():
            row = int(np.flatnonzero(dup.to_numpy())[0])
            raise InputError(
                f"{where}: column sample_id row {row}: duplicate sample_id {ids.iloc[row]!r}; "
                "expected unique ids"
            )
        listed = list(self.meta.get("missing", []))
        present = [c for c in listed if c in table.columns]
        if present:
            raise InputError(
                f"{where}: metadata 'missing' lists column(s) {', '.join(present)} "
                "that the table has; expected only absent optional columns"
            )
        n = self.meta.get("n_samples")
        if n is not None and n != len(table):
            raise InputError(
                f"{where}: metadata n_samples is {n} but the table has {len(table)} rows"
            )


def _validate_meta(meta: dict, where: str) -> None:
    absent = [k for k in REQUIRED_META if k not in meta]
    if absent:
        raise InputError(
            f"{where}: missing metadata key(s) {', '.join(absent)}; "
            f"expected {', '.join(REQUIRED_META)}"
        )
    models = meta["models"]
    if not isinstance(models, dict) or not {"onboard", "ground"} <= set(models):
        raise InputError(
            f"{where}: metadata models is {models!r}; expected {{'onboard': ..., 'ground': ...}}"
        )
    if not isinstance(meta["synthetic"], bool):
        raise InputError(f"{where}: metadata synthetic is {meta['synthetic']!r}; expected true or false")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise InputError(
            f"{where}: metadata schema_version is {meta['schema_version']!r}; "
            f"this simulator reads version {SCHEMA_VERSION}"
        )
    if not isinstance(meta.get("missing", []), list):
        raise InputError(
            f"{where}: metadata missing is {meta['missing']!r}; expected a list of column names"
        )


def _bad_row(
    where: str, column: str, kind: str, table: pd.DataFrame, mask: np.ndarray, why: str = ""
) -> InputError:
    row = int(np.flatnonzero(mask)[0])
    value = _plain(table[column].iloc[row])
    sid = _plain(table["sample_id"].iloc[row]) if "sample_id" in table.columns else None
    who = f" (sample_id {sid!r})" if sid is not None and column != "sample_id" else ""
    got = why or f"got {value!r}"
    return InputError(
        f"{where}: column {column} row {row}{who}: {got}; expected {_KIND_TEXT[kind]}"
    )


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones, so messages read ``1.5`` rather than ``np.float64(1.5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _column_ok(series: pd.Series, kind: str) -> bool:
    """Whether ``series`` certainly holds only valid ``kind`` values, decided with whole-column
    operations (:func:`_check_column` looks row by row only when this says no: to name the
    first bad row, with the message it always gave).  A million rows take well under a second.
    """
    if kind == "str":
        if isinstance(series.dtype, pd.StringDtype):  # every value a str, or missing
            return not series.isna().to_numpy().any()
        return pd.api.types.infer_dtype(series.to_numpy(dtype=object), skipna=False) in (
            "string", "empty")
    if kind == "split":
        try:
            return bool(series.isin(list(SPLIT_VALUES)).to_numpy().all())
        except TypeError:  # unhashable values
            return False
    if kind not in ("vector", "unit-list"):
        return False
    if len(series) == 0:
        return True
    if series.isna().to_numpy().any():  # a missing cell
        return False
    lists = arrow_lists(series)
    if lists is not None:  # a generated trace's lists: the numbers are already one array
        found = lists_flat_and_lengths(lists)
        if found is None:
            return False
        flat, lengths = found
    else:
        values = series.to_numpy(dtype=object)
        try:
            lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
            flat = np.concatenate(values)
            if flat.ndim != 1 or flat.size != lengths.sum() or flat.dtype.kind not in "biuf":
                return False
            flat = flat.astype(float)
        except (TypeError, ValueError):
            return False
    ok = ((flat >= 0) & (flat <= 1)) if kind == "unit-list" else np.isfinite(flat)
    if not ok.all():  # every value belongs to a row: some row has a bad one
        return False
    return bool((lengths > 0).all()) if kind == "unit-list" else bool((lengths == lengths[0]).all())


def _check_column(table: pd.DataFrame, column: str, kind: str, where: str) -> None:
    series = table[column]
    if _column_ok(series, kind):
        return
    if kind == "str":
        values = series.to_numpy(dtype=object)
        mask = np.array([not isinstance(v, str) for v in values], dtype=bool)
        if mask.any():
            raise _bad_row(where, column, kind, table, mask)
        return
    if kind == "split":
        values = series.to_numpy(dtype=object)
        mask = np.array([v not in SPLIT_VALUES for v in values], dtype=bool)
        if mask.any():
            raise _bad_row(where, column, kind, table, mask)
        return
    if kind == "unit-list":
        values = series.to_numpy(dtype=object)
        mask = np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                mask[i] = True
                continue
            mask[i] = arr.ndim != 1 or arr.size == 0 or not np.all((arr >= 0) & (arr <= 1))
        if mask.any():
            raise _bad_row(where, column, kind, table, mask)
        return
    if kind == "vector":
        values = series.to_numpy(dtype=object)
        lengths = np.full(len(values), -1)
        for i, v in enumerate(values):
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                continue
            if arr.ndim == 1 and np.all(np.isfinite(arr)):
                lengths[i] = arr.size
        mask = lengths < 0
        if len(values) and not mask.any():
            mask = lengths != lengths[0]
            if mask.any():
                raise _bad_row(
                    where, column, kind, table, mask,
                    f"length {lengths[mask][0]} differs from row 0's {lengths[0]}",
                )
        if mask.any():
            raise _bad_row(where, column, kind, table, mask)
        return
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=object)
        mask = np.array(
            [isinstance(v, bool) or not isinstance(v, (int, float, np.number)) for v in values],
            dtype=bool,
        )
        if not mask.any():  # numbers stored in an object column
            mask = np.ones(len(values), dtype=bool)
        raise _bad_row(
            where, column, kind, table, mask,
            f"dtype {series.dtype} (first value {_plain(values[np.flatnonzero(mask)[0]])!r})",
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if kind.startswith("int"):
        if not pd.api.types.is_integer_dtype(series):
            raise _bad_row(where, column, kind, table, np.ones(len(values), dtype=bool),
                           f"dtype {series.dtype} (first value {_plain(series.iloc[0])!r})")
        low = 1 if kind == "int>=1" else 0
        mask = values < low
    elif kind == "unit":
        mask = ~((values >= 0) & (values <= 1))
    elif kind == "real>=0":
        mask = ~(np.isfinite(values) & (values >= 0))
    else:
        mask = ~np.isfinite(values)
    if mask.any():
        raise _bad_row(where, column, kind, table, mask)


# --------------------------------------------------------------------------- files


def _resolve(path_or_name: str | os.PathLike) -> Path:
    """A trace's ``.parquet`` path from a path (with or without suffix) or a bundled name."""
    path = Path(path_or_name)
    candidates = [path] if path.suffix == ".parquet" else [path.with_name(path.name + ".parquet"), path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if path.parent == Path(".") and path.suffix != ".parquet":
        bundled = bundled_traces_dir() / f"{path.name}.parquet"
        if bundled.is_file():
            return bundled
        names = [t["name"] for t in list_traces()]
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(names) if names else "none bundled"
        raise InputError(
            f"no trace {str(path_or_name)!r}: not a file and not a bundled trace "
            f"under {bundled_traces_dir()} ({known}){hint}"
        )
    raise InputError(f"no trace file {str(candidates[0])!r}; expected <name>.parquet with <name>.json beside it")


#: Largest metadata sidecar read (the bundled ones are at most a few tens of kB).
MAX_SIDECAR_BYTES = 16 << 20


def _read_meta(parquet: Path) -> dict:
    """The metadata sidecar ``<name>.json`` of a trace; every problem is one line naming it
    (missing, a folder, unreadable, too large, not UTF-8, not JSON, not an object)."""
    sidecar = parquet.with_suffix(".json")
    expected = "expected a JSON file with name, source, models, task, licence, synthetic, schema_version"
    if sidecar.is_dir():
        raise InputError(f"{sidecar}: metadata sidecar is a folder; {expected}")
    if not sidecar.is_file():
        raise InputError(f"{parquet}: metadata sidecar {sidecar.name} is missing; {expected}")
    try:
        with open(sidecar, "rb") as handle:
            data = handle.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{sidecar}: cannot read the metadata sidecar "
                         f"({exc.strerror or exc})") from None
    if len(data) > MAX_SIDECAR_BYTES:
        raise InputError(f"{sidecar}: metadata sidecar larger than {MAX_SIDECAR_BYTES >> 20} MiB; "
                         "expected a small JSON object")
    try:
        meta = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{sidecar}: not UTF-8 text (byte {exc.start}); expected a JSON "
                         "metadata object") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{sidecar}: not valid JSON ({exc}); expected a metadata object") from None
    except RecursionError:
        raise InputError(f"{sidecar}: JSON nested too deeply; expected a metadata object") from None
    if not isinstance(meta, dict):
        raise InputError(f"{sidecar}: top level is {type(meta).__name__}; expected a JSON object")
    return meta


def read_trace(path_or_name: str | os.PathLike) -> Trace:
    """Read and validate a trace from ``<name>.parquet`` + ``<name>.json``.

    ``path_or_name`` is a file path (the ``.parquet`` suffix may be left out) or
    the name of a bundled trace under ``models/traces/``.
    """
    parquet = _resolve(path_or_name)
    meta = _read_meta(parquet)
    try:
        table = pd.read_parquet(parquet)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{parquet}: cannot read as Parquet ({type(exc).__name__}: {exc})") from None
    trace = Trace(table, meta, path=parquet)
    trace.validate()
    log.debug("read trace %s: %d samples from %s", trace.name, len(trace), parquet)
    return trace


def _to_arrow(table: pd.DataFrame):
    import pyarrow as pa

    frame = table.reset_index(drop=True)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = _lists_as_objects(arrow, [c for c in frame.columns if arrow_lists(frame[c]) is not None])
    if "features" in frame.columns:
        idx = arrow.schema.get_field_index("features")
        lists = arrow_lists(frame["features"])
        if lists is not None:
            column = lists.cast(pa.list_(pa.float32()))
        else:
            values = [np.asarray(v, dtype=np.float32) for v in frame["features"]]
            column = pa.array(values, type=pa.list_(pa.float32()))
        arrow = arrow.set_column(idx, "features", column)
    return arrow


def _lists_as_objects(arrow, names: list):
    """The file says the list columns ``names`` are plain object columns, as a trace with
    a list or array a cell writes them: a reader gets the same table either way."""
    if not names:
        return arrow
    meta = json.loads(arrow.schema.metadata[b"pandas"])
    for column in meta["columns"]:
        if column["name"] in names:
            column["numpy_type"] = "object"
    return arrow.replace_schema_metadata({**arrow.schema.metadata,
                                          b"pandas": json.dumps(meta).encode()})


def _atomic_write(target: Path, write) -> None:
    """``write(tmp)`` then rename into place (:func:`simulator.fileio.write_atomic`: the
    file follows the umask, leftovers of dead processes are cleaned)."""
    from ..fileio import write_atomic

    write_atomic(Path(target), write, what="trace")


def write_trace(trace: Trace, path: str | os.PathLike) -> Path:
    """Write ``trace`` to ``path`` (``.parquet``) and its ``.json`` sidecar, atomically.

    The metadata's derived keys are refreshed: ``name`` becomes the file stem,
    ``n_samples`` the row count, ``missing`` the absent optional columns, and
    ``created_utc`` is set if absent.  Synthetic traces must have "synthetic"
    in their file name and real ones must not, so a file name never hides
    what a trace is.  Returns the ``.parquet`` path.
    """
    import pyarrow.parquet as pq

    target = Path(path)
    if target.suffix != ".parquet":
        target = target.with_name(target.name + ".parquet")
    stem = target.stem
    if trace.synthetic and "synthetic" not in stem.lower():
        raise InputError(
            f"refusing to write synthetic trace {trace.name!r} to {target}: "
            "expected a file name containing 'synthetic'"
        )
    if not trace.synthetic and "synthetic" in stem.lower():
        raise InputError(
            f"refusing to write real (non-synthetic) trace {trace.name!r} to {target}: "
            "'synthetic' in the file name is reserved for synthetic traces"
        )
    meta = dict(trace.meta)
    if meta.get("name") not in (None, stem):
        log.info("trace %r written as %r (name follows the file)", meta.get("name"), stem)
    meta["name"] = stem
    meta["n_samples"] = len(trace.table)
    meta["missing"] = trace.absent_optional_columns()
    meta.setdefault("created_utc", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    out = Trace(trace.table, meta, path=target)
    out.validate()
    if not target.parent.is_dir():
        raise InputError(f"cannot write trace {target}: folder {target.parent} does not exist")
    arrow = _to_arrow(trace.table)
    text = json.dumps(meta, indent=2, sort_keys=False, default=_json_default) + "\n"
    try:
        _atomic_write(target, lambda tmp: pq.write_table(arrow, tmp))
        sidecar = target.with_suffix(".json")
        _atomic_write(sidecar, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write trace {target}: {exc.strerror or exc}") from None
    log.info("wrote trace %s (%d samples) to %s", stem, len(trace.table), target)
    return target


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"metadata value {value!r} is not JSON-serialisable")


def list_traces(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Summaries of the traces in ``folder`` (default: the bundled ``models/traces``).

    Reads only the JSON sidecars, so it is cheap.  Each entry has ``name``,
    ``path``, ``source``, ``models``, ``task``, ``n_samples``, ``licence`` and
    ``synthetic``.  A parquet file without a sidecar is skipped with a warning.
    """
    root = Path(folder) if folder is not None else bundled_traces_dir()
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    for parquet in sorted(root.glob("*.parquet")):
        try:
            meta = _read_meta(parquet)
        except InputError as exc:
            log.warning("skipping trace: %s", exc)
            continue
        out.append(
            {
                "name": meta.get("name", parquet.stem),
                "path": parquet,
                "source": meta.get("source"),
                "models": meta.get("models"),
                "task": meta.get("task"),
                "n_samples": meta.get("n_samples"),
                "licence": meta.get("licence"),
                "synthetic": bool(meta.get("synthetic", False)),
            }
        )
    return out
