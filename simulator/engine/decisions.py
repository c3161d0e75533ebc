"""Decisions taken *during* the simulation, from what a satellite can know at that moment.

A sample meets its policy at decision points (stage 0 at capture, stage i after
the onboard work of point i, the final answer at stage I + 1; see
:mod:`simulator.policies.allocation`) and, once it is to be offloaded, at the
door of the onboard buffer.  A **decider** answers there:

``decide(view) -> bool``
    offload now (True) or let the onboard model go on (False);
``admit(view) -> bool``
    put the (compressed) sample into the downlink buffer (True), or keep it
    onboard after all (False: it goes back to the onboard accelerator for the
    rest of its onboard inference and is answered there).

``view`` is a :class:`DecisionView`: a read-only picture of the satellite and its
links at that instant — buffer bytes and capacity, whether a contact is open and
for how long, when the next one opens and how long it lasts, the capacity of the
link now, the expected transfer time of this sample, the backlog ahead of it in
the buffer, the ground station's queue, and the sample's own numbers (row,
stage, bytes, the cumulative onboard seconds of every stage, its ground
seconds).  A policy's own per-sample signals (its confidence so far) are its
business: it computed them before the run and reads them by ``view.sample``.

Policies that decide everything before the run (every policy of the paper) are
*static*: the engine then computes the onboard schedule in closed form, the fast
path.  :class:`PlanDecider` gives the same decisions through this interface, and
``tests/test_online_policies.py`` checks that both paths give byte-identical
results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Decider(Protocol):
    """What the engine asks during the simulation (see the module docstring)."""

    def decide(self, view: "DecisionView") -> bool: ...

    def admit(self, view: "DecisionView") -> bool: ...


@dataclass(frozen=True)
class DecisionView:
    """The state a satellite sees when one of its samples meets a decision point.

    Times are seconds; ``next_contact_in_s`` is 0 when a contact is open now and
    ``inf`` when none will open before the horizon.
    """

    now_s: float
    satellite: int
    sample: int                     #: row of the sample in the run's tables
    stage: int                      #: decision point (0 = capture, ..., I + 1 = final)
    final_stage: int
    onboard_s_at_stage: tuple       #: cumulative onboard seconds to reach each stage
    ground_s: float                 #: the ground model's seconds for this sample
    sample_bytes: float             #: what the sample would send (after compression)
    compress_s: float               #: onboard compression seconds before sending
    buffer_bytes: float             #: bytes waiting in this satellite's buffer
    buffer_capacity_bytes: float
    in_contact: bool
    contact_left_s: float           #: time left in the open window (0 if none)
    next_contact_in_s: float
    next_contact_length_s: float
    station: int                    #: the station of the open (or next) window, -1 if none
    link_rate_bps: float            #: the capacity of that link now (or when it opens)
    expected_tx_s: float            #: this sample's transfer alone on that link
    backlog_tx_s: float             #: expected transfer time of what waits in the buffer
    ground_queue_s: float           #: wait for a free GPU at that station, were it now
    onboard_queue: int              #: samples of this satellite waiting for the accelerator

    @property
    def onboard_left_s(self) -> float:
        """Onboard seconds still needed to answer onboard from this stage."""
        return self.onboard_s_at_stage[self.final_stage] - self.onboard_s_at_stage[self.stage]

    @property
    def buffer_room_bytes(self) -> float:
        return self.buffer_capacity_bytes - self.buffer_bytes

    def expected_offload_latency_s(self, propagation_s: float = 0.005) -> float:
        """From now to a ground answer if offloaded now: compression, the wait for a
        contact, the buffer's backlog, the transfer, the light time, the ground queue
        and the ground model.  ``inf`` when no contact will open."""
        wait = self.next_contact_in_s
        if not math.isfinite(wait):
            return math.inf
        return (self.compress_s + wait + self.backlog_tx_s + self.expected_tx_s
                + propagation_s + self.ground_queue_s + self.ground_s)


class PlanDecider:
    """A static plan (per-sample ``offload`` and ``stage``) through the online interface."""

    def __init__(self, offload: np.ndarray, stage: np.ndarray):
        self._offload = np.asarray(offload, dtype=bool).tolist()
        self._stage = np.asarray(stage, dtype=int).tolist()

    def decide(self, view: DecisionView) -> bool:
        return self._offload[view.sample] and view.stage == self._stage[view.sample]

    def admit(self, view: DecisionView) -> bool:
        return True
