"""Reading a settings file: YAML with line numbers, within limits.

Scenario files and sweep files are read here, the same way.  Three jobs:

**Line numbers.**  We compose the YAML ourselves (:class:`_Loader`), so every
key and list item knows the line it was written on.  The line map
(:class:`_LineMap`) answers "on which line is ``("link", "rate_mbps")``?" by
walking the composed node graph.  Each distinct node is indexed once, when the
composer finishes it, so an alias (``*anchor``) costs one table entry however
often it repeats its anchor; a path through an alias is answered with the
lines of the anchor.  Duplicate keys (the same key twice in one mapping) are
reported with both lines.

**Merge keys.**  ``<<: *base`` and ``<<: [*a, *b]`` follow YAML's merge
semantics: keys written in the mapping win over merged ones, and an earlier
merged mapping wins over a later one.  Merging is not duplication: a key that
overrides a merged key is fine.

**Limits.**  A settings file is a few kilobytes, but the file may come from
anyone, and YAML can make a small text large: ten aliases of ten aliases of ...
("billion laughs") expand to 10^9 values in a few hundred bytes.  So:

* the text is at most :data:`MAX_FILE_BYTES` (checked before parsing, and for
  files before reading them whole);
* the document expands to at most :data:`MAX_NODES` values, aliases counted as
  what they repeat: counted while composing, an alias bomb is refused at the
  alias that crosses the limit before anything is built;
* mappings and lists nest at most :data:`MAX_DEPTH` levels (deeper would hit
  Python's recursion limit), an alias may not refer to its own ancestor;
* integers fit in 64 bits (Python refuses ``str()`` of huge ones);
* only JSON-like values are built: text, numbers, true/false, null, dates,
  lists and mappings (``!!python/...`` tags and ``!!binary``, ``!!set``,
  ``!!omap``, ``!!pairs`` are refused); keys are taken as the text they are
  written as (``7:``, ``null:`` and ``true:`` are the keys ``'7'``,
  ``'null'`` and ``'true'``), so an unknown one is reported as written, at its
  line; a list or mapping as a key is refused.

Every problem is one :class:`~.problems.ScenarioError` line naming the file and,
where known, the line.

>>> data, lines = _read_yaml("base: &b {x: 1, y: 2}\\nuse:\\n  <<: *b\\n  y: 3\\n", "f.yaml")
>>> data["use"], lines[("use", "y")], lines[("use", "x")]
({'x': 1, 'y': 3}, 4, 1)
>>> _read_yaml("a: &a [1, 1]\\nb: &b [*a, *a]\\nc: [*b, *b]\\n", "f.yaml")[0]["c"]
[[[1, 1], [1, 1]], [[1, 1], [1, 1]]]
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from ..fileio import read_user_bytes
from .problems import Path_, ScenarioError, _combine, _format_path, _kind_of, _one_line

logger = logging.getLogger(__name__)

#: Largest settings file, in bytes (characters for a string): a scenario is a few
#: KB (the largest bundled one is 4 KB); a megabyte is 250 times that, and every
#: text under it parses in seconds at most.
MAX_FILE_BYTES = 1_000_000

#: Most values a document may expand to, aliases counted as what they repeat: far
#: more than any scenario or sweep needs (the default scenario has about 100),
#: few enough to build and validate in well under a second.
MAX_NODES = 100_000

#: Deepest nesting of lists and mappings (a scenario needs 5 or 6 levels).
MAX_DEPTH = 64

#: Longest integer literal, in characters, before it is even converted (a 64-bit
#: integer in binary notation is 66).
_MAX_INT_CHARS = 100

_MERGE = "tag:yaml.org,2002:merge"
_SURROGATE = re.compile("[\ud800-\udfff]")


class _LimitError(yaml.MarkedYAMLError):
    """A document that is valid YAML but exceeds a limit of settings files."""

    def __init__(self, problem: str, mark: yaml.Mark | None):
        super().__init__(problem=problem, problem_mark=mark)


def _bad_value(node: yaml.Node, what: str, detail: str = "") -> yaml.constructor.ConstructorError:
    """``'abc' is not an integer``, at the node's line (``what`` says what it should be)."""
    shown = node.value if isinstance(node.value, str) else "?"
    shown = repr(shown if len(shown) <= 40 else shown[:37] + "...")
    return yaml.constructor.ConstructorError(
        None, None, f"{shown} is not {what}{detail}", node.start_mark)


# ---------------------------------------------------------------------------
# the loader
# ---------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that indexes lines while composing and enforces the limits.

    While composing it keeps, per node (by ``id``): the expanded size (values
    under it, aliases counted as what they repeat), and for lists and mappings
    a table ``key or index -> (line, child table)`` that :class:`_LineMap`
    walks.  A mapping's table already applies merge keys.  Construction
    (:meth:`construct_mapping`) uses the same merged entries, so the data and
    the line map always agree, and the composed nodes are never modified.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._expanded = 0                    # values so far, aliases counted in full
        self._depth = 0
        self._size: dict[int, int] = {}       # id(finished node) -> expanded size
        self._serial: dict[int, int] = {}     # id(list or mapping node) -> table number
        self._tables: dict[int, tuple[bool, dict]] = {}   # table number -> (is list, entries)
        self._entries: dict[int, dict] = {}   # id(mapping node) -> key -> (line, value node)
        self._child_lines: dict[int, list[int]] = {}  # id(open node) -> line of each child
        self.duplicates: list[tuple[int, str, int, int]] = []  # (table, key, line, first)

    # -- composing: sizes, depth, lines ------------------------------------------

    def _count(self, size: int, mark: yaml.Mark, alias: str | None = None) -> None:
        self._expanded += size
        if self._expanded > MAX_NODES:
            what = f"the alias *{alias}" if alias else "this value"
            raise _LimitError(f"{what} makes the document expand to more than {MAX_NODES:,} "
                              f"values (limit of a settings file; an alias bomb?)", mark)

    def compose_node(self, parent, index):
        event = self.peek_event()
        if parent is not None:
            self._child_lines.setdefault(id(parent), []).append(event.start_mark.line + 1)
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._size.get(id(node))
            if size is None:
                raise _LimitError(f"the alias *{event.anchor} refers to a mapping or list that "
                                  f"contains it (a recursive alias; settings are a tree)",
                                  event.start_mark)
            self._count(size, event.start_mark, event.anchor)
            return node
        if self._depth >= MAX_DEPTH:
            raise _LimitError(f"lists and mappings nest more than {MAX_DEPTH} levels deep here "
                              f"(limit of a settings file)", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        self._size[id(node)] = 1
        self._count(1, node.start_mark)
        return node

    def compose_sequence_node(self, anchor):
        node = super().compose_sequence_node(anchor)
        lines = self._child_lines.pop(id(node), [])
        self._add_table(node, True, {i: (line, self._serial.get(id(item)))
                                     for i, (line, item) in enumerate(zip(lines, node.value))})
        self._size[id(node)] = 1 + sum(self._size[id(item)] for item in node.value)
        self._count(1, node.start_mark)
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        lines = self._child_lines.pop(id(node), [])
        entries, duplicates = self._merged_entries(node, lines[0::2])
        self._entries[id(node)] = entries
        table = self._add_table(node, False, {key: (line, self._serial.get(id(value)))
                                              for key, (line, value) in entries.items()})
        self.duplicates.extend((table, *duplicate) for duplicate in duplicates)
        self._size[id(node)] = 1 + sum(self._size[id(k)] + self._size[id(v)]
                                       for k, v in node.value)
        self._count(1, node.start_mark)
        return node

    def _add_table(self, node: yaml.Node, is_list: bool, entries: dict) -> int:
        serial = self._serial[id(node)] = len(self._serial)
        self._tables[serial] = (is_list, entries)
        return serial

    def _merged_entries(self, node: yaml.MappingNode,
                        key_lines: list[int]) -> tuple[dict, list[tuple[str, int, int]]]:
        """``key -> (line, value node)`` of a finished mapping, merge keys applied,
        and its duplicate keys as ``(key, line, first line)``.

        Written keys win over merged ones (wherever the ``<<`` stands); among
        merged mappings the earlier wins.  Of a key written twice the later
        value wins, as in every YAML loader (the reader reports it anyway).
        """
        duplicates: list[tuple[str, int, int]] = []
        written: dict[str, tuple[int, yaml.Node]] = {}
        order: list = []  # a key, or the list of mapping nodes one "<<" merges
        for (key_node, value_node), line in zip(node.value, key_lines):
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) \
                    else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode) \
                            or id(source) not in self._entries:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            f"expected a mapping or list of mappings for merging, but found "
                            f"{source.id}", source.start_mark)
                order.append(sources)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a plain name, not a {kind}", key_node.start_mark)
            key = key_node.value
            if _SURROGATE.search(key):
                raise _bad_value(key_node, "a valid key",
                                 " (it holds half of a UTF-16 surrogate pair)")
            if key in written:
                duplicates.append((key, line, written[key][0]))
            else:
                order.append(key)
            written[key] = (line, value_node)
        entries: dict[str, tuple[int, yaml.Node]] = {}
        for item in order:
            if isinstance(item, str):
                entries[item] = written[item]
                continue
            for source in item:
                for key, entry in self._entries[id(source)].items():
                    if key not in written and key not in entries:
                        entries[key] = entry
        return entries, duplicates

    # -- constructing: JSON-like values only -------------------------------------

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode) or id(node) not in self._entries:
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found {node.id}", node.start_mark)
        return {key: self.construct_object(value, deep=deep)
                for key, (line, value) in self._entries[id(node)].items()}

    def construct_yaml_str(self, node):
        value = super().construct_yaml_str(node)
        if _SURROGATE.search(value):
            raise _bad_value(node, "valid text", " (it holds half of a UTF-16 surrogate pair; "
                                                 "write the character itself)")
        return value

    def construct_yaml_int(self, node):
        text = node.value.replace("_", "") if isinstance(node.value, str) else ""
        if len(text) > _MAX_INT_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {len(text):,} characters is too large (integers in "
                            f"a settings file fit in 64 bits; write 1e30 for a huge number)",
                node.start_mark)
        try:
            value = super().construct_yaml_int(node)
        except (ValueError, IndexError, TypeError):  # !!int "" or !!int abc
            raise _bad_value(node, "an integer") from None
        if value.bit_length() > 64:
            raise yaml.constructor.ConstructorError(
                None, None, "the integer is too large (integers in a settings file fit in 64 "
                            "bits; write 1e30 for a huge number)", node.start_mark)
        return value

    def construct_yaml_float(self, node):
        try:
            return super().construct_yaml_float(node)
        except (ValueError, IndexError, TypeError, OverflowError):  # !!float abc
            raise _bad_value(node, "a number") from None

    def construct_yaml_bool(self, node):
        try:
            return super().construct_yaml_bool(node)
        except (KeyError, AttributeError, TypeError):  # !!bool maybe
            raise _bad_value(node, "true or false") from None

    def construct_yaml_timestamp(self, node):
        """An impossible date (``2026-13-45``) is an error at its line, not a traceback."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError, AttributeError, TypeError) as exc:
            detail = f" ({exc})" if isinstance(exc, (ValueError, OverflowError)) else ""
            raise _bad_value(node, "a valid date or time", detail) from None

    def construct_refused(self, node):
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {tag} is not used in settings files (values are text, "
                        f"numbers, true/false, null, dates, lists and mappings)", node.start_mark)


for _tag, _method in [("str", _Loader.construct_yaml_str), ("int", _Loader.construct_yaml_int),
                      ("float", _Loader.construct_yaml_float),
                      ("bool", _Loader.construct_yaml_bool),
                      ("timestamp", _Loader.construct_yaml_timestamp),
                      ("binary", _Loader.construct_refused), ("set", _Loader.construct_refused),
                      ("omap", _Loader.construct_refused), ("pairs", _Loader.construct_refused)]:
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _method)


# ---------------------------------------------------------------------------
# the line map
# ---------------------------------------------------------------------------

class _LineMap(Mapping):
    """Field path -> 1-based line where it is written, looked up through the tables.

    ``lines[()]`` is the line the document starts on; ``lines[("link",
    "rate_mbps")]`` the line of that key; ``lines[("ground_stations", 0)]`` the
    line of that item.  A path through an alias gets the anchor's lines.  It is
    a read-only :class:`~typing.Mapping` of plain numbers (picklable, small):
    iterating it lists every path, aliases expanded.
    """

    def __init__(self, root_line: int, root: int | None, tables: dict[int, tuple[bool, dict]]):
        self._root_line = root_line
        self._root = root
        self._tables = tables

    def __getitem__(self, path: Path_) -> int:
        if not isinstance(path, tuple):
            raise KeyError(path)
        line, table = self._root_line, self._root
        for part in path:
            if table is None:
                raise KeyError(path)
            is_list, entries = self._tables[table]
            if isinstance(part, bool) or (is_list and not isinstance(part, int)):
                raise KeyError(path)
            entry = entries.get(part if is_list else str(part))
            if entry is None:
                raise KeyError(path)
            line, table = entry
        return line

    def __iter__(self) -> Iterator[Path_]:
        yield ()
        stack = [((), self._root)]
        while stack:
            path, table = stack.pop()
            if table is None:
                continue
            for key, (line, child) in self._tables[table][1].items():
                yield path + (key,)
                stack.append((path + (key,), child))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"_LineMap({len(self._tables)} tables, starting on line {self._root_line})"

    def path_to(self, table: int) -> Path_:
        """The first path (breadth first) that reaches ``table``."""
        queue, seen = [((), self._root)], set()
        while queue:
            path, serial = queue.pop(0)
            if serial == table:
                return path
            if serial is None or serial in seen:
                continue
            seen.add(serial)
            queue.extend((path + (key,), child)
                         for key, (line, child) in self._tables[serial][1].items())
        return ()


# ---------------------------------------------------------------------------
# reading text and files
# ---------------------------------------------------------------------------

def _read_yaml(text: str, source: str, *,
               empty: str = "the scenario is empty (expected a YAML mapping of settings, "
                            "e.g. 'name: my-run')",
               top: str = "a mapping of settings at the top level (key: value lines, e.g. "
                          "'name: my-run')") -> tuple[dict, _LineMap]:
    """Parse ``text``; return the top-level mapping and its line map (:class:`_LineMap`).

    ``empty`` is the message for a text with no content, ``top`` what the top
    level must be (scenario files by default; sweep files pass their own).
    Raises :class:`~.problems.ScenarioError` with one line for every problem.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: {len(text):,} characters, more than the "
                            f"{MAX_FILE_BYTES:,} a settings file may have (scenarios and "
                            f"sweeps are a few KB)")
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _LimitError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ScenarioError(f"{where}: {exc.problem}", [(where, "", exc.problem)]) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, source) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, ...)
        line = text[:exc.position].count("\n") + 1
        raise ScenarioError(f"{source}:{line}: YAML syntax error: character "
                            f"#x{exc.character:04x} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: YAML syntax error: {_one_line(str(exc))}") from None
    except RecursionError:  # the limits above should make this unreachable
        raise ScenarioError(f"{source}: the YAML is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None or data is None:
        raise ScenarioError(f"{source}: {empty}")
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}:{node.start_mark.line + 1}: expected {top}, "
                            f"got {_kind_of(data)}")
    lines = _LineMap(node.start_mark.line + 1, loader._serial.get(id(node)), loader._tables)
    if loader.duplicates:
        problems = [(f"{source}:{line}", _format_path(lines.path_to(table) + (key,)),
                     f"duplicate key (first given on line {first})")
                    for table, key, line, first in loader.duplicates]
        raise _combine(problems)
    return data, lines


def _yaml_error(exc: yaml.MarkedYAMLError, source: str) -> ScenarioError:
    """One line for a YAML syntax (or construction) error, at its line."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    problem = exc.problem or exc.context or "cannot parse"
    if isinstance(exc, yaml.constructor.ConstructorError):  # valid YAML, unusable value
        problem = _value_problem(exc)
        return ScenarioError(f"{where}: {problem}", [(where, "", problem)])
    if problem.startswith("but found another document"):
        return ScenarioError(f"{where}: YAML syntax error: a second YAML document starts here "
                             f"(a scenario is a single document; remove the '---' line)")
    if exc.context and exc.problem:
        context = exc.context
        if exc.context_mark is not None and mark is not None \
                and exc.context_mark.line != mark.line:
            context += f" that starts on line {exc.context_mark.line + 1}"
        problem = f"{problem} ({context})"
    if "'\\t'" in problem or "\\t" in problem:
        problem += "; indent with spaces, not tabs"
    return ScenarioError(f"{where}: YAML syntax error: {_one_line(problem)}",
                         [(where, "", f"YAML syntax error: {_one_line(problem)}")])


def _value_problem(exc: yaml.constructor.ConstructorError) -> str:
    """The problem of a value YAML could parse but we do not build, in plain words."""
    problem = exc.problem or exc.context or "cannot build the value"
    tag = re.match(r"could not determine a constructor for the tag '(.*)'$", problem)
    if tag:
        problem = (f"unknown YAML tag {tag.group(1).replace('tag:yaml.org,2002:', '!!')} "
                   f"(settings files hold plain values: text, numbers, true/false, null, "
                   f"dates, lists and mappings)")
    return _one_line(problem)


def _read_source_text(path: str | Path, source: str, what: str,
                      error: type[ScenarioError] = ScenarioError) -> str:
    """The text of the settings file ``path``, refused before reading if it is too big.

    ``source`` is how the user wrote the path, ``what`` the kind of file
    (``"scenario"``, ``"sweep"``), ``error`` the exception class to raise.  A
    regular file is measured before it is read; anything else (a device, a pipe)
    is read only up to the limit.  The text is UTF-8 (a BOM is dropped).
    """
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size if file.is_file() else None
    except (OSError, ValueError):
        size = None
    if size is not None and size > MAX_FILE_BYTES:
        raise error(_too_big(source, what, size))
    try:
        if size is None:  # not a plain file: read at most what a settings file may hold
            with open(file, "rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)
        else:
            raw = read_user_bytes(file, source=source, what=what, error=error)
    except ValueError as exc:  # a NUL in the name
        raise error(f"{_one_line(repr(source))}: not a valid file name ({exc})") from None
    except OSError:  # let the shared reader word it like every other file error
        raw = read_user_bytes(file, source=source, what=what, error=error)
    if len(raw) > MAX_FILE_BYTES:
        raise error(_too_big(source, what, len(raw), at_least=size is None))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error(f"{source}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); save the "
                    f"{what} file as UTF-8") from None


def _too_big(source: str, what: str, size: int, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (f"{source}: the file is {more}{size / 1e6:,.1f} MB, more than the "
            f"{MAX_FILE_BYTES / 1e6:g} MB a {what} file may have (a {what} is a few KB; is "
            f"this the right file?)")


def _guard_data(data: Any, source: str) -> None:
    """Refuse Python data that expands past :data:`MAX_NODES` values or
    :data:`MAX_DEPTH` levels, or that contains itself, before anything walks it in full.

    YAML aliases become shared Python objects, and validation (pydantic, JSON
    dumps) sees every repetition; this measures each distinct object once
    (memoised by ``id``), without recursion, so even a structure that would
    expand to 10^9 items costs only its distinct objects.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        value, finished = stack.pop()
        if not isinstance(value, (dict, list, tuple)):
            continue
        key = id(value)
        children = list(value.values()) if isinstance(value, dict) else list(value)
        if finished:
            open_.discard(key)
            inner = [c for c in children if isinstance(c, (dict, list, tuple))]
            size[key] = 1 + len(children) - len(inner) + sum(size[id(c)] for c in inner)
            height[key] = 1 + max((height[id(c)] for c in inner), default=0)
            if size[key] > MAX_NODES:
                raise ScenarioError(f"{source}: the settings expand to more than {MAX_NODES:,} "
                                    f"values (limit of a settings file)")
            if height[key] > MAX_DEPTH + 8:  # a --set path may add a few levels to a file's
                raise ScenarioError(f"{source}: the settings nest more than {MAX_DEPTH} levels "
                                    f"deep (limit of a settings file)")
            continue
        if key in size:
            continue
        if key in open_:
            raise ScenarioError(f"{source}: the settings contain themselves (a recursive "
                                f"structure)")
        open_.add(key)
        stack.append((value, True))
        stack.extend((c, False) for c in children if isinstance(c, (dict, list, tuple)))
