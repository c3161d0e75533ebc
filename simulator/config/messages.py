"""Pydantic's validation errors, in the words of someone editing a YAML file.

Pydantic reports each problem as a dict with a ``type`` (``greater_than``,
``extra_forbidden``, ...), the path of the offending value (``loc``) and the
value.  :func:`_message` turns one into plain words with the value shown as it
was written (``must be > 0, got -3``; ``expected one of: fifo, priority; got
'lifo'``), and :func:`_unknown_key` explains an unknown key: a close spelling
(``did you mean 'seed'?``), the block where the key belongs, or the keys that
are allowed.  :func:`_validation_error` joins every problem of one
:class:`~pydantic.ValidationError` into one :class:`~.problems.ScenarioError`,
each at its line.

>>> from simulator.config import parse_scenario
>>> parse_scenario("seed: 1\\nlink:\\n  rate_mbps: -3\\n", source="x.yaml")
Traceback (most recent call last):
...
simulator.config.ScenarioError: x.yaml:3: link.rate_mbps: must be > 0, got -3
>>> parse_scenario("sead: 1", source="x.yaml")
Traceback (most recent call last):
...
simulator.config.ScenarioError: x.yaml:1: sead: unknown key (did you mean 'seed'?)
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Annotated, Any, Mapping, Sequence, Union

from pydantic import BaseModel, ValidationError

from .problems import (Path_, ScenarioError, _combine, _FieldProblem, _format_path, _kind_of,
                       _one_line, _show, _where)
from .schema import Scenario, StationSpec


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` from a type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _type_at(path: Path_) -> Any:
    """The (unwrapped) type of the value at ``path`` in a :class:`Scenario`, or None."""
    annotation: Any = Scenario
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return None
    return _unwrap(annotation)


def _field_names(model: type[BaseModel]) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        names.append(name)
        if field.alias and field.alias != name:
            names.append(field.alias)
    return names


def _all_field_paths(model: type[BaseModel], prefix: Path_ = ()) -> list[Path_]:
    """Every field path of ``model``, nested models included (lists as their items)."""
    out = []
    for name, field in model.model_fields.items():
        out.append(prefix + (name,))
        inner = _unwrap(field.annotation)
        if typing.get_origin(inner) is list:
            inner = _unwrap(typing.get_args(inner)[0])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out.extend(_all_field_paths(inner, prefix + (name,)))
    return out


def _unknown_key(path: Path_) -> str:
    key = path[-1]
    model = _type_at(path[:-1])
    names = _field_names(model) if isinstance(model, type) and issubclass(model, BaseModel) \
        else []
    if len(path) == 1:  # read before validation (see .bases), so the model does not list it
        names.append("base")
    elif key == "base":
        return "unknown key here (base: FILE, the scenario to start from, belongs at the top " \
               "level)"
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    elsewhere = [p for p in _all_field_paths(Scenario) if p[-1] == key]
    if elsewhere:
        return (f"unknown key here (it belongs under "
                f"{_format_path(elsewhere[0][:-1])}: {_format_path(elsewhere[0])})")
    return f"unknown key (expected one of: {', '.join(names)})"


_EXPECTED = {
    "float_parsing": "expected a number", "float_type": "expected a number",
    "int_parsing": "expected an integer", "int_type": "expected an integer",
    "int_from_float": "expected an integer (a whole number)",
    "int_parsing_size": "expected an integer of reasonable size",
    "bool_parsing": "expected true or false", "bool_type": "expected true or false",
    "string_type": "expected text", "list_type": "expected a list ('- item' lines or [a, b])",
    "dict_type": "expected a mapping (key: value lines or {a: 1})",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "datetime_type": "expected an ISO 8601 date-time like 2026-06-14T00:00:00Z",
    "datetime_parsing": "expected an ISO 8601 date-time like 2026-06-14T00:00:00Z",
    "datetime_from_date_parsing": "expected an ISO 8601 date-time like 2026-06-14T00:00:00Z",
    "finite_number": "expected a finite number",
}

_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
           "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


def _message(error: dict, path: Path_) -> tuple[Path_, str]:
    """Plain words for one pydantic error; also returns the (possibly refined) path."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "extra_forbidden":
        return path, _unknown_key(path)
    if kind == "invalid_key":
        return path[:-1] + (_show(path[-1]),), "not a valid key (keys are names like seed)"
    if kind == "missing":
        return path, "required field is missing"
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, _FieldProblem):
            return path + cause.field, str(cause)
        text = str(cause) if cause is not None else re.sub(
            r"^(Value error|Assertion failed), ", "", error["msg"])
        return path, text
    if kind in _BOUNDS:
        _, symbol = _BOUNDS[kind]
        bound = ctx.get(_BOUNDS[kind][0])
        return path, f"must be {symbol} {_show(bound)}, got {_show(value)}"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return path, f"expected one of: {', '.join(allowed)}; got {_show(value)}"
    if kind in ("too_short", "string_too_short"):
        if kind == "string_too_short" or value in ("", [], {}):
            return path, "must not be empty"
        return path, f"needs at least {ctx.get('min_length')} item(s)"
    if kind in ("too_long", "string_too_long") and isinstance(value, str):
        return path, (f"is too long ({len(value):,}): at most {ctx.get('max_length'):,} "
                      f"characters, got {_show(value)}")
    if kind == "too_long":
        return path, f"has too many items (at most {ctx.get('max_length'):,})"
    if kind in ("model_type", "model_attributes_type") and _type_at(path) is StationSpec:
        return path, (f"expected a station name or a mapping with name, network or "
                      f"lat_deg/lon_deg; got {_kind_of(value)}")
    if kind in _EXPECTED:
        structural = kind in ("model_type", "model_attributes_type", "dict_type", "list_type",
                              "string_type")
        got = _kind_of(value) if structural and not isinstance(value, bool) else _show(value)
        hint = ""
        if value is None and kind in ("model_type", "model_attributes_type"):
            hint = " (leave the key out to get the defaults)"
        if kind == "string_type" and isinstance(value, bool):
            hint = " (YAML reads yes/no/on/off as true/false; quote it)"
        return path, f"{_EXPECTED[kind]}, got {got}{hint}"
    text = error["msg"]
    return path, (text[:1].lower() + text[1:]) + (f", got {_show(value)}" if "input" in error
                                                    else "")



def _validation_error(exc: ValidationError, source: str, lines: Mapping,
                      from_set: Sequence[Path_]) -> ScenarioError:
    problems = []
    for error in exc.errors():
        path = tuple(part for part in error["loc"] if isinstance(part, (str, int)))
        path, text = _message(error, path)
        problems.append((_where(source, path, lines, from_set), _format_path(path),
                         _one_line(text)))
    return _combine(problems)

