"""What the event loop takes and gives: per-sample inputs, the network, the output.

:class:`SampleInputs` says, per sample, *what* happens (which satellite captured it
when, how long its onboard work takes, whether it is offloaded, how many bytes go
down, how long the ground model needs); :class:`NetworkInputs` says *when* each
satellite can talk to which station and over what link; :class:`SimulationOutput`
says *when* everything happened (:class:`~simulator.engine.simulation.Simulation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

#: Final status of a sample: exactly one per sample.
STATUS = ("onboard", "ground", "dropped", "unfinished")
_ONBOARD, _GROUND, _DROPPED, _UNFINISHED = range(4)

#: Columns of :attr:`SimulationOutput.transmissions`, one row per transmitted piece.
TRANSMISSION_DTYPE = np.dtype([("row", np.int64), ("satellite_index", np.int64),
                               ("station_index", np.int64), ("start_s", np.float64),
                               ("end_s", np.float64), ("bytes", np.float64)])


@dataclass
class SampleInputs:
    """Per-sample inputs, arrays of equal length ``n``."""

    satellite: np.ndarray        # int: index of the capturing satellite
    capture_s: np.ndarray        # float: capture time, seconds since start
    onboard_s: np.ndarray        # float: onboard accelerator seconds (inference up to the decision)
    offload: np.ndarray          # bool: sent to the ground
    compress_s: np.ndarray       # float: onboard compression seconds (offloaded samples)
    bytes_sent: np.ndarray       # int: bytes downlinked (after compression)
    ground_s: np.ndarray         # float: ground GPU seconds
    priority: np.ndarray | None = None  # float: buffer priority, smaller first
    #: Decisions during the run (:mod:`simulator.engine.decisions`): a decider and the
    #: cumulative onboard seconds to reach each stage (n x (I + 2)).  None = the static
    #: ``offload`` / ``onboard_s`` above, scheduled in closed form (the fast path).
    decider: object | None = None
    onboard_at_stage: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.capture_s)


@dataclass(slots=True)
class ContactWindow:
    rise_s: float
    set_s: float
    station: int


@dataclass
class NetworkInputs:
    """Satellites, stations and links.

    ``propagation_s(sat, station, t)`` is the one-way light time; if it also has a
    ``many(sats, stations, times)`` method (arrays in, an array out, the same values
    bit for bit), the light times of all transfers are computed together.
    """

    windows: Sequence[Sequence[ContactWindow]]  # per satellite, sorted by rise
    antennas: Sequence[int]                     # per station
    gpus: Sequence[int]                         # per station
    transport: object                           # simulator.links.transport.Transport
    propagation_s: Callable[[int, int, float], float]
    slots: int = 1
    isl: object | None = None                   # simulator.orbits.isl.InterSatelliteLinks
    buffer_capacity_bytes: float = math.inf
    priority_buffer: bool = False
    horizon_s: float = math.inf


@dataclass
class SimulationOutput:
    """Per-sample timings (arrays of length n) and the transmission log."""

    status: np.ndarray
    station: np.ndarray
    onboard_start_s: np.ndarray
    onboard_end_s: np.ndarray
    tx_start_s: np.ndarray
    tx_end_s: np.ndarray
    tx_s: np.ndarray
    tx_pieces: np.ndarray
    wait_contact_s: np.ndarray
    buffer_queue_s: np.ndarray
    propagation_s: np.ndarray
    ground_arrival_s: np.ndarray
    ground_start_s: np.ndarray
    ground_end_s: np.ndarray
    done_s: np.ndarray
    #: Every transmitted piece: a structured array of :data:`TRANSMISSION_DTYPE`
    #: (``row`` = sample, ``satellite_index``, ``station_index``, ``start_s``,
    #: ``end_s``, ``bytes``), in the order the pieces were sent by each satellite.
    transmissions: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=TRANSMISSION_DTYPE))
    events: int = 0          #: SimPy events scheduled
    dropped_bytes: float = 0.0
    #: What was decided (the inputs' plan on the fast path, the decider's choices online):
    offload: np.ndarray | None = None   # bool
    stage: np.ndarray | None = None     # int, the decision point; -1 = never started
    onboard_s: np.ndarray | None = None  # onboard accelerator seconds spent
    #: Inter-satellite relay: per-sample hops and seconds on ISLs, and every hop
    #: (sample, hop, from, to, start, end, bytes, light time).
    isl_hops: np.ndarray | None = None
    isl_s: np.ndarray | None = None
    isl_path: list | None = None
    hops: list = field(default_factory=list)
    #: Which path ran: ``fast`` (decisions before the run, no relay) or ``live``.
    path: str = "fast"
