"""Your own traces: a CSV or Parquet file of two models' answers, checked and turned into a trace.

``spaceverse traces import FILE.csv|FILE.parquet`` (:func:`import_trace`) reads one
row per sample, checks **every** cell before anything is written, computes the
scores with the task's metric (:func:`simulator.inference.metrics.score`) and
writes ``NAME.parquet`` with its ``NAME.json`` sidecar (provenance, licence,
``synthetic: false``, what was estimated, the columns that were not given).

The input format (also in README.md, "Inference: recorded traces")
==================================================================

Required columns:

=====================================  ===========================================================
``sample_id``                          unique, non-empty
``task``                               ``vqa``, ``classification``, ``yesno``, ``mcq``,
                                       ``detection`` or ``caption`` (the metric's tasks); may be
                                       left out (or left empty on a row) with ``--task``
``image_path`` **or**                  the image (a path relative to the file's folder, or
``image_width_px`` + ``image_height_px``  absolute), read for its size and its bytes; or the size
                                       in pixels (whole numbers >= 1), per row
``onboard_answer``, ``ground_answer``  the two models' answers (non-empty text)
``reference_answer``                   the ground truth (non-empty): a class name, an answer (for
                                       ``vqa`` also a JSON list of human answers), an option
                                       letter, a box ``x1, y1, x2, y2``, a caption
=====================================  ===========================================================

Optional columns (an optional column, when present, needs a value on every row,
except the token counts: an empty cell there is estimated):

=========================================  =====================================================
``image_bytes``                            whole number >= 0, the image as stored on board
                                           (default: the file's size for ``image_path``, else
                                           raw 8-bit RGB, width x height x 3)
``question``                               text (may be empty)
``prompt_tokens``                          whole number >= 0 (estimated when absent: the
                                           question's tokens plus 20 for a Qwen2-VL chat
                                           template, ``converters.prompt_tokens``)
``onboard_output_tokens``,                 whole number >= 1 (estimated when absent: the
``ground_output_tokens``                   answer's tokens, ``converters.estimate_tokens``: one
                                           per word or number, long words one per 6 letters,
                                           one per punctuation mark; plus one end-of-sequence)
``onboard_confidence``,                    number in [0, 1]: the mean token probability of the
``ground_confidence``                      answer
``onboard_stage_confidence``               JSON list of numbers in [0, 1], one per generation
                                           stage
``onboard_wall_s``, ``ground_wall_s``      seconds >= 0, measured
``features``                               JSON list of finite numbers (image features V(x)),
                                           the same length on every row
``second_opinion_answer``                  text: a second onboard model's answer
``answer_similarity``                      number in [0, 1]
``split``                                  ``test`` or ``train`` (a held-apart training pool)
=========================================  =====================================================

``onboard_score`` / ``ground_score`` columns are ignored (the scores are always
computed from the answers); any other column is kept as it is (text), unless its
name is one letter or so away from a known column, which is reported as a
likely typo.  Mistakes are reported all at once, one line each, ``FILE:LINE:
column: what is wrong`` (the line of the CSV file; for Parquet ``FILE:row N``),
at most :data:`MAX_SHOWN` of them and then "... and N more", and nothing is
written.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from . import metrics
from .trace_cells import (Bad, Images, Problem, Source, as_json_list, as_seconds, as_text,
                          as_unit, as_whole, is_empty, portable_path, rows_csv, rows_parquet)
from .traces import Trace, write_trace

#: Problems listed before "... and N more".
MAX_SHOWN = 50
#: Rows accepted (the project's bound on sample counts).
MAX_ROWS = 10_000_000
#: Largest side of an image, in pixels.
MAX_SIDE_PX = 1_000_000
#: Template tokens assumed around the question (Qwen2-VL; ``converters.CHAT_TEMPLATE_TOKENS``).
TEMPLATE = "qwen2"

TASKS = tuple(sorted(metrics.SCORERS))

_TEXT_REQUIRED = {
    "onboard_answer": "the onboard model's answer",
    "ground_answer": "the ground model's answer",
    "reference_answer": "the ground truth",
}
_TOKENS = {"prompt_tokens": 0, "onboard_output_tokens": 1, "ground_output_tokens": 1}
_UNIT = ("onboard_confidence", "ground_confidence", "answer_similarity")
_SECONDS = ("onboard_wall_s", "ground_wall_s")
_IMAGE = ("image_path", "image_width_px", "image_height_px", "image_bytes")
_IGNORED = ("onboard_score", "ground_score")
KNOWN_COLUMNS = ("sample_id", "task", *_IMAGE, *_TEXT_REQUIRED, "question", *_TOKENS, *_UNIT,
                 *_SECONDS, "onboard_stage_confidence", "features", "second_opinion_answer",
                 "split", *_IGNORED)


def _line_number(where: str) -> int:
    tail = where.rsplit(":", 1)[-1].strip().removeprefix("row ")
    return int(tail) if tail.isdigit() else 0


class TraceImportError(InputError):
    """Every problem of a file; ``str()`` is a summary line and one line per problem."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        # in file order (a row's problems in column order; the header's first)
        self.problems = sorted(problems, key=lambda p: _line_number(p.where))
        super().__init__("\n".join([self.summary, *self.lines()]))

    @property
    def summary(self) -> str:
        n = len(self.problems)
        return f"{self.path}: {n} problem{'s' if n != 1 else ''}; nothing imported"

    def lines(self, limit: int = MAX_SHOWN) -> list[str]:
        out = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            out.append(f"... and {len(self.problems) - limit} more")
        return out


# --------------------------------------------------------------------------- checking


@dataclass
class _Checked:
    columns: dict[str, list] = field(default_factory=dict)
    references: list = field(default_factory=list)    # parsed for scoring
    tasks: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    estimated: dict[str, int] = field(default_factory=dict)
    size_basis: dict[str, int] = field(default_factory=dict)
    bytes_basis: dict[str, int] = field(default_factory=dict)


def _check_header(src: Source, task: str | None, problems: list[Problem]) -> tuple[set, list]:
    """Column-level problems; returns (the known columns present, extra columns kept)."""
    where = src.header_where
    header = src.header
    if not header:
        problems.append(Problem(where, "", "the file has no header line; expected the columns "
                                           "sample_id, task, image_path (or image_width_px and "
                                           "image_height_px), onboard_answer, ground_answer, "
                                           "reference_answer"))
        return set(), []
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name == "":
            problems.append(Problem(where, f"column {i}", "has no name"))
        elif name in seen:
            problems.append(Problem(where, name, f"appears twice (columns {seen[name]} and {i})"))
        else:
            seen[name] = i
    present = {c for c in header if c in KNOWN_COLUMNS}
    if "sample_id" not in present:
        problems.append(Problem(where, "sample_id", "missing column (required: a unique id "
                                                    "per sample)"))
    if "task" not in present and task is None:
        problems.append(Problem(where, "task", f"missing column; give a task column or --task "
                                               f"(one of {', '.join(TASKS)})"))
    for column, what in _TEXT_REQUIRED.items():
        if column not in present:
            problems.append(Problem(where, column, f"missing column (required: {what})"))
    has_w, has_h = "image_width_px" in present, "image_height_px" in present
    if "image_path" not in present and not (has_w and has_h):
        if has_w or has_h:
            other = "image_height_px" if has_w else "image_width_px"
            problems.append(Problem(where, other, "missing column (the image size needs both "
                                                  "image_width_px and image_height_px)"))
        else:
            problems.append(Problem(where, "image_path", "missing column; give image_path (an "
                                                         "image file per row) or "
                                                         "image_width_px and image_height_px"))
    extra = []
    for name in header:
        if name == "" or name in KNOWN_COLUMNS or name in extra:
            continue
        close = difflib.get_close_matches(name, [c for c in KNOWN_COLUMNS if c not in present],
                                          n=1, cutoff=0.85)
        if close:
            problems.append(Problem(where, name, f"unknown column; did you mean {close[0]!r}?"))
        else:
            extra.append(name)
    return present, extra


def _check_rows(src: Source, rows, present: set, extra: list, task: str | None,
                images: Images, problems: list[Problem]) -> _Checked:
    out = _Checked()
    cols = out.columns
    first_id: dict[str, str] = {}
    feature_len: tuple[int, str] | None = None
    names = ["sample_id", "task", "image_width_px", "image_height_px", "image_bytes",
             "prompt_tokens", "onboard_answer", "ground_answer", "reference_answer",
             "onboard_output_tokens", "ground_output_tokens", "question", *_UNIT, *_SECONDS,
             "onboard_stage_confidence", "features", "second_opinion_answer", "split",
             "image_path", *extra]
    for name in names:
        cols[name] = []
    count = 0
    for line, row in rows:
        count += 1
        if count > MAX_ROWS:
            problems.append(Problem(src.where(line), "", f"more than {MAX_ROWS:,} rows; split "
                                                         "the file"))
            break
        where = src.where(line)
        bad: list[Problem] = []

        def cell(column: str, check, *, required: bool = False, empty_msg: str = ""):
            value = row.get(column)
            if column not in row or is_empty(value):
                if required:
                    bad.append(Problem(where, column, empty_msg or "empty"))
                return None
            try:
                return check(value)
            except Bad as exc:
                bad.append(Problem(where, column, str(exc)))
                return None

        values: dict[str, Any] = {}
        # sample_id
        sid = cell("sample_id", lambda v: as_text(v).strip(), required="sample_id" in present,
                   empty_msg="empty; every sample needs an id")
        if sid is not None:
            if sid in first_id:
                bad.append(Problem(where, "sample_id", f"duplicate {sid!r} (first on "
                                                       f"{first_id[sid]})"))
            else:
                first_id[sid] = f"line {line}" if src.kind == "csv" else f"row {line}"
        values["sample_id"] = sid
        # task
        row_task = cell("task", lambda v: as_text(v).strip().lower())
        if row_task is None:
            row_task = task
            if row_task is None and "task" in present:
                bad.append(Problem(where, "task", "empty; give the task or --task"))
        if row_task is not None and row_task not in metrics.SCORERS:
            close = difflib.get_close_matches(row_task, TASKS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            column = "task" if "task" in row and not is_empty(row.get("task")) else "--task"
            bad.append(Problem(where, column, f"unknown task {row_task!r}{hint} (known: "
                                              f"{', '.join(TASKS)})"))
            row_task = None
        values["task"] = row_task
        # answers and the reference
        for column in _TEXT_REQUIRED:
            what = "empty reference (the ground truth)" if column == "reference_answer" else \
                "empty answer"
            values[column] = cell(column, as_text, required=column in present, empty_msg=what)
        reference = values["reference_answer"]
        parsed_ref: Any = reference
        if reference is not None and row_task == "detection":
            try:
                metrics.parse_box(reference)
            except InputError as exc:
                bad.append(Problem(where, "reference_answer", f"not a box: {exc}"))
        elif reference is not None and row_task == "vqa" and reference.lstrip().startswith("["):
            try:
                human = json.loads(reference)
            except json.JSONDecodeError as exc:
                bad.append(Problem(where, "reference_answer",
                                   f"bad JSON ({exc.msg} at character {exc.pos}); expected an "
                                   "answer or a JSON list of human answers"))
                human = None
            if human is not None:
                if not isinstance(human, list) or not human or \
                        not all(isinstance(h, str) for h in human):
                    bad.append(Problem(where, "reference_answer", "expected a JSON list of "
                                                                  "human answers (text)"))
                else:
                    parsed_ref = human
        # image
        width = cell("image_width_px", lambda v: as_whole(v, 1, MAX_SIDE_PX))
        height = cell("image_height_px", lambda v: as_whole(v, 1, MAX_SIDE_PX))
        nbytes = cell("image_bytes", lambda v: as_whole(v, 0))
        image = cell("image_path", lambda v: images.size(as_text(v)))
        path_text = None
        if image is not None:
            path, w, h, size = image
            for column, given, got in (("image_width_px", width, w),
                                       ("image_height_px", height, h)):
                if given is not None and given != got:
                    bad.append(Problem(where, column, f"{given} but the image {path.name} is "
                                                      f"{w} x {h} px"))
            width, height = w, h
            path_text = portable_path(path)
            out.size_basis["image_path"] = out.size_basis.get("image_path", 0) + 1
            if nbytes is None:
                nbytes = size
                out.bytes_basis["image file size"] = out.bytes_basis.get("image file size", 0) + 1
        elif "image_path" in row and not is_empty(row.get("image_path")):
            pass  # already reported
        elif "image_width_px" in present and "image_height_px" in present:
            for column, got in (("image_width_px", width), ("image_height_px", height)):
                if got is None and is_empty(row.get(column)):
                    bad.append(Problem(where, column, "empty; give the image size or an "
                                                      "image_path"))
            if width is not None and height is not None:
                out.size_basis["size columns"] = out.size_basis.get("size columns", 0) + 1
        elif "image_path" in present:
            bad.append(Problem(where, "image_path", "empty; give an image file (or "
                                                    "image_width_px and image_height_px "
                                                    "columns)"))
        if nbytes is None and width is not None and height is not None:
            nbytes = width * height * 3
            out.bytes_basis["raw 8-bit RGB"] = out.bytes_basis.get("raw 8-bit RGB", 0) + 1
        elif nbytes is not None and "image_bytes" in row and not is_empty(row.get("image_bytes")):
            out.bytes_basis["image_bytes column"] = out.bytes_basis.get("image_bytes column",
                                                                        0) + 1
        values.update(image_width_px=width, image_height_px=height, image_bytes=nbytes,
                      image_path=path_text or "")
        # question and tokens
        question = cell("question", as_text)
        values["question"] = question if question is not None else ""
        for column, low in _TOKENS.items():
            got = cell(column, lambda v, low=low: as_whole(v, low))
            if got is None and not (column in row and not is_empty(row.get(column))):
                out.estimated[column] = out.estimated.get(column, 0) + 1
                got = _estimate(column, values)
            values[column] = got
        # optional numbers and lists: required on every row once the column is there
        optional_msg = "empty; an optional column, once present, needs a value on every row"
        for column in _UNIT:
            values[column] = cell(column, as_unit, required=column in present,
                                  empty_msg=optional_msg)
        for column in _SECONDS:
            values[column] = cell(column, as_seconds, required=column in present,
                                  empty_msg=optional_msg)
        stage = cell("onboard_stage_confidence", as_json_list,
                     required="onboard_stage_confidence" in present, empty_msg=optional_msg)
        if stage is not None and not all(0 <= p <= 1 for p in stage):
            bad.append(Problem(where, "onboard_stage_confidence",
                               f"{next(p for p in stage if not 0 <= p <= 1)} is outside [0, 1]"))
        values["onboard_stage_confidence"] = stage
        feats = cell("features", as_json_list, required="features" in present,
                     empty_msg=optional_msg)
        if feats is not None:
            if feature_len is None:
                feature_len = (len(feats), f"line {line}" if src.kind == "csv" else f"row {line}")
            elif len(feats) != feature_len[0]:
                bad.append(Problem(where, "features", f"{len(feats)} numbers; the first row "
                                                      f"({feature_len[1]}) has "
                                                      f"{feature_len[0]}"))
        values["features"] = feats
        values["second_opinion_answer"] = cell("second_opinion_answer", as_text)
        split = cell("split", lambda v: as_text(v).strip().lower(), required="split" in present,
                     empty_msg=optional_msg)
        if split is not None and split not in ("test", "train"):
            bad.append(Problem(where, "split", f"{split!r}; expected test or train"))
        values["split"] = split
        for column in extra:
            value = row.get(column)
            values[column] = "" if is_empty(value) else (
                as_text(value) if src.kind == "csv" else value)
        problems.extend(bad)
        if bad:
            continue
        for name in names:
            cols[name].append(values.get(name))
        out.references.append(parsed_ref)
        out.tasks.append(values["task"])
        out.lines.append(where)
    if count == 0 and src.header:
        problems.append(Problem(src.header_where, "", "no data rows; expected one row per "
                                                      "sample after the header"))
    return out


def _estimate(column: str, values: dict) -> int | None:
    from .converters import estimate_tokens, output_tokens, prompt_tokens

    if column == "prompt_tokens":
        return prompt_tokens(values.get("question") or "", TEMPLATE)
    answer = values.get("onboard_answer" if column.startswith("onboard") else "ground_answer")
    return output_tokens(answer) if answer is not None else max(1, estimate_tokens(""))


# --------------------------------------------------------------------------- scoring


def _scores(checked: _Checked, problems: list[Problem]) -> tuple[list, list, dict]:
    """Both models' scores with the task metric; a detection answer without a box scores 0."""
    onboard, ground = [], []
    no_box = {"onboard_answer": 0, "ground_answer": 0}
    cols = checked.columns
    for i, (task, ref) in enumerate(zip(checked.tasks, checked.references)):
        row_scores = []
        for column in ("onboard_answer", "ground_answer"):
            answer = cols[column][i]
            try:
                value = float(metrics.score(task, answer, ref))
            except InputError as exc:
                if task == "detection" and "box" in str(exc):
                    no_box[column] += 1
                    value = 0.0
                else:
                    problems.append(Problem(checked.lines[i], column, f"cannot score it: {exc}"))
                    value = float("nan")
            if not 0.0 <= value <= 1.0:
                value = min(1.0, max(0.0, value)) if math.isfinite(value) else value
            row_scores.append(value)
        onboard.append(row_scores[0])
        ground.append(row_scores[1])
    return onboard, ground, {k.split("_")[0]: v for k, v in no_box.items() if v}


# --------------------------------------------------------------------------- the table


def _table(checked: _Checked, present: set, extra: list, onboard: list, ground: list
           ) -> pd.DataFrame:
    cols = checked.columns
    data: dict[str, Any] = {
        "sample_id": cols["sample_id"], "task": cols["task"],
        "image_width_px": np.asarray(cols["image_width_px"], dtype=np.int64),
        "image_height_px": np.asarray(cols["image_height_px"], dtype=np.int64),
        "image_bytes": np.asarray(cols["image_bytes"], dtype=np.int64),
        "prompt_tokens": np.asarray(cols["prompt_tokens"], dtype=np.int64),
        "onboard_answer": cols["onboard_answer"], "ground_answer": cols["ground_answer"],
        "onboard_score": np.asarray(onboard, dtype=float),
        "ground_score": np.asarray(ground, dtype=float),
        "onboard_output_tokens": np.asarray(cols["onboard_output_tokens"], dtype=np.int64),
        "ground_output_tokens": np.asarray(cols["ground_output_tokens"], dtype=np.int64),
        "reference_answer": cols["reference_answer"],
    }
    if "question" in present:
        data["question"] = cols["question"]
    for column in (*_UNIT, *_SECONDS):
        if column in present:
            data[column] = np.asarray(cols[column], dtype=float)
    for column in ("onboard_stage_confidence", "features", "second_opinion_answer", "split"):
        if column in present:
            data[column] = cols[column]
    if "image_path" in present:
        data["image_path"] = cols["image_path"]
    for column in extra:
        data[column] = cols[column]
    return pd.DataFrame(data)


# --------------------------------------------------------------------------- entry point


def target_of(source: Path, out: str | os.PathLike | None, name: str | None) -> Path:
    """Where the trace goes: ``--out``, else ``<source folder>/<name or source stem>.parquet``
    (``<stem>-trace.parquet`` when that is the source itself)."""
    if out is not None:
        target = Path(out)
        if target.suffix != ".parquet":
            target = target.with_name(target.name + ".parquet")
        if name is not None and name != target.stem:
            raise InputError(f"--name {name!r} and --out {str(out)!r} disagree: a trace's name "
                             "is its file name without .parquet; give one of them")
        return target
    stem = name or source.stem
    target = source.with_name(f"{stem}.parquet")
    if target.resolve() == source.resolve():
        target = source.with_name(f"{stem}-trace.parquet")
    return target


def check_file(source: str | os.PathLike, *, task: str | None = None
               ) -> tuple[pd.DataFrame, dict]:
    """Read and check ``source`` (CSV or Parquet); ``(table, facts for the metadata)``.

    Raises :class:`TraceImportError` with every problem found (nothing partial is
    returned), :class:`InputError` for a file that cannot be read at all.
    """
    path = Path(source)
    shown = str(source)
    if not path.is_file():
        raise InputError(f"{shown}: no such file" if not path.exists() else
                         f"{shown}: not a file; expected a .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputError(f"{shown}: expected a .csv or .parquet file")
    if task is not None:
        task = task.strip().lower()
        if task not in metrics.SCORERS:
            close = difflib.get_close_matches(task, TASKS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"--task: unknown task {task!r}{hint} (known: {', '.join(TASKS)})")
    src = Source(path, shown, "csv" if suffix == ".csv" else "parquet")
    problems: list[Problem] = []
    reader = rows_csv if src.kind == "csv" else rows_parquet
    rows = reader(src, problems)
    # the header comes with the first row: read it before checking the columns
    first = next(rows, None)
    present, extra = _check_header(src, task, problems)
    images = Images(path.parent)

    def all_rows():
        if first is not None:
            yield first
        yield from rows

    checked = _check_rows(src, all_rows(), present, extra, task, images, problems)
    if problems:
        raise TraceImportError(shown, problems)
    onboard, ground, no_box = _scores(checked, problems)
    if problems:
        raise TraceImportError(shown, problems)
    ignored = [c for c in _IGNORED if c in src.header]
    facts = {
        "format": src.kind,
        "rows": len(checked.lines),
        "tasks": sorted(set(checked.tasks)),
        "estimated": checked.estimated,
        "size_basis": checked.size_basis,
        "bytes_basis": checked.bytes_basis,
        "ignored_columns": ignored,
        "extra_columns": extra,
        "detection_answers_without_box": no_box,
    }
    return _table(checked, present, extra, onboard, ground), facts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_trace(source: str | os.PathLike, *, out: str | os.PathLike | None = None,
                 task: str | None = None, name: str | None = None,
                 models: tuple[str, str] | None = None, licence: str | None = None,
                 description: str | None = None) -> tuple[Path, Trace]:
    """Check ``source`` and write it as a trace; returns ``(parquet path, trace)``.

    Every problem of the file is raised at once (:class:`TraceImportError`) before
    anything is written.
    """
    from .. import __version__

    path = Path(source)
    target = target_of(path, out, name)
    if "synthetic" in target.stem.lower():
        raise InputError(f"{target}: 'synthetic' in a trace's file name is reserved for "
                         "synthetic traces; an imported trace is real")
    table, facts = check_file(source, task=task)
    onboard_model, ground_model = models or ("unspecified", "unspecified")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    estimated = {
        column: (f"{n} of {facts['rows']} rows: " + (
            f"the question's tokens + {_template_tokens()} chat-template tokens ({TEMPLATE})"
            if column == "prompt_tokens" else "the answer's tokens + 1 end-of-sequence token"))
        for column, n in facts["estimated"].items()}
    tasks = facts["tasks"]
    meta = {
        "name": target.stem,
        "source": description or f"imported from {path.name} by spaceverse traces import",
        "models": {"onboard": onboard_model, "ground": ground_model},
        "task": tasks[0] if len(tasks) == 1 else "mixed",
        "tasks": tasks,
        "licence": licence or "unspecified",
        "synthetic": False,
        "provenance": {
            "imported_from": path.name,
            "input_sha256": _sha256(path),
            "input_format": facts["format"],
            "input_rows": facts["rows"],
            "imported_utc": now,
            "importer": f"spaceverse {__version__} (spaceverse traces import)",
        },
        "scores": "computed from the answers and reference_answer with the task's metric "
                  "(simulator.inference.metrics.score)",
        "estimated": estimated,
        "token_estimate": "simulator.inference.converters.estimate_tokens: one token per word "
                          "or number (a long word one per 6 letters) and per punctuation mark",
        "image_size_basis": facts["size_basis"],
        "image_bytes_basis": facts["bytes_basis"],
        "created_utc": now,
    }
    if not estimated:
        del meta["estimated"], meta["token_estimate"]
    if facts["ignored_columns"]:
        meta["ignored_columns"] = {c: "recomputed from the answers" for c in
                                   facts["ignored_columns"]}
    if facts["extra_columns"]:
        meta["extra_columns"] = facts["extra_columns"]
    if facts["detection_answers_without_box"]:
        meta["detection_answers_without_box"] = {
            k: f"{v} answers hold no box x1, y1, x2, y2: scored 0"
            for k, v in facts["detection_answers_without_box"].items()}
    if not licence:
        meta["licence_note"] = "no --licence given: state the data's licence before sharing"
    trace = Trace(table, meta)
    if not target.parent.is_dir():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{target.parent}: cannot create the folder "
                             f"({exc.strerror or exc})") from None
    written = write_trace(trace, target)
    return written, Trace(table, {**meta, "name": written.stem}, path=written)


def _template_tokens() -> int:
    from .converters import CHAT_TEMPLATE_TOKENS

    return CHAT_TEMPLATE_TOKENS[TEMPLATE]

