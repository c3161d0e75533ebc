"""Where policies come from: the built-ins, plugins, and every policy's parameter schema.

Two kinds of policy are looked up by name: **allocation** policies
(``policy.allocation``, :class:`~simulator.policies.allocation.AllocationPolicy`)
and **compressors** (``policy.compression.method``,
:class:`~simulator.policies.compression.CompressionPolicy`).  A name is looked
up among the built-ins first, then among the **plugins**: classes that another
installed distribution registers through a Python entry point::

    # pyproject.toml of the other distribution
    [project.entry-points."spaceverse.policies"]
    my-policy = "my_plugin:MyPolicy"          # an AllocationPolicy subclass
    [project.entry-points."spaceverse.compressors"]
    my-codec = "my_plugin:MyCodec"            # a CompressionPolicy subclass

Plugins are loaded lazily (:func:`importlib.metadata.entry_points`), only when a
scenario names one that is not built in, when ``spaceverse policies`` lists them,
or when a parameter that no built-in declares must be told from a plugin's; a
built-in name always wins over a plugin of the same name.  A plugin
that cannot be imported, is not a subclass of the right base class, does not
implement ``plan`` / ``apply``, declares another ``name`` than its entry point
or is registered twice is one line naming the entry point and its distribution.

Parameter schemas
=================

Every policy class declares its parameters in ``params_schema``: a dict of
name -> :class:`Param` (type, default, bounds, choices, description), or the
shorthand tuple ``(type, default, bounds, description)``::

    params_schema = {
        "share": Param("number", 0.5, low=0, high=1, description="fraction offloaded"),
        "mode": (("fast", "slow"), "fast", None, "which variant"),   # a choice
        "batch": (int, 32, (1, None), "samples per decision"),
    }

The schema drives three things, the same way for built-ins and plugins:

* **checking** (:func:`build`, i.e. :func:`~simulator.policies.allocation.get_policy`
  and :func:`~simulator.policies.compression.get_compression`, hence
  ``spaceverse validate``): every given parameter is checked against its type
  and bounds and a mistake is ``policy.params.NAME: VALUE; expected ...``
  (``policy.compression.params.NAME`` for a compressor).  A class whose
  ``__init__`` checks its own parameters with finer messages and cross-parameter
  rules (every built-in: ``validates_params = True``) is built first and the
  schema checked after it, so both must agree; for any other class (plugins, by
  default) the schema is checked *before* the class is built, so its code only
  ever sees valid values.  ``self.values`` is the given parameters over the
  schema's defaults;
* **the unknown-parameter rule**, one rule for both kinds (:func:`split_params`):
  a parameter that the chosen policy declares is used; one that another policy
  of the same kind declares (built-in or installed plugin) is noted at INFO
  level and ignored (a scenario or a sweep may carry SpaceVerse's ``tau`` while
  a baseline runs); one that *no* policy of that kind declares is an **error**
  with a "did you mean" (it is almost always a typo, and a typo silently
  running the default is the worst outcome).  Allocation policies also take
  the decision-point layout ``stages`` and ``stage_tokens`` (read by the engine
  for every policy);
* **listing**: ``spaceverse policies`` prints each policy with its source, the
  first line of its docstring and its parameters with their defaults.

The classes' ``accepts`` tuple (the parameter names) is derived from the schema
(a class that only sets ``accepts``, as older code did, gets an untyped schema).
"""

from __future__ import annotations

import inspect
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, did_you_mean

logger = logging.getLogger(__name__)

#: Entry-point group of each kind.
GROUPS = {"allocation": "spaceverse.policies", "compression": "spaceverse.compressors"}
#: The scenario field that names a policy of each kind, and the one holding its parameters.
NAME_FIELDS = {"allocation": "policy.allocation", "compression": "policy.compression.method"}
PARAM_FIELDS = {"allocation": "policy.params", "compression": "policy.compression.params"}
#: How a policy of each kind is called in messages.
WHAT = {"allocation": "policy", "compression": "compression"}
#: The method a concrete class of each kind must implement.
METHODS = {"allocation": "plan", "compression": "apply"}

TYPES = ("number", "integer", "boolean", "text", "choice", "numbers", "path", "any")


class ParamError(InputError):
    """A bad policy parameter; ``field`` is its scenario path (``policy.params.tau``)."""

    def __init__(self, field_path: str, message: str):
        super().__init__(f"{field_path}: {message}")
        self.field = field_path


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Param:
    """One parameter of a policy.

    ``type``: ``number`` (finite real), ``integer`` (whole number; 3.0 counts),
    ``boolean``, ``text``, ``choice`` (one of ``choices``, case-insensitive),
    ``numbers`` (non-empty list of numbers, each within the bounds), ``path``
    (a file or folder path) or ``any`` (not checked here).  ``low``/``high`` are
    inclusive bounds unless ``low_open``/``high_open``.  ``None`` is accepted
    when the default is ``None`` (the policy then works it out: say how in
    ``default_text``) or with ``nullable``.
    """

    type: str = "any"
    default: Any = None
    description: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    low_open: bool = False
    high_open: bool = False
    default_text: str | None = None
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise TypeError(f"parameter type {self.type!r}; expected one of {', '.join(TYPES)}")
        if self.type == "choice" and not self.choices:
            raise TypeError("a choice parameter needs its choices")
        object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))

    # ------------------------------------------------------------------ text

    def expected(self) -> str:
        """What a valid value is, in words (``a number in [0, 1]``)."""
        bounds = self.bounds_text()
        text = {
            "number": "a number" + (f" {bounds}" if bounds else ""),
            "integer": "a whole number" + (f" {bounds}" if bounds else ""),
            "boolean": "true or false",
            "text": "text",
            "choice": "one of " + ", ".join(self.choices),
            "numbers": "a list of numbers" + (f" {bounds}" if bounds else ""),
            "path": "a file path",
            "any": "any value",
        }[self.type]
        if (self.default is None or self.nullable) and self.type != "any":
            text += " or null"
        return text

    def bounds_text(self) -> str:
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{_num(lo)}, {_num(hi)}{right}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {_num(lo)}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {_num(hi)}"
        return ""

    def default_shown(self) -> str:
        if self.default_text is not None:
            return self.default_text
        return "null" if self.default is None else _show(self.default)

    def as_dict(self) -> dict:
        out = {"type": self.type, "default": _jsonable(self.default),
               "description": self.description}
        if self.default_text is not None:
            out["default_text"] = self.default_text
        if self.bounds_text():
            out["bounds"] = self.bounds_text()
        if self.choices:
            out["choices"] = list(self.choices)
        return out

    # ------------------------------------------------------------------ check

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not valid (``None`` when it is)."""
        if value is None:
            return None if self.default is None or self.nullable or self.type == "any" else "null"
        kind = self.type
        if kind == "any":
            return None
        if kind in ("number", "integer"):
            if not _is_number(value):
                return "not a number" if kind == "number" else "not a whole number"
            if kind == "integer" and float(value) != math.floor(float(value)):
                return "not a whole number"
            return None if self._within(float(value)) else "out of bounds"
        if kind == "boolean":
            return None if isinstance(value, (bool, np.bool_)) else "not true or false"
        if kind == "text":
            return None if isinstance(value, str) else "not text"
        if kind == "choice":
            key = str(value).strip().lower() if isinstance(value, str) else None
            return None if key in {c.lower() for c in self.choices} else "not a choice"
        if kind == "numbers":
            if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") \
                    or len(value) == 0:
                return "not a list"
            for item in value:
                if not _is_number(item):
                    return f"{_show(item)} is not a number"
                if not self._within(float(item)):
                    return f"{_show(item)} is outside {self.bounds_text()[3:]}"
            return None
        if kind == "path":
            return None if isinstance(value, (str, Path)) and str(value) != "" else "not a path"
        return None  # pragma: no cover - types are checked in __post_init__

    def _within(self, x: float) -> bool:
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        if self.high is not None and (x > self.high or (self.high_open and x == self.high)):
            return False
        return True


def _is_number(value: Any) -> bool:
    return (not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.number))
            and math.isfinite(float(value)))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _show(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Path):
        return repr(str(value))
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


_PY_TYPES = {float: "number", int: "integer", bool: "boolean", str: "text", list: "numbers",
             tuple: "numbers", Path: "path", object: "any"}


def as_param(spec: Any, name: str = "?") -> Param:
    """A :class:`Param` from a ``Param``, a dict of its fields, or the tuple
    ``(type, default, bounds, description)`` (trailing items may be left out;
    ``type`` a Python type, a type name, or a tuple of choices; ``bounds``
    ``(low, high)`` with ``None`` for an open end)."""
    if isinstance(spec, Param):
        return spec
    if isinstance(spec, dict):
        return Param(**spec)
    if isinstance(spec, (tuple, list)) and 1 <= len(spec) <= 4:
        kind, default, bounds, description = (*spec, None, None, None, "")[:4]
        choices: tuple = ()
        if isinstance(kind, (tuple, list, set, frozenset)):
            choices, kind = tuple(kind), "choice"
        elif isinstance(kind, type):
            if kind not in _PY_TYPES:
                raise TypeError(f"parameter {name!r}: type {kind.__name__}; expected one of "
                                "float, int, bool, str, list, Path or a tuple of choices")
            kind = _PY_TYPES[kind]
        low = high = None
        if bounds is not None:
            if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
                raise TypeError(f"parameter {name!r}: bounds {bounds!r}; expected (low, high)")
            low, high = bounds
        return Param(str(kind), default, str(description or ""), low, high, choices)
    raise TypeError(f"parameter {name!r}: {spec!r}; expected a Param or a tuple "
                    "(type, default, bounds, description)")


def normalise_schema(schema: Any, owner: str = "?") -> dict[str, Param]:
    """``params_schema`` as a dict of name -> :class:`Param` (TypeError when malformed)."""
    if schema is None:
        return {}
    if not isinstance(schema, dict):
        raise TypeError(f"{owner}.params_schema is {type(schema).__name__}; expected a dict of "
                        "name -> Param")
    out = {}
    for name, spec in schema.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"{owner}.params_schema: parameter name {name!r}; expected text")
        try:
            out[name] = as_param(spec, name)
        except TypeError as exc:
            raise TypeError(f"{owner}.params_schema: {exc}") from None
    return out


def install_schema(cls: type) -> None:
    """Called for every policy subclass: normalise ``params_schema`` and derive ``accepts``.

    A class that sets only ``accepts`` gets an untyped schema (its parents' entries where
    they have one), so the unknown-parameter rule and the listing still see its names.
    """
    own = cls.__dict__
    if "params_schema" in own:
        schema = normalise_schema(own["params_schema"], cls.__name__)
    elif "accepts" in own:
        parent = getattr(super(cls, cls), "params_schema", {}) or {}
        schema = {n: parent.get(n, Param("any")) for n in own["accepts"]}
    else:
        schema = dict(getattr(cls, "params_schema", {}) or {})
    cls.params_schema = schema
    cls.accepts = tuple(schema)


def schema_of(cls: type) -> dict[str, Param]:
    return dict(getattr(cls, "params_schema", {}) or {})


def defaults_of(cls: type) -> dict[str, Any]:
    return {n: p.default for n, p in schema_of(cls).items()}


def param_problems(cls: type, params: dict, prefix: str) -> list[ParamError]:
    """Every parameter of ``params`` that the schema of ``cls`` declares and that is invalid."""
    schema = schema_of(cls)
    out = []
    for name, value in params.items():
        spec = schema.get(name)
        if spec is None:
            continue
        why = spec.problem(value)
        if why is not None:
            detail = f" ({why})" if " is " in why else ""
            out.append(ParamError(f"{prefix}.{name}",
                                  f"{_show(value)}{detail}; expected {spec.expected()}"))
    return out


# --------------------------------------------------------------------------- built-ins


def builtins(kind: str) -> dict[str, type]:
    """The built-in registry of ``kind`` (importing it registers every built-in)."""
    if kind == "allocation":
        from .allocation import REGISTRY
    elif kind == "compression":
        from .compression import REGISTRY
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    return REGISTRY


def base_class(kind: str) -> type:
    if kind == "allocation":
        from .allocation import AllocationPolicy
        return AllocationPolicy
    from .compression import CompressionPolicy
    return CompressionPolicy


def normalise_name(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


# --------------------------------------------------------------------------- plugins


@dataclass(frozen=True)
class Plugin:
    """One entry point of a plugin distribution."""

    kind: str
    name: str           # normalised entry-point name (what a scenario writes)
    value: str          # module:attribute
    distribution: str
    version: str
    entry_point: Any = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        return (f"entry point {GROUPS[self.kind]}:{self.entry_point.name} = {self.value}, "
                f"distribution {self.distribution} {self.version}".rstrip())

    @property
    def source(self) -> str:
        return f"{self.distribution} {self.version}".strip()


_LOADED: dict[tuple[str, str], tuple[type, Plugin]] = {}


def clear_plugin_cache() -> None:
    """Forget loaded plugins (a test installs and removes them)."""
    _LOADED.clear()


def discover(kind: str) -> list[Plugin]:
    """Every entry point of ``kind``'s group, not loaded (sorted by name, then distribution)."""
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group=GROUPS[kind])
    except Exception as exc:  # noqa: BLE001 - a broken metadata file of some distribution
        logger.warning("cannot read the installed distributions' entry points (%s: %s)",
                       type(exc).__name__, exc)
        return []
    out, seen = [], set()
    for ep in eps:
        dist = getattr(ep, "dist", None)
        dist_name = (dist.metadata.get("Name") if dist is not None else None) or "unknown"
        version = (dist.version if dist is not None else "") or ""
        plugin = Plugin(kind, normalise_name(ep.name), ep.value, dist_name, version, ep)
        key = (plugin.name, plugin.value, plugin.distribution)
        if key not in seen:
            seen.add(key)
            out.append(plugin)
    return sorted(out, key=lambda p: (p.name, p.distribution))


def load_plugin(plugin: Plugin) -> type:
    """Import a plugin's class and check it; one-line :class:`InputError` naming it if bad."""
    key = (plugin.kind, plugin.name)
    if key in _LOADED and _LOADED[key][1] == plugin:
        return _LOADED[key][0]
    where = f"{NAME_FIELDS[plugin.kind]}: plugin {plugin.name!r} ({plugin.label})"
    try:
        obj = plugin.entry_point.load()
    except Exception as exc:  # noqa: BLE001 - whatever the plugin raises on import
        raise InputError(f"{where}: cannot import it: {_one_line(exc)}") from None
    base = base_class(plugin.kind)
    base_name = f"{base.__module__}.{base.__qualname__}"
    if not (inspect.isclass(obj) and issubclass(obj, base)):
        what = f"class {obj.__qualname__}" if inspect.isclass(obj) else type(obj).__name__
        raise InputError(f"{where}: not a policy class: {plugin.value} is {what}; expected a "
                         f"subclass of {base_name}")
    method = METHODS[plugin.kind]
    if getattr(obj, method) is getattr(base, method) or inspect.isabstract(obj):
        raise InputError(f"{where}: not a policy class: {obj.__qualname__} does not implement "
                         f"{method}()")
    declared = obj.__dict__.get("name")
    if declared is not None and normalise_name(str(declared)) != plugin.name:
        raise InputError(f"{where}: {obj.__qualname__}.name is {declared!r}; expected the entry "
                         f"point's name {plugin.name!r} (or leave name out: it is set from the "
                         "entry point)")
    if declared is None:
        obj.name = plugin.name
    _LOADED[key] = (obj, plugin)
    return obj


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def find_plugin(kind: str, name: str) -> tuple[type, Plugin] | None:
    """The plugin class registered under ``name`` (loaded now), or None."""
    key = normalise_name(name)
    matches = [p for p in discover(kind) if p.name == key]
    if not matches:
        return None
    if len(matches) > 1:
        who = " and ".join(f"{p.distribution} {p.version} ({p.value})".replace("  ", " ")
                           for p in matches)
        raise InputError(f"{NAME_FIELDS[kind]}: {WHAT[kind]} {key!r} is registered by "
                         f"{len(matches)} plugins: {who}; uninstall one of them")
    return load_plugin(matches[0]), matches[0]


# --------------------------------------------------------------------------- lookup


def resolve(kind: str, name: str) -> tuple[type, Plugin | None]:
    """``(class, plugin or None)`` of the ``kind`` policy ``name``: built-ins first."""
    registry = builtins(kind)
    key = normalise_name(name)
    if key in registry:
        return registry[key], None
    found = find_plugin(kind, key)
    if found is not None:
        return found
    plugin_names = sorted({p.name for p in discover(kind)} - set(registry))
    known = ", ".join(sorted(registry))
    if plugin_names:
        known += "; plugins: " + ", ".join(plugin_names)
    what = "policy" if kind == "allocation" else "method"
    raise InputError(f"{NAME_FIELDS[kind]}: unknown {what} {name!r}"
                     f"{did_you_mean(key, list(registry) + plugin_names)} "
                     f"(known: {known})")


def build(kind: str, name: str, params: dict | None = None):
    """The ``kind`` policy ``name`` built with ``params``, checked against its schema."""
    cls, plugin = resolve(kind, name)
    params = dict(params or {})
    prefix = PARAM_FIELDS[kind]
    own_checks = bool(getattr(cls, "validates_params", False))
    if not own_checks:
        problems = param_problems(cls, params, prefix)
        if problems:
            raise problems[0]
    try:
        policy = cls(**params)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's constructor failing
        if plugin is None:
            raise
        problems = param_problems(cls, params, prefix)
        if problems:
            raise problems[0] from None
        raise InputError(f"{NAME_FIELDS[kind]}: plugin {plugin.name!r} ({plugin.label}): "
                         f"cannot build it: {_one_line(exc)}") from None
    if own_checks:
        problems = param_problems(cls, params, prefix)
        if problems:
            raise problems[0]
    if not hasattr(policy, "params"):  # a plugin that did not call super().__init__
        policy.params = {k: v for k, v in params.items() if k in cls.accepts}
    return policy


# --------------------------------------------------------------------------- unknown parameters


def _known_params(kind: str, exclude: type | None = None) -> dict[str, list[str]]:
    """Parameter name -> the policies of ``kind`` that declare it (built-ins only)."""
    out: dict[str, list[str]] = {}
    for pname, cls in builtins(kind).items():
        if cls is exclude:
            continue
        for p in getattr(cls, "accepts", ()):
            out.setdefault(p, []).append(pname)
    return out


def _plugin_params(kind: str) -> dict[str, list[str]]:
    """Parameter name -> plugin policies of ``kind`` that declare it (every plugin is loaded;
    one that cannot be is skipped here, and reported when a scenario names it)."""
    out: dict[str, list[str]] = {}
    for plugin in discover(kind):
        if plugin.name in builtins(kind):
            continue
        try:
            cls = load_plugin(plugin)
        except InputError as exc:
            logger.debug("%s", exc)
            continue
        for p in getattr(cls, "accepts", ()):
            out.setdefault(p, []).append(plugin.name)
    return out


def split_params(kind: str, policy_name: str, accepts, params: dict,
                 layout: tuple[str, ...] = ()) -> dict:
    """The parameters of ``params`` that ``accepts`` declares; the unknown-parameter rule.

    ``layout`` names parameters read by the engine for every policy (silently accepted,
    not passed on).  See the module docstring for the rule.
    """
    accepts = tuple(accepts)
    used = {k: v for k, v in params.items() if k in accepts}
    unused = sorted((set(params) - set(accepts) - set(layout)), key=str)
    if not unused:
        return used
    known = _known_params(kind)
    unknown = [p for p in unused if p not in known]
    if unknown:
        plugin_known = _plugin_params(kind)
        for p in plugin_known:
            known.setdefault(p, []).extend(plugin_known[p])
        unknown = [p for p in unused if p not in known]
    prefix, what = PARAM_FIELDS[kind], WHAT[kind]
    if unknown:
        bad = str(unknown[0])
        hint = did_you_mean(bad, accepts) or did_you_mean(bad, [str(k) for k in known])
        takes = ", ".join(accepts) or "none"
        if layout:
            takes += f"; every {what} also takes {', '.join(layout)}"
        more = f" (and {len(unknown) - 1} more: {', '.join(map(str, unknown[1:]))})" \
            if len(unknown) > 1 else ""
        raise ParamError(f"{prefix}.{bad}", f"unknown parameter {bad!r} for {what} "
                                            f"{policy_name!r}{hint} (accepts: {takes}){more}")
    # logged by the kind's own module, where it always was
    logging.getLogger(f"simulator.policies.{kind}").info(
        "%s: %s not used by %s %r", prefix, ", ".join(map(str, unused)), what, policy_name)
    return used


# --------------------------------------------------------------------------- listing


def describe_class(cls: type) -> str:
    """The first line of a class's docstring (its own, else the nearest parent's)."""
    doc = inspect.getdoc(cls) or ""
    line = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    return re.sub(r"\s*\(see the module docstring\)", "", line).replace("``", "")


def catalogue() -> dict[str, list[dict]]:
    """Every allocation policy and compressor, built-in and plugin, for ``spaceverse policies``.

    Each entry: ``name``, ``source`` (``built-in`` or the plugin's distribution and
    version), ``entry_point`` (plugins), ``description``, ``params`` (name -> schema as a
    dict); a plugin that cannot be loaded has ``error`` instead, and one shadowed by a
    built-in of the same name has ``shadowed_by_builtin``.
    """
    out: dict[str, list[dict]] = {}
    for kind in ("allocation", "compression"):
        rows = []
        registry = builtins(kind)
        for name in sorted(registry):
            cls = registry[name]
            rows.append({"name": name, "source": "built-in", "description": describe_class(cls),
                         "params": {n: p.as_dict() for n, p in schema_of(cls).items()}})
        for plugin in discover(kind):
            row: dict[str, Any] = {"name": plugin.name, "source": plugin.source or "unknown",
                                   "entry_point": f"{GROUPS[kind]}:{plugin.entry_point.name} = "
                                                  f"{plugin.value}"}
            if plugin.name in registry:
                row["shadowed_by_builtin"] = True
                row["description"] = "not used: a built-in has this name"
                row["params"] = {}
            else:
                try:
                    cls = load_plugin(plugin)
                except InputError as exc:
                    row["error"] = str(exc)
                    row["params"] = {}
                else:
                    row["description"] = describe_class(cls)
                    row["params"] = {n: p.as_dict() for n, p in schema_of(cls).items()}
            rows.append(row)
        out[kind] = rows
    return out


def layout_schema() -> dict[str, Param]:
    """The decision-point layout every allocation policy takes (read by the engine)."""
    return {"stages": Param("integer", 2, "decision points I (point 1 after vision encoding)",
                            low=1),
            "stage_tokens": Param("integer", 16, "answer tokens N_t between decision points",
                                  low=1)}

