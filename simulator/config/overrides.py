"""``--set`` overrides, resolved dumps, scenario hashes, run-id slugs, the JSON Schema.

``--set dotted.key=value`` (:func:`_apply_override`) changes the raw mapping
read from a file before validation.  The value is read as YAML, with the
limits of :mod:`.yaml_source`: ``seed=3``, ``link.rate_mbps=50``,
``policy.params.tau=[0.6,0.3]``, ``time.start=2026-06-14T00:00:00Z``,
``ground_stations=[Shanghai, network: ksat]`` are all fine; missing
intermediate mappings are created, list items are addressed by index
(``ground_stations.0.antennas=2`` or ``ground_stations[0].antennas=2``).
A problem with the override itself is one line starting ``--set KEY=VALUE:``.

:func:`dump_resolved` writes the scenario with every default filled in (the file
a run stores next to its results; reading it back gives an equal
:class:`~.schema.Scenario`); a scenario merged over ``base`` files is written
merged, without a ``base`` key.  :func:`scenario_hash` is a short hash of that
resolved content (the ``output`` block and the free-text ``description``
excluded), and :attr:`~.schema.Scenario.run_id` is ``<slug of name>-<hash>``
unless ``output.run_id`` names the run.

>>> from simulator.config import parse_scenario
>>> parse_scenario("seed: 3", overrides=["seed=4", "policy.params.tau=[0.6, 0.3]"]).policy.params
{'tau': [0.6, 0.3]}
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import yaml

from .problems import Path_, ScenarioError, _format_path, _kind_of, _one_line, _parse_field_path
from .schema import Scenario
from .yaml_source import MAX_DEPTH, _LimitError, _Loader, _value_problem

#: Longest part of a ``--set`` text shown in its error message.
_SHOWN_SET = 100


#: Longest ``--set KEY=VALUE`` accepted (a scenario file holds anything bigger).
MAX_SET_CHARS = 10_000


def _apply_override(data: dict, text: str) -> Path_:
    """Apply one ``dotted.key=value`` to the raw mapping ``data``; return the path.

    The returned path names mapping keys as text and list items by index, as
    validation errors do, so an error about the value is reported ``(from --set)``.
    """
    def bad(why: str) -> ScenarioError:
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        if len(shown) > _SHOWN_SET:
            shown = shown[:_SHOWN_SET - 3] + "..."
        return ScenarioError(f"--set {shown}: {why}")

    if len(text) > MAX_SET_CHARS:
        raise bad(f"longer than {MAX_SET_CHARS:,} characters ({len(text):,}); put large values "
                  f"in the scenario file")
    if "=" not in text:
        raise bad("expected KEY=VALUE, e.g. --set link.rate_mbps=50")
    key, _, value_text = text.partition("=")
    key = key.strip()
    if not key:
        raise bad("the key before '=' is empty (expected e.g. seed=3)")
    path = _parse_field_path(key)
    if any(part == "" for part in path):
        raise bad(f"empty part in the key {_format_path((key,))!r} (expected dotted names like "
                  f"link.rate_mbps)")
    if len(path) > MAX_DEPTH:
        raise bad(f"the key has {len(path)} parts, more than the {MAX_DEPTH} a setting can have")
    try:
        value = yaml.load(value_text, Loader=_Loader) if value_text.strip() else None
    except yaml.YAMLError as exc:
        if isinstance(exc, yaml.reader.ReaderError):
            problem = f"character #x{exc.character:04x} is not allowed"
        elif isinstance(exc, yaml.constructor.ConstructorError):
            problem = _value_problem(exc)
        else:
            problem = getattr(exc, "problem", None) or str(exc)
        hint = "" if isinstance(exc, (yaml.constructor.ConstructorError, _LimitError)) else \
            " (quote text that holds ': ', '#', brackets or commas: key='a: b')"
        raise bad(f"cannot read the value as YAML: {_one_line(problem)}{hint}") from None
    target: Any = data
    path = list(path)
    for depth, part in enumerate(path[:-1]):
        here = _format_path(path[:depth + 1])
        if isinstance(target, dict):
            part = path[depth] = str(part)  # mapping keys are text, as the reader makes them
            if part not in target or target[part] is None:
                if isinstance(path[depth + 1], int):
                    raise bad(f"{here} is not given in the scenario, so it has no item "
                              f"{path[depth + 1]} (set the whole list: {here}=[...])")
                target[part] = {}
            target = target[part]
        elif isinstance(target, list) and isinstance(part, int):
            if part >= len(target):
                raise bad(f"{_format_path(path[:depth])} has {len(target)} items, no item {part}")
            if tuple(path[:depth]) == ("ground_stations",) and isinstance(target[part], str):
                target[part] = {"name": target[part]}  # a bare station name, spelled out
            target = target[part]
        else:
            raise bad(f"{_format_path(path[:depth]) or 'the scenario'} is "
                      f"{_kind_of(target)}, not a mapping, so it has no key {part!r} "
                      f"(needed for {here})")
    last = path[-1]
    if isinstance(target, dict):
        last = path[-1] = str(last)
        target[last] = value
    elif isinstance(target, list) and isinstance(last, int):
        if last > len(target):
            raise bad(f"{_format_path(path[:-1])} has {len(target)} items, no item {last}")
        if last == len(target):
            target.append(value)
        else:
            target[last] = value
    else:
        raise bad(f"{_format_path(path[:-1])} is {_kind_of(target)}, not a mapping, so it "
                  f"has no key {last!r}")
    return tuple(path)



def scenario_json_schema() -> dict:
    """The JSON Schema of a scenario file (for editors: yaml-language-server, VS Code).

    A ground-station item may also be a bare string (a catalog name), and the top
    level may name a ``base`` scenario (read before validation, :mod:`.bases`),
    which the pydantic-generated schema cannot know; both are added here.
    """
    schema = Scenario.model_json_schema()
    items = schema["properties"]["ground_stations"]["items"]
    schema["properties"]["ground_stations"]["items"] = {
        "anyOf": [items, {"type": "string", "description": "A catalog station name."}]}
    # ``base`` is read before validation (see .bases), so the model does not know it.
    schema["properties"] = {"base": {
        "type": "string", "minLength": 1, "title": "Base",
        "description": "Scenario file this one starts from (relative to this file's folder): "
                       "its keys are laid over the base's (mappings merge, lists and values "
                       "replace, null drops an inherited value)."}, **schema["properties"]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://spaceverse.invalid/scenario.schema.json", **schema,
            "title": "spaceverse scenario"}


class _Dumper(yaml.SafeDumper):
    """Block style, except short lists of plain values (``tau: [0.5, 0.4]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(isinstance(v, (int, float, bool, type(None))) or
               (isinstance(v, str) and len(v) < 30) for v in data) and len(data) <= 8
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _resolved_dict(scenario: Scenario) -> dict:
    return scenario.model_dump(mode="json")


def dump_resolved(scenario: Scenario) -> str:
    """YAML of ``scenario`` with every default filled in; times in ISO 8601 ``Z``.

    Reading the text back gives an equal scenario:

    >>> from simulator.config import parse_scenario
    >>> s = parse_scenario("seed: 5\\ntime: {start: 2026-06-14T06:00:00+02:00}")
    >>> 'start: 2026-06-14T04:00:00Z' in dump_resolved(s)
    True
    >>> parse_scenario(dump_resolved(s)) == s
    True
    """
    from .. import __version__

    body = yaml.dump(_resolved_dict(scenario), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False, allow_unicode=True, width=100)
    # ISO times are stored as strings; written unquoted they still read back as times.
    body = re.sub(r"^(\s*start: )'(\d{4}-\d\d-\d\dT[\d:.]+Z)'$", r"\1\2", body, flags=re.M)
    origin = str(scenario.source_path) if scenario.source_path else scenario._source
    if scenario.bases:  # merged over base files: the result stands alone, no base key
        origin += " over " + " over ".join(str(base) for base in scenario.bases)
    header = (f"# Resolved scenario (spaceverse {__version__}): every default filled in.\n"
              f"# From: {origin}\n"
              f"# Scenario hash: {scenario_hash(scenario)}; run id: {scenario.run_id}\n")
    return header + body


def scenario_hash(scenario: Scenario) -> str:
    """First 12 hex digits of the SHA-256 of the resolved scenario's canonical JSON.

    ``output`` (where results go) and ``description`` (free text) are left out,
    so they never change the hash; everything that changes the simulation does.

    >>> from simulator.config import parse_scenario
    >>> a, b = parse_scenario("seed: 1"), parse_scenario("seed: 2")
    >>> len(a.hash), a.hash == parse_scenario("seed: 1").hash, a.hash == b.hash
    (12, True, False)
    """
    content = scenario.model_dump(mode="json", exclude={"output", "description"})
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def slug(text: str) -> str:
    """A folder-safe name: lower case, runs of other characters -> ``-``.

    >>> slug("Paper §4.1 (Shanghai, 10 sats)")
    'paper-4-1-shanghai-10-sats'
    """
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:48].rstrip("-") or "scenario"
