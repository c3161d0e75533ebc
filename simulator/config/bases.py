"""``base: other.yaml``: a scenario that starts from another scenario and changes it.

A scenario file may name, at its top, the scenario it starts from::

    base: default.yaml        # relative to this file's folder
    name: paper-at-50-mbps
    link: {rate_mbps: 50}

The result is the base with the file's keys laid over it, by the rules of a
JSON Merge Patch (RFC 7386): mappings merge key by key, recursively; lists and
scalars replace the base's value whole; ``key: null`` drops the inherited
value, so the key takes its default as if neither file had written it (``policy:
{params: null}`` clears the base's policy parameters, ``constellation:
{catalog: null, select: null, walker: {...}}`` swaps a catalog for a shell).
The base may have a base of its own (a chain of at most :data:`MAX_BASE_DEPTH`
files); a chain that comes back to a file already in it is refused, with the
chain in the message.  ``--set`` applies to the merged result.

Each file of the chain is read with the limits of :mod:`.yaml_source` (size,
aliases, nesting), and the merged scenario keeps a line map that knows, for
every key, which file wrote the value that won (:class:`_ChainLines`): an error
about an inherited value names the base file and its line, an error about an
override the derived file and its line.  Relative file paths written in a base
(``constellation.catalog``, ``link.trace.file``, ...) are looked up next to
that base file first, as they would be if it were loaded alone.

The merged scenario is a scenario like any other: its resolved dump has no
``base`` key, and its hash is that of its content (a derived file that changes
nothing hashes as its base).

>>> merged, _ = _merge_patch({"a": {"x": 1, "y": [1, 2]}, "b": 2}, None,
...                          {"a": {"y": [3], "z": None}, "b": None, "c": 4}, 0)
>>> merged
{'a': {'x': 1, 'y': [3]}, 'c': 4}
"""

from __future__ import annotations

import difflib
import functools
import itertools
import os
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Mapping

from pydantic import BaseModel

from .fields import _path_text
from .problems import Path_, ScenarioError, _kind_of, _one_line, _show, _where
from .yaml_source import _guard_data, _read_source_text, _read_yaml

#: Most base files behind one scenario (``a.yaml -> b.yaml -> ...``); a real chain
#: has one or two, and every file in it is read and merged for every load.
MAX_BASE_DEPTH = 8

#: The top-level key that names the base scenario.
BASE_KEY = "base"

# An origin tree mirrors the merged mappings: key -> (layer, subtree), where layer
# is the index of the file that wrote the winning value (0 = the scenario itself,
# 1 = its base, ...) and subtree the origin tree of a mapping value (None for
# lists and scalars, which come whole from one file).
_Origin = dict


# ---------------------------------------------------------------------------
# merging
# ---------------------------------------------------------------------------

def _origin_of(data: dict, layer: int) -> _Origin:
    """The origin tree of ``data``, every value written by ``layer``."""
    return {key: (layer, _origin_of(value, layer) if isinstance(value, dict) else None)
            for key, value in data.items()}


def _merge_patch(target: dict, origin: _Origin | None, patch: dict,
                 layer: int) -> tuple[dict, _Origin]:
    """``patch`` laid over ``target`` (RFC 7386), and the origin tree of the result.

    Neither input is modified; unchanged values are shared, not copied.
    """
    out = dict(target)
    origin = dict(origin) if origin is not None else _origin_of(target, -1)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
            origin.pop(key, None)
        elif isinstance(value, dict):
            below = out.get(key)
            if isinstance(below, dict):
                out[key], sub = _merge_patch(below, origin[key][1], value, layer)
            else:  # a mapping over a scalar or list (or nothing): the patch applied to {}
                out[key], sub = _merge_patch({}, {}, value, layer)
            origin[key] = (layer, sub)
        else:
            out[key] = value
            origin[key] = (layer, None)
    return out, origin


# ---------------------------------------------------------------------------
# where each value of a merged scenario was written
# ---------------------------------------------------------------------------

class _ChainLines(Mapping):
    """Line map of a merged scenario: field path -> line, in the file that wrote it.

    Like the line map of one file (:class:`~.yaml_source._LineMap`) it answers
    ``lines[path]`` with a 1-based line (``KeyError`` for a path no file wrote);
    :meth:`source_of` says which file that line is in (None for the scenario's
    own file, whose name the caller knows).  :func:`~.problems._where` uses both.
    Plain data (picklable): the sources, each file's line map, the origin tree.
    """

    def __init__(self, sources: tuple[str, ...], maps: tuple[Mapping, ...], origin: _Origin):
        self._sources = sources
        self._maps = maps
        self._origin = origin

    def _owner(self, path: Path_) -> int | None:
        """The layer whose line map holds ``path``, or None when the merged data lacks it."""
        layer, node = 0, self._origin
        for depth, part in enumerate(path):
            if node is None:  # inside a list or scalar that one file wrote whole
                return layer if path in self._maps[layer] else None
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                return None
            entry = node.get(str(part))
            if entry is None:
                return None
            layer, node = entry
        return layer if path in self._maps[layer] else None

    def __getitem__(self, path: Path_) -> int:
        if not isinstance(path, tuple):
            raise KeyError(path)
        layer = self._owner(path)
        if layer is None:
            raise KeyError(path)
        return self._maps[layer][path]

    def source_of(self, path: Path_) -> str | None:
        """The file that wrote ``path`` (None: the scenario's own file, or not written)."""
        layer = self._owner(path) if isinstance(path, tuple) else None
        return self._sources[layer] if layer else None

    def __iter__(self) -> Iterator[Path_]:
        yield ()
        stack: list[tuple[Path_, _Origin]] = [((), self._origin)]
        while stack:
            path, node = stack.pop()
            for key, (layer, sub) in node.items():
                here = path + (key,)
                yield here
                if sub is not None:
                    stack.append((here, sub))
                else:
                    yield from (p for p in self._maps[layer]
                                if len(p) > len(here) and p[:len(here)] == here)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"_ChainLines({' <- '.join(self._sources)})"


# ---------------------------------------------------------------------------
# relative paths written in a base file
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _path_fields() -> tuple[tuple[Path_, Any], ...]:
    """Every field whose value is a file looked up next to the scenario file, with the
    validator that does it: ``(path, validator)``.

    Found from the schema itself: the fields whose validator calls
    :func:`~.fields._resolve_path`.  ``None`` in a path stands for every item of a list.

    >>> sorted(".".join(map(str, path)) for path, _ in _path_fields())[:2]
    ['constellation.catalog', 'link.trace.file']
    """
    from .messages import _unwrap
    from .schema import Scenario

    out: list[tuple[Path_, Any]] = []

    def walk(model: type[BaseModel], prefix: Path_) -> None:
        resolved: dict[str, Any] = {}
        for decorator in model.__pydantic_decorators__.field_validators.values():
            code = getattr(decorator.func, "__code__", None)
            if code is not None and "_resolve_path" in code.co_names:
                resolved.update(dict.fromkeys(decorator.info.fields, decorator.func))
        for name, field in model.model_fields.items():
            if name in resolved:
                out.append((prefix + (name,), resolved[name]))
            inner, here = _unwrap(field.annotation), prefix + (name,)
            if typing.get_origin(inner) is list:
                inner, here = _unwrap(typing.get_args(inner)[0]), here + (None,)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                walk(inner, here)

    walk(Scenario, ())
    return tuple(out)


def _resolve_paths_next_to(data: Any, fields: tuple[tuple[Path_, Any], ...],
                           folder: Path) -> None:
    """Make the relative file paths of ``data`` that exist in ``folder`` absolute (in place),
    as the fields' own validators do for the scenario file's folder."""
    info = SimpleNamespace(context={"base_dir": folder})
    for path, validator in fields:
        targets = [data]
        for part in path[:-1]:
            step = []
            for target in targets:
                if part is None and isinstance(target, list):
                    step.extend(target)
                elif part is not None and isinstance(target, dict) and part in target:
                    step.append(target[part])
            targets = step
        for target in targets:
            value = target.get(path[-1]) if isinstance(target, dict) else None
            if isinstance(value, str) and value.strip():
                target[path[-1]] = validator(value.strip(), info)


# ---------------------------------------------------------------------------
# reading the chain
# ---------------------------------------------------------------------------

def _base_display(written: str, current: str, current_is_file: bool,
                  folder: Path | None) -> str:
    """How a base file is named in messages: next to the file that names it."""
    if Path(written).expanduser().is_absolute():
        return os.path.normpath(str(Path(written).expanduser()))
    if current_is_file:
        return os.path.normpath(os.path.join(os.path.dirname(current), written))
    if folder is not None:
        return os.path.normpath(os.path.join(str(folder), written))
    return os.path.normpath(written)


def _read_base(file: Path, display: str) -> tuple[dict, Mapping]:
    """The raw mapping and line map of the base file ``file`` (``display``: its name in
    messages), relative file paths in it made absolute where they exist next to it.

    Read with the limits of every settings file.  The result is shared (a sweep
    merges the same base for each of its points) and never modified: merging
    copies what it changes, and loading copies the merged mapping before ``--set``.
    """
    try:
        stat = file.stat()
    except OSError:
        stat = None
    if stat is None:  # let the reader word the problem
        return _read_base_uncached(str(file), display)
    return _read_base_cached(str(file), display, stat.st_mtime_ns, stat.st_size)


def _read_base_uncached(file: str, display: str) -> tuple[dict, Mapping]:
    text = _read_source_text(Path(file), display, "scenario")
    data, lines = _read_yaml(text, display)
    _guard_data(data, display)
    _resolve_paths_next_to(data, _path_fields(), Path(file).parent)
    return data, lines


@functools.lru_cache(maxsize=32)
def _read_base_cached(file: str, display: str, mtime_ns: int, size: int) -> tuple[dict, Mapping]:
    # keyed by the file's modification time and size: an edited base is read again
    return _read_base_uncached(file, display)


def _close_files(missing: Path) -> str | None:
    """The name of a scenario file next to ``missing`` spelled like it, if any."""
    try:
        names = [p.name for p in itertools.islice(missing.parent.iterdir(), 2000)
                 if p.suffix in (".yaml", ".yml")]
    except (OSError, ValueError):
        return None
    close = difflib.get_close_matches(missing.name, names, n=1, cutoff=0.75)
    return close[0] if close else None


def _resolve_bases(data: dict, source: str, lines: Mapping, base_dir: Path | None,
                   source_path: Path | None) -> tuple[dict, Mapping, tuple[Path, ...]]:
    """The scenario ``data`` (which names a base) merged over its chain of bases.

    Returns the merged raw mapping (no ``base`` key), its :class:`_ChainLines`,
    and the base files, nearest first.  ``base_dir`` is the folder the first
    ``base`` is relative to (the scenario file's folder; None = the working folder).
    """
    layers: list[tuple[str, Mapping, dict]] = [(source, lines, data)]
    files: list[Path] = []
    chain = [source]
    seen = {source_path.resolve()} if source_path is not None else set()
    current, current_lines, current_data = source, lines, data
    current_is_file, folder = source_path is not None, base_dir
    while BASE_KEY in current_data:
        written = current_data[BASE_KEY]
        where = _where(current, (BASE_KEY,), current_lines, ())

        def bad(problem: str) -> ScenarioError:
            return ScenarioError(f"{where}: base: {problem}", [(where, "base", problem)])

        if not isinstance(written, str) or not written.strip():
            shown = "empty text" if isinstance(written, str) else _kind_of(written)
            raise bad(f"expected the path of a scenario file to start from (e.g. base: "
                      f"default.yaml), got {shown}")
        written = written.strip()
        try:
            _path_text(written)
        except ValueError as exc:
            raise bad(_one_line(str(exc))) from None
        if len(files) >= MAX_BASE_DEPTH:
            shown = chain[:1] + ["..."] + chain[-2:] + [written]
            raise bad(f"more than {MAX_BASE_DEPTH} base files in a chain "
                      f"({' -> '.join(shown)}); merge some of them into one file")
        display = _base_display(written, current, current_is_file, folder)
        file = Path(written).expanduser()
        if not file.is_absolute():
            file = (folder if folder is not None else Path.cwd()) / file
        try:
            resolved = file.resolve()
            exists, is_dir, is_file = resolved.exists(), resolved.is_dir(), resolved.is_file()
        except (OSError, RuntimeError, ValueError) as exc:
            raise bad(f"cannot look up {_show(written)} ({_one_line(str(exc))})") from None
        if resolved in seen:
            raise bad(f"{_show(written)} makes a cycle: {' -> '.join(chain + [display])} "
                      f"(a scenario cannot start from itself)")
        if not exists:
            close = _close_files(resolved)
            hint = f"did you mean {close!r}?" if close else f"looked for {resolved}"
            raise bad(f"no such scenario file {_show(written)} ({hint})")
        if is_dir:
            raise bad(f"{_show(written)} is a folder, expected a scenario file")
        if not is_file:  # a device or a pipe could block or never end
            raise bad(f"{_show(written)} is not a regular file, expected a scenario file")
        base_data, base_lines = _read_base(resolved, display)
        layers.append((display, base_lines, base_data))
        files.append(resolved)
        chain.append(display)
        seen.add(resolved)
        current, current_lines, current_data = display, base_lines, base_data
        current_is_file, folder = True, resolved.parent

    # The deepest base is taken as written (its nulls are values); every file above
    # it is a patch (its nulls drop what it inherits).
    root = {k: v for k, v in layers[-1][2].items() if k != BASE_KEY}
    merged, origin = root, _origin_of(root, len(layers) - 1)
    for layer in range(len(layers) - 2, -1, -1):
        patch = {k: v for k, v in layers[layer][2].items() if k != BASE_KEY}
        merged, origin = _merge_patch(merged, origin, patch, layer)
    _guard_data(merged, source)
    chain_lines = _ChainLines(tuple(s for s, _, _ in layers),
                              tuple(m for _, m, _ in layers), origin)
    return merged, chain_lines, tuple(files)
