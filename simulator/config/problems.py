"""Where a problem in a scenario is, and how to say it in one line.

Every mistake in a scenario file ends as one :class:`ScenarioError` whose text
is a single line ``FILE:LINE: FIELD.PATH: what is wrong``.  This module holds
the vocabulary for that line, shared by the YAML reader, the schema and the
sweep files:

* a *field path* is a tuple of mapping keys and list indexes,
  ``("ground_stations", 0, "name")``, written ``ground_stations[0].name``
  (:func:`_format_path`; :func:`_parse_field_path` reads it back);
* a *location* is ``FILE:LINE``, ``FILE (from --set)`` or ``FILE``
  (:func:`_where` finds it from a line map, see :mod:`.yaml_source`);
* a value is shown as the user wrote it in YAML (:func:`_show`: ``'fast'``,
  ``-3``, ``true``, ``null``), shortened, with control characters escaped, so a
  hostile value can neither flood the terminal nor break the line;
* several problems share the line, joined by ``"; "`` (:func:`_combine`).

>>> _format_path(("ground_stations", 0, "name"))
'ground_stations[0].name'
>>> _parse_field_path("ground_stations[0].name")
('ground_stations', 0, 'name')
>>> _show("a\\x1b[2Jb"), _show(2.0), _show(None), _show(list(range(100)))
("'a\\\\x1b[2Jb'", '2', 'null', '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11...')
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping, Sequence, Union

from ..errors import InputError

#: How many problems one error message lists before saying "(and N more)".
MAX_PROBLEMS = 5

#: Longest key shown in a field path of a message; longer (hostile) keys are cut.
_MAX_KEY_SHOWN = 60

Path_ = tuple[Union[str, int], ...]


class ScenarioError(InputError):
    """A scenario that cannot be used; ``str(error)`` is the one-line message.

    ``problems`` holds one ``(location, field_path, message)`` triple per problem
    (``location`` is ``FILE:LINE``, ``FILE (from --set)`` or ``FILE``), for
    programs (an editor plugin, a test) that want them one by one.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str, str]] = ()):
        super().__init__(message)
        self.problems = list(problems)


class _FieldProblem(ValueError):
    """A model-level validation error that belongs to one sub-field.

    Pydantic reports errors of a model validator at the model's own path; raising
    this instead lets the message (and its line number) name the sub-field, e.g.
    ``link.trace`` rather than ``link``.
    """

    def __init__(self, field: str | Path_, message: str):
        super().__init__(message)
        self.field: Path_ = (field,) if isinstance(field, str) else tuple(field)


# ---------------------------------------------------------------------------
# field paths
# ---------------------------------------------------------------------------

def _parse_field_path(text: str) -> Path_:
    """``"ground_stations[0].name"`` or ``"ground_stations.0.name"`` -> path tuple."""
    parts: list = []
    for part in re.sub(r"\[(\d+)\]", r".\1", text.strip()).split("."):
        parts.append(int(part) if part.isdigit() and part.isascii() else part)
    return tuple(parts)


def _printable(text: str) -> str:
    """``text`` with control and other non-printable characters escaped (``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _format_path(path: Path_) -> str:
    """``("ground_stations", 0, "name")`` -> ``ground_stations[0].name``.

    Keys are shown printable and at most ``_MAX_KEY_SHOWN`` characters long.
    """
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            key = _printable(str(part)) if part != "" else "''"
            if len(key) > _MAX_KEY_SHOWN:
                key = key[:_MAX_KEY_SHOWN - 3] + "..."
            out += ("." if out else "") + key
    return out


# ---------------------------------------------------------------------------
# values as the user wrote them
# ---------------------------------------------------------------------------

def _show(value: Any, limit: int = 40) -> str:
    """A value as the user wrote it in YAML: ``'fast'``, ``-3``, ``true``, ``null``.

    At most ``limit`` characters (``...`` marks a cut); containers are rendered
    only as far as the limit reaches, so a huge value costs no more than a small one.
    """
    text = _render(value, limit + 1)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _render(value: Any, budget: int) -> str:
    """:func:`_show` without the cut; stops adding items once ``budget`` is spent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        if value.bit_length() > 256:  # str() of a huge int is slow, or refused past 4300 digits
            return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
        return repr(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return repr(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return _render_items(((f"{_printable(str(k))}: ", v) for k, v in value.items()),
                             "{", "}", budget)
    if isinstance(value, (list, tuple)):
        return _render_items((("", v) for v in value), "[", "]", budget)
    text = str(value)
    return repr(text[:budget + 2] if len(text) > budget + 2 else text)


def _render_items(items, opening: str, closing: str, budget: int) -> str:
    parts, used = [], len(opening)
    for prefix, item in items:
        if used > budget:
            parts.append("...")
            break
        part = prefix + _render(item, budget - used)
        parts.append(part)
        used += len(part) + 2
    return opening + ", ".join(parts) + closing


def _kind_of(value: Any) -> str:
    """What a value is, in words: ``a number (3)``, ``text ('x')``, ``a mapping``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"true/false ({_show(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({_show(value)})"
    if isinstance(value, str):
        return f"text ({_show(value)})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} ({_show(value)})"


def _one_line(text: str) -> str:
    """``text`` on one line: every run of whitespace (newlines included) -> one space."""
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------
# locations and the combined message
# ---------------------------------------------------------------------------

def _where(source: str, path: Path_, lines: Mapping, from_set: Sequence[Path_]) -> str:
    """``FILE:LINE`` of ``path`` (longest known prefix), or ``FILE (from --set)``.

    ``lines`` maps field paths to 1-based lines (a dict, or the line map of
    :func:`~.yaml_source._read_yaml`); ``from_set`` lists the paths ``--set`` wrote.
    A line map of a scenario merged over its bases (:class:`~.bases._ChainLines`)
    also says which file wrote each path (``source_of``); ``source`` is then the
    name of the scenario's own file.
    """
    for override in from_set:
        if path[:len(override)] == override:
            return f"{source} (from --set)"
    if path not in lines:
        for override in from_set:
            if override[:len(path)] == path:
                return f"{source} (from --set)"
    source_of = getattr(lines, "source_of", None)
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            file = (source_of(path[:cut]) if source_of is not None else None) or source
            return f"{file}:{lines[path[:cut]]}"
    return source


def _line_of(location: str) -> int:
    match = re.search(r":(\d+)$", location)
    return int(match.group(1)) if match else 0


def _combine(problems: Sequence[tuple[str, str, str]]) -> ScenarioError:
    """One :class:`ScenarioError` for several problems, on one line, in line order."""
    problems = sorted(dict.fromkeys(problems), key=lambda p: (_line_of(p[0]), p[1]))
    parts = [f"{where}: {field}: {text}" if field else f"{where}: {text}"
             for where, field, text in problems[:MAX_PROBLEMS]]
    message = "; ".join(parts)
    if len(problems) > MAX_PROBLEMS:
        message += f" (and {len(problems) - MAX_PROBLEMS} more)"
    return ScenarioError(message, problems)
