"""Policies that decide during the simulation, from the state of the network.

They see a :class:`~simulator.engine.decisions.DecisionView` at every decision
point — buffer, contacts, link, ground queue — and are what a static plan cannot
be: "offload only if a contact opens soon and the buffer has room".  Registered
here (importing this module registers them):

``deadline-aware``
    At every decision point before the final answer (at capture, after the vision
    encoding, after each stage of tokens), offload a sample only if its expected
    end-to-end latency from now through the ground (compression, wait for a contact, the buffer's backlog, the
    transfer, the ground queue and model) beats answering it onboard by
    ``margin`` (default 0.1: at least 10 % faster) than finishing it onboard;
    otherwise go on onboard.
    With ``confidence_below`` (a number in [0, 1]), only samples whose onboard
    confidence (the trace's ``onboard_confidence``) is below it are considered
    for offloading.  The ground model is the better one, so every offload it
    makes buys accuracy *and* time.
``buffer-aware``
    Offload at capture (every sample, or those below ``confidence_below``) as
    long as the buffer stays under ``fill_limit`` of its capacity (default 0.8)
    and the backlog ahead would be sent within ``max_backlog_s`` (default: no
    limit); otherwise, and at the buffer's door if it filled meanwhile, answer
    onboard instead of dropping the sample.

Both send the full image (like the baselines of the paper).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError
from .allocation import REGISTRY, AllocationPolicy, Plan, PolicyContext
from .registry import Param

#: Shared by both: which samples are candidates for offloading.
_CONFIDENCE_BELOW = Param("number", None, "only samples whose onboard_confidence is below it "
                          "may be offloaded", low=0, high=1, default_text="every sample")


def _fraction(params: dict, key: str, default):
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"policy.params.{key}={value!r}; expected a number in [0, 1]")
    return float(value)


class _Online(AllocationPolicy):
    online = True
    sends_full_image = True
    validates_params = True

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.confidence_below = _fraction(self.params, "confidence_below", None)

    def plan(self, ctx: PolicyContext) -> Plan:
        """No decision before the run: the engine asks :meth:`decider` during it."""
        n = len(ctx.samples)
        self._candidate = np.ones(n, dtype=bool)
        if self.confidence_below is not None:
            if "onboard_confidence" not in ctx.samples:
                raise InputError(f"policy.params.confidence_below: the trace has no "
                                 f"onboard_confidence column for {self.name} to read")
            conf = ctx.samples["onboard_confidence"].to_numpy(float)
            self._candidate = conf < self.confidence_below
        return Plan(np.zeros(n, dtype=bool), np.full(n, ctx.final_stage, dtype=int),
                    notes={"decided": "during the simulation, from the state of the network",
                           "candidates": int(self._candidate.sum()), **self.describe()})

    def decider(self, ctx: PolicyContext, plan: Plan):
        return self

    def describe(self) -> dict:
        return {"name": self.name, **self.params}


class DeadlineAware(_Online):
    """Offload when the ground answers sooner than the satellite by a margin."""

    name = "deadline-aware"
    params_schema = {
        "margin": Param("number", 0.1, "offload only if the ground is this fraction faster",
                        low=0, high=1),
        "confidence_below": _CONFIDENCE_BELOW,
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.margin = _fraction(self.params, "margin", 0.1)

    def decide(self, view) -> bool:
        if view.stage >= view.final_stage or not self._candidate[view.sample]:
            return False
        onboard = view.onboard_left_s
        return view.expected_offload_latency_s() < (1.0 - self.margin) * onboard

    def admit(self, view) -> bool:
        return True


class BufferAware(_Online):
    """Offload while the buffer has room; answer onboard rather than drop."""

    name = "buffer-aware"
    params_schema = {
        "fill_limit": Param("number", 0.8, "offload while the buffer stays under this share "
                            "of its capacity", low=0, high=1),
        "max_backlog_s": Param("number", None, "offload only while the backlog ahead is sent "
                               "within this many seconds", low=0, low_open=True,
                               default_text="no limit"),
        "confidence_below": _CONFIDENCE_BELOW,
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.fill_limit = _fraction(self.params, "fill_limit", 0.8)
        backlog = self.params.get("max_backlog_s")
        if backlog is not None and (isinstance(backlog, bool)
                                    or not isinstance(backlog, (int, float)) or backlog <= 0):
            raise InputError(f"policy.params.max_backlog_s={backlog!r}; expected a number > 0")
        self.max_backlog_s = math.inf if backlog is None else float(backlog)

    def _room(self, view) -> bool:
        after = view.buffer_bytes + view.sample_bytes
        return (after <= self.fill_limit * view.buffer_capacity_bytes
                and view.backlog_tx_s <= self.max_backlog_s)

    def decide(self, view) -> bool:
        return view.stage == 0 and bool(self._candidate[view.sample]) and self._room(view)

    def admit(self, view) -> bool:
        return view.buffer_bytes + view.sample_bytes <= view.buffer_capacity_bytes


for _cls in (DeadlineAware, BufferAware):
    REGISTRY[_cls.name] = _cls
