"""Looking up devices and models by name, overriding their fields, listing the unchecked numbers.

>>> list_devices()[:2]
['jetson-agx-xavier', 'jetson-agx-orin']
>>> get_device("rtx-3090", {"bandwidth_gb_per_s": 500}).bandwidth_gb_per_s
500.0
>>> get_device("rtx-3090", {"bandwidth_gb_per_sec": 500})
Traceback (most recent call last):
...
simulator.errors.InputError: unknown device field 'bandwidth_gb_per_sec' in overrides for rtx-3090; expected one of memory_gb, weights_dtype, peak_tflops_fp32, peak_tflops_fp16, peak_tflops_bf16, bandwidth_gb_per_s, pass_overhead_s, encode_base_s, encode_time_scale, prefill_time_scale, decode_time_scale, attention_score_copies; did you mean 'bandwidth_gb_per_s'?

Time-like fields (seconds, time scales) may be set to 0 to switch a stage or a
floor off; sizes and rates must stay positive; nothing may be negative or
non-finite:

>>> get_device("rtx-3090", {"encode_time_scale": 0, "pass_overhead_s": 0}).encode_time_scale
0.0
>>> get_device("rtx-3090", {"bandwidth_gb_per_s": 0})
Traceback (most recent call last):
...
simulator.errors.InputError: device override bandwidth_gb_per_s=0; expected a finite number > 0
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
from typing import Any, Mapping

from simulator.errors import InputError

from .constants import DTYPE_BYTES, OVERRIDE, SHARED_CONSTANTS, UNCHECKED, Constant
from .devices import DEVICES
from .models import MODELS
from .specs import DeviceProfile, ModelSpec

log = logging.getLogger(__name__)

#: Fields that are not numbers an override may set.
_NOT_OVERRIDABLE = ("name", "source", "constants")

#: Fields besides the time-like ones that may be 0: a peak of 0 = dtype not
#: supported; 0 parameters / 0 copies = absent; memory_fp32_gb 0 = derive it.
_ZERO_OK = {"vision_params_b", "embedding_lookup_params_b", "memory_fp32_gb",
            "attention_score_copies", "peak_tflops_fp32", "peak_tflops_fp16",
            "peak_tflops_bf16"}


def may_be_zero(field: str) -> bool:
    """Whether an override may set ``field`` to 0.

    Every time-like field may (``..._s``, ``..._s_per_token``, ``..._time_scale``):
    a stage or a floor can be switched off.

    >>> may_be_zero("pass_overhead_s"), may_be_zero("decode_time_scale"), may_be_zero("memory_gb")
    (True, True, False)
    >>> may_be_zero("bandwidth_gb_per_s")       # a rate, not a time
    False
    """
    seconds = field.endswith("_s") and not field.endswith("_per_s")  # not a rate
    time_like = seconds or field.endswith(("_s_per_token", "_time_scale"))
    return time_like or field in _ZERO_OK


def _canonical(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def _lookup(kind: str, name: str, table: Mapping[str, Any]) -> Any:
    key = _canonical(name)
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, list(table), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InputError(f"unknown {kind} {name!r}; expected one of {', '.join(table)}{hint}")


def list_devices() -> list[str]:
    """Names of the registered devices."""
    return list(DEVICES)


def list_models() -> list[str]:
    """Names of the registered models.

    >>> list_models()
    ['qwen2-vl-2b', 'qwen2-vl-7b', 'llava-1.5-7b', 'llava-1.5-13b', 'geochat-7b']
    """
    return list(MODELS)


def _number(kind: str, key: str, value: Any, default: Any) -> float | int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{kind} override {key}={value!r}; expected a number") from None
    zero_ok = may_be_zero(key)
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
        expected = ">= 0" if zero_ok else "> 0"
        raise InputError(f"{kind} override {key}={value!r}; expected a finite number {expected}")
    if isinstance(default, int) and not isinstance(default, bool):
        if number != int(number):
            raise InputError(f"{kind} override {key}={value!r}; expected a whole number")
        return int(number)
    return number


def _apply_overrides(kind: str, spec: Any, overrides: Mapping[str, Any] | None) -> Any:
    """A copy of the frozen dataclass ``spec`` with fields replaced by name."""
    if not overrides:
        return spec
    fields = [f.name for f in dataclasses.fields(spec) if f.name not in _NOT_OVERRIDABLE]
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"unknown {kind} field {key!r} in overrides for {spec.name}; "
                             f"expected one of {', '.join(fields)}{hint}")
        default = getattr(spec, key)
        if isinstance(default, str):
            if key == "weights_dtype" and value not in DTYPE_BYTES:
                raise InputError(f"{kind} override weights_dtype={value!r}; expected one of "
                                 f"{', '.join(DTYPE_BYTES)}")
            changes[key] = str(value)
        else:
            changes[key] = _number(kind, key, value, default)
    note = ", ".join(f"{k}={v}" for k, v in changes.items())
    log.debug("%s %s overridden: %s", kind, spec.name, note)
    consts = tuple(c for c in spec.constants if c.name.rsplit(".", 1)[-1] not in changes)
    consts += tuple(Constant(f"{spec.name}.{k}", v, "", OVERRIDE, "overrides")
                    for k, v in changes.items() if not isinstance(v, str))
    return dataclasses.replace(spec, **changes, constants=consts,
                               source=f"{spec.source}; overridden: {note}")


def get_device(name: str, overrides: Mapping[str, Any] | None = None) -> DeviceProfile:
    """The registered device ``name``, with ``overrides`` replacing fields by name."""
    return _apply_overrides("device", _lookup("device", name, DEVICES), overrides)


def get_model(name: str, overrides: Mapping[str, Any] | None = None) -> ModelSpec:
    """The registered model ``name``, with ``overrides`` replacing fields by name.

    >>> get_model("qwen2-vl-7b", {"max_visual_tokens": 1280}).max_visual_tokens
    1280
    """
    return _apply_overrides("model", _lookup("model", name, MODELS), overrides)


def all_constants() -> list[Constant]:
    """Every sourced constant of the shared settings, devices and models (each name once)."""
    seen: dict[str, Constant] = {}
    for c in SHARED_CONSTANTS:
        seen.setdefault(c.name, c)
    for spec in [*DEVICES.values(), *MODELS.values()]:
        for c in spec.constants:
            seen.setdefault(c.name, c)
    return list(seen.values())


def unverified_constants() -> list[dict]:
    """Every ASSUMPTION or UNVERIFIED constant: ``{"name", "value", "unit", "status", "source"}``.

    One place to see what a result rests on that no primary source fixed here:

    >>> rows = unverified_constants()
    >>> names = {r["name"] for r in rows}
    >>> {"shared.compute_efficiency", "jetson-agx-xavier.bandwidth_gb_per_s"} <= names
    True
    >>> all(r["status"] in ("ASSUMPTION", "UNVERIFIED") and r["source"] for r in rows)
    True
    """
    return [c.as_dict() for c in all_constants() if c.status in UNCHECKED]
