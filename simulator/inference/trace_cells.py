"""Reading a table of answers for :mod:`simulator.inference.trace_import`: rows with the line
they start on, one parser per kind of cell, image sizes.

A parser returns the value or raises :class:`Bad` with what is wrong (the caller adds the
place and the column).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputError


class Problem(NamedTuple):
    """One mistake: where (``FILE:LINE`` or ``FILE:row N``), the column, what is wrong.

    A triple like a :class:`~simulator.config.ScenarioError`'s ``problems``.
    """

    where: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.column}: {self.message}" if self.column else \
            f"{self.where}: {self.message}"


# --------------------------------------------------------------------------- reading


@dataclass
class Source:
    path: Path
    shown: str                          # the path as the user gave it
    kind: str                           # csv or parquet
    header: list[str] = field(default_factory=list)
    header_where: str = ""

    def where(self, line: int) -> str:
        return f"{self.shown}:{line}" if self.kind == "csv" else f"{self.shown}:row {line}"


def rows_csv(src: Source, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    """``(line, {column: text})`` of every data row (blank lines skipped)."""
    try:
        handle = open(src.path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{src.shown}: cannot read ({exc.strerror or exc})") from None
    limit = csv.field_size_limit(64 << 20)  # long JSON feature lists; restored below
    with handle:
        reader = csv.reader(handle)
        last = 0
        try:
            header = None
            for record in reader:
                start, last = last + 1, reader.line_num
                if not record or all(c.strip() == "" for c in record):
                    continue
                if header is None:
                    header = [c.strip() for c in record]
                    src.header, src.header_where = header, src.where(start)
                    continue
                if len(record) != len(header):
                    problems.append(Problem(src.where(start), "",
                                            f"{len(record)} fields; the header has "
                                            f"{len(header)}"))
                    continue
                yield start, dict(zip(header, record))
        except UnicodeDecodeError:
            raise InputError(f"{src.shown}: not UTF-8 text after line {last}; expected a "
                             "UTF-8 CSV file") from None
        except csv.Error as exc:
            problems.append(Problem(src.where(reader.line_num), "", f"not CSV: {exc}"))
        finally:
            csv.field_size_limit(limit)
        if header is None:
            src.header_where = src.where(1)


def rows_parquet(src: Source, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    try:
        frame = pd.read_parquet(src.path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(f"{src.shown}: cannot read as Parquet ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    src.header = [str(c) for c in frame.columns]
    src.header_where = src.shown
    columns = list(frame.columns)
    for i, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        yield i, {str(c): v for c, v in zip(columns, values)}


# --------------------------------------------------------------------------- cells


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float) and math.isnan(value):
        return True
    return bool(np.ndim(value) == 0 and pd.isna(value))


def show(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


class Bad(ValueError):
    """A cell that is not what its column needs (the message says why)."""


def as_number(value: Any) -> float:
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise Bad(f"{show(value)} is not a number") from None
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise Bad(f"{show(value)} is not a number")
    else:
        number = float(value)
    if not math.isfinite(number):
        raise Bad(f"{show(value)} is not a finite number")
    return number


def as_whole(value: Any, low: int, high: int | None = None) -> int:
    try:
        number = as_number(value)
    except Bad:
        raise Bad(f"{show(value)} is not a whole number") from None
    if not number.is_integer():
        raise Bad(f"{show(value)} is not a whole number")
    if number < low or (high is not None and number > high):
        span = f">= {low}" if high is None else f"from {low} to {high:,}"
        raise Bad(f"{show(value)}; expected a whole number {span}")
    return int(number)


def as_unit(value: Any) -> float:
    number = as_number(value)
    if not 0 <= number <= 1:
        raise Bad(f"{show(value)} is outside [0, 1]")
    return number


def as_seconds(value: Any) -> float:
    number = as_number(value)
    if number < 0:
        raise Bad(f"{show(value)} is negative; expected seconds >= 0")
    return number


def as_json_list(value: Any) -> list:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise Bad(f"bad JSON ({exc.msg} at character {exc.pos}); expected a JSON list "
                       "such as [0.1, 0.2]") from None
        except RecursionError:
            raise Bad("JSON nested too deeply; expected a flat list of numbers") from None
    elif isinstance(value, (list, tuple, np.ndarray)):
        parsed = list(value)
    else:
        raise Bad(f"{show(value)} is not a JSON list")
    if not isinstance(parsed, list):
        raise Bad(f"JSON {type(parsed).__name__}, not a list; expected a list such as "
                   "[0.1, 0.2]")
    if not parsed:
        raise Bad("an empty list; expected at least one number")
    out = []
    for item in parsed:
        if isinstance(item, bool) or not isinstance(item, (int, float, np.number)) \
                or not math.isfinite(float(item)):
            raise Bad(f"{show(item)} in the list is not a finite number")
        out.append(float(item))
    return out


def as_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        raise Bad("bytes, not text")
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------- images


class Images:
    """Sizes and bytes of image files, each read once (only the header is decoded)."""

    def __init__(self, base: Path):
        self.base = base
        self.cache: dict[Path, tuple[int, int, int] | str] = {}

    def resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base / path

    def size(self, text: str) -> tuple[Path, int, int, int]:
        path = self.resolve(text)
        if path not in self.cache:
            self.cache[path] = self._read(path)
        got = self.cache[path]
        if isinstance(got, str):
            raise Bad(f"{show(text)}: {got}")
        return (path, *got)

    @staticmethod
    def _read(path: Path) -> tuple[int, int, int] | str:
        from PIL import Image, UnidentifiedImageError

        if not path.exists():
            return f"no such file ({path})"
        if not path.is_file():
            return f"not a file ({path})"
        try:
            with Image.open(path) as image:
                width, height = image.size
            return int(width), int(height), path.stat().st_size
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())[:120]
            return f"cannot read it as an image ({reason})"
        except Image.DecompressionBombError as exc:
            return f"refused: {exc}"


def portable_path(path: Path) -> str:
    """An image path as the compression stage resolves it: relative to the project root when
    the image is under it, else absolute."""
    from ..paths import project_root

    resolved = path.resolve()
    try:
        return resolved.relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return str(resolved)
