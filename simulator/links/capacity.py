"""Link capacity: how many bits per second the downlink itself carries.

The simulator moves data from satellites to ground stations during contact
windows.  How fast depends on the link, and this module offers three answers
behind one small interface, :class:`LinkModel`:

* :class:`ConstantLink` -- one fixed rate, as in the SpaceVerse paper
  (110.67 Mbps)::

      >>> link = ConstantLink(110.67)
      >>> link.rate_bps(0, 0, 12.5)
      110670000.0

* :class:`TraceLink` -- replays a measured throughput series, such as the two
  Starlink traces bundled in ``models/link_traces/`` (see
  :func:`list_link_traces` and that folder's ``PROVENANCE.md``)::

      >>> trace = TraceLink.from_bundled("starlink-autobahn-2024-04-19")
      >>> round(trace.mean_rate_mbps, 1)
      217.7

* :class:`BudgetLink` -- a physical X-band link budget: the slant range from
  :class:`~simulator.orbits.geometry.PassGeometry` gives the free-space loss,
  the loss gives Es/N0, and Es/N0 picks the best DVB-S2 MODCOD that still
  closes.  The rate then rises and falls during a pass.

Every model answers three questions.  ``rate_bps(sat, station, t_s)`` is the
instantaneous rate at simulation time ``t_s`` (seconds since the scenario start);
``piece_s(sat, station, t_s)`` says for how long from ``t_s`` the simulator may
treat that rate as constant, so that it can integrate transfers piece by piece
without sampling; ``describe()`` returns the parameters for the results metadata.

:func:`propagation_delay_s` converts a slant range into the light-time delay.

These are *line rates*.  How an application's bytes move over a protocol on
top of them (TCP's handshake, slow start, header overhead and loss) is the
business of :mod:`simulator.links.transport`; the bundled trace files and
their conversion live in :mod:`simulator.links.trace_files`.

Units are in the names: ``_bps`` bits per second, ``_mbps`` megabits (10^6 bits)
per second, ``_km``, ``_s``, ``_db``, ``_ghz``.
"""

from __future__ import annotations

import bisect
import difflib
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..orbits.geometry import PassGeometry
from .trace_files import _read_trace_file, _sha256, _validated_trace, list_link_traces

logger = logging.getLogger(__name__)

__all__ = [
    "SPEED_OF_LIGHT_KM_S",
    "BOLTZMANN_DBW_PER_K_HZ",
    "BOUNDARY_TOLERANCE_S",
    "MASK_TOLERANCE_DEG",
    "LinkModel",
    "ConstantLink",
    "TraceLink",
    "BudgetLink",
    "LinkBudget",
    "Modcod",
    "DVB_S2_MODCODS",
    "efficient_modcods",
    "free_space_path_loss_db",
    "propagation_delay_s",
]

#: Speed of light in vacuum, km/s (exact, SI definition).
SPEED_OF_LIGHT_KM_S = 299792.458

#: Boltzmann's constant in dB(W/K/Hz): 10 log10(1.380649e-23) = -228.6.
BOLTZMANN_DBW_PER_K_HZ = -228.6

#: Times closer than this to a trace or budget piece boundary count as on it,
#: so that ``t + piece_s(t)`` never lands a rounding error short of the boundary.
BOUNDARY_TOLERANCE_S = 1e-6


# ---------------------------------------------------------------------------
# The interface


@runtime_checkable
class LinkModel(Protocol):
    """What the simulator needs from a downlink model.

    ``sat`` and ``station`` are indices (into the scenario's satellite and
    station lists); ``t_s`` is seconds since the scenario start.
    """

    name: str

    def rate_bps(self, sat: int, station: int, t_s: float) -> float:
        """Instantaneous downlink rate in bits per second (0 when the link is down)."""
        ...

    def piece_s(self, sat: int, station: int, t_s: float) -> float:
        """How long from ``t_s`` the rate may be treated as constant (``inf`` if forever)."""
        ...

    def describe(self) -> dict:
        """The model's parameters, for the results metadata."""
        ...


def _finite(value, what: str, *, minimum: float | None = None, strict: bool = False) -> float:
    """``value`` as a float, or an :class:`InputError` naming ``what``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be a finite number, got {value!r}")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        raise InputError(f"{what} must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return number


def _scalar_or_array(values: np.ndarray, scalar: bool):
    return float(values.reshape(-1)[0]) if scalar else values


def _check_times(t_s, what: str = "t_s") -> tuple[np.ndarray, bool]:
    scalar = np.ndim(t_s) == 0
    t = np.asarray(t_s, dtype=float).reshape(-1) if scalar else np.asarray(t_s, dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = t[~(np.isfinite(t) & (t >= 0))].reshape(-1)[0]
        raise InputError(f"{what} must be a finite time >= 0 s since the scenario start, got {bad!r}")
    return t, scalar


# ---------------------------------------------------------------------------
# Constant rate


class ConstantLink:
    """The same rate for every satellite, station and time.

    >>> ConstantLink(110.67).describe()
    {'model': 'constant', 'name': 'constant', 'rate_mbps': 110.67}
    >>> ConstantLink(-1)
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: constant link rate_mbps must be >= 0, got -1
    """

    def __init__(self, rate_mbps: float, *, name: str = "constant"):
        self.rate_mbps = _finite(rate_mbps, "constant link rate_mbps", minimum=0.0)
        self.name = name

    def __repr__(self) -> str:
        return f"ConstantLink({self.rate_mbps:g} Mbps)"

    def rate_bps(self, sat: int, station: int, t_s: float) -> float:
        return self.rate_mbps * 1e6

    def piece_s(self, sat: int, station: int, t_s: float) -> float:
        return math.inf

    def describe(self) -> dict:
        return {"model": "constant", "name": self.name, "rate_mbps": self.rate_mbps}


# ---------------------------------------------------------------------------
# Measured traces (files, listing and conversion: see .trace_files)


class TraceLink:
    """Replays a measured throughput series as the downlink rate.

    ``trace`` is a table with columns ``t_s`` (seconds, strictly increasing)
    and ``rate_mbps`` (>= 0; 0 is an outage).  Times are taken relative to the
    first sample, so a trace may also start at, say, a Unix time.

    **Replay.**  Sample *i* holds from its own time to the next sample's time:
    the rate is piecewise constant.  The last sample lasts one typical sample
    period (the median spacing), so the trace covers ``[0, duration_s)``.  The
    rate at simulation time ``t`` is the trace's rate at ``u = t + offset_s``,
    multiplied by ``scale``:

    * ``loop=True`` (default): ``u`` wraps around, modulo ``duration_s``, so the
      trace repeats for ever;
    * ``loop=False``: after the end the last sample's rate holds for ever.

    Every satellite-station pair sees the same series (choose ``offset_s`` to
    start elsewhere in it).  ``piece_s`` is the time to the next sample
    boundary (``inf`` after the end of a non-looping trace); a time within
    :data:`BOUNDARY_TOLERANCE_S` before a boundary counts as on it.

    >>> link = TraceLink(pd.DataFrame({"t_s": [0.0, 1.0, 2.0], "rate_mbps": [10, 0, 30]}))
    >>> link.rate_bps(0, 0, 0.5), link.piece_s(0, 0, 0.5)
    (10000000.0, 0.5)
    >>> link.rate_bps(0, 0, 1.0), link.rate_bps(0, 0, 3.2)   # an outage; then wrapped around
    (0.0, 10000000.0)
    >>> link.duration_s, round(link.mean_rate_mbps, 3)
    (3.0, 13.333)
    """

    def __init__(self, trace: pd.DataFrame, *, scale: float = 1.0, offset_s: float = 0.0,
                 loop: bool = True, name: str = "trace", source: Path | None = None):
        where = str(source) if source is not None else f"link trace {name!r}"
        # a text file's problems are given by line (header = line 1), a table's by row
        by_line = source is not None and ".csv" in [s.lower() for s in Path(source).suffixes]
        self._t, rate_mbps = _validated_trace(trace, where, file=by_line)
        self.scale = _finite(scale, f"{where}: scale", minimum=0.0, strict=True)
        self.offset_s = _finite(offset_s, f"{where}: offset_s", minimum=0.0)
        self.loop = bool(loop)
        self.name = name
        self.source = source
        self._rate_mbps = rate_mbps
        self._rate_bps = rate_mbps * 1e6 * self.scale
        n = len(self._t)
        self.sample_period_s = float(np.median(np.diff(self._t))) if n > 1 else 1.0
        #: Length of the replayed series in seconds (the loop period).
        self.duration_s = float(self._t[-1] + self.sample_period_s)
        self._ends = np.append(self._t[1:], self.duration_s)
        # plain lists for the one-time lookups of the transport's hot path
        self._t_list, self._ends_list = self._t.tolist(), self._ends.tolist()
        self._rate_list = self._rate_bps.tolist()
        self._source_sha256 = _sha256(source) if source is not None else None

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, **options) -> "TraceLink":
        """A trace from a CSV or parquet file with columns ``t_s`` and ``rate_mbps``.

        ``options`` are those of the constructor; ``name`` defaults to the file
        name without its suffixes.
        """
        path = Path(path).expanduser()
        frame = _read_trace_file(path)
        options.setdefault("name", path.name.split(".")[0])
        link = cls(frame, source=path, **options)
        logger.info("link trace %s: %d samples, %.0f s, mean %.1f Mbps (x%g)", link.name,
                    len(link._t), link.duration_s, link.mean_rate_mbps, link.scale)
        return link

    @classmethod
    def from_bundled(cls, name: str, **options) -> "TraceLink":
        """A bundled trace by name (see :func:`list_link_traces`).

        >>> TraceLink.from_bundled("starlink-autobhan")
        Traceback (most recent call last):
        ...
        simulator.errors.InputError: unknown link trace 'starlink-autobhan'; did you mean 'starlink-autobahn-2024-04-19'? known traces: starlink-autobahn-2024-04-19, fjordlink-dish-2024-12-12
        """
        known = list_link_traces()
        key = str(name).strip()
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=2, cutoff=0.5)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ";"
            raise InputError(f"unknown link trace {name!r}{hint} known traces: " + ", ".join(known))
        path = known[key]
        if not path.is_file():
            raise InputError(f"link trace {key!r}: bundled file {path} is missing "
                             f"(is SPACEVERSE_HOME pointing at the repository?)")
        options.setdefault("name", key)
        return cls.from_file(path, **options)

    def __repr__(self) -> str:
        return (f"TraceLink({self.name!r}, {len(self._t)} samples, {self.duration_s:g} s, "
                f"scale={self.scale:g}, offset_s={self.offset_s:g}, loop={self.loop})")

    # -- statistics ----------------------------------------------------------

    @property
    def n_samples(self) -> int:
        return len(self._t)

    @property
    def mean_rate_mbps(self) -> float:
        """Time-weighted mean rate over one replay of the trace, scale included."""
        durations = self._ends - self._t
        return float(np.sum(self._rate_mbps * durations) / self.duration_s * self.scale)

    # -- replay --------------------------------------------------------------

    def _locate(self, t_s) -> tuple[np.ndarray, np.ndarray, bool]:
        """Sample index and trace time ``u`` for simulation times ``t_s``."""
        t, scalar = _check_times(t_s)
        u = t + self.offset_s
        if self.loop:
            u = np.mod(u, self.duration_s)
            u = np.where(u >= self.duration_s - BOUNDARY_TOLERANCE_S, u - self.duration_s, u)
        index = np.searchsorted(self._t, u + BOUNDARY_TOLERANCE_S, side="right") - 1
        return np.clip(index, 0, len(self._t) - 1), u, scalar

    def _locate_one(self, t_s: float) -> tuple[int, float]:
        """:meth:`_locate` for one float time, without numpy (same arithmetic)."""
        if not 0.0 <= t_s < math.inf:
            _check_times(t_s)                    # raises the InputError
        u = t_s + self.offset_s
        if self.loop:
            u = u % self.duration_s
            if u >= self.duration_s - BOUNDARY_TOLERANCE_S:
                u -= self.duration_s
        index = bisect.bisect_right(self._t_list, u + BOUNDARY_TOLERANCE_S) - 1
        return min(max(index, 0), len(self._t_list) - 1), u

    def rate_bps(self, sat: int, station: int, t_s):
        """The trace's rate at ``t_s + offset_s`` times ``scale``, in bits/s (vectorised)."""
        if isinstance(t_s, float):
            return self._rate_list[self._locate_one(t_s)[0]]
        index, _, scalar = self._locate(t_s)
        return _scalar_or_array(self._rate_bps[index], scalar)

    def piece_s(self, sat: int, station: int, t_s):
        """Seconds from ``t_s`` to the next sample boundary (vectorised)."""
        if isinstance(t_s, float):
            index, u = self._locate_one(t_s)
            if not self.loop and index == len(self._t_list) - 1:
                return math.inf
            return self._ends_list[index] - u
        index, u, scalar = self._locate(t_s)
        piece = self._ends[index] - u
        if not self.loop:
            piece = np.where(index == len(self._t) - 1, math.inf, piece)
        return _scalar_or_array(piece, scalar)

    def describe(self) -> dict:
        out = {"model": "trace", "name": self.name, "samples": len(self._t),
               "duration_s": self.duration_s, "sample_period_s": self.sample_period_s,
               "mean_rate_mbps": self.mean_rate_mbps, "scale": self.scale,
               "offset_s": self.offset_s, "loop": self.loop}
        if self.source is not None:
            out["source"] = str(self.source)
            out["source_sha256"] = self._source_sha256
        return out


# ---------------------------------------------------------------------------
# Link budget


@dataclass(frozen=True)
class Modcod:
    """A DVB-S2 modulation and coding pair with its AWGN requirement.

    ``spectral_efficiency`` is information bits per transmitted symbol (normal
    64 800-bit FECFRAME, no pilots); ``es_n0_db`` the ideal Es/N0 for a packet
    error rate of 1e-7 (quasi error free).
    """

    modulation: str
    code_rate: str
    spectral_efficiency: float
    es_n0_db: float

    @property
    def name(self) -> str:
        return f"{self.modulation} {self.code_rate}"


def _modcods(rows) -> tuple[Modcod, ...]:
    return tuple(Modcod(m, r, e, s) for m, r, e, s in rows)


#: The 28 DVB-S2 MODCODs of ETSI EN 302 307-1 (V1.4.1, 2014), Table 13:
#: spectral efficiency (bit/symbol) and ideal Es/N0 (dB) at PER 1e-7 on an AWGN
#: channel, normal FECFRAME.  Listed as in the standard, by modulation and rate.
DVB_S2_MODCODS: tuple[Modcod, ...] = _modcods([
    ("QPSK", "1/4", 0.490243, -2.35),
    ("QPSK", "1/3", 0.656448, -1.24),
    ("QPSK", "2/5", 0.789412, -0.30),
    ("QPSK", "1/2", 0.988858, 1.00),
    ("QPSK", "3/5", 1.188304, 2.23),
    ("QPSK", "2/3", 1.322253, 3.10),
    ("QPSK", "3/4", 1.487473, 4.03),
    ("QPSK", "4/5", 1.587196, 4.68),
    ("QPSK", "5/6", 1.654663, 5.18),
    ("QPSK", "8/9", 1.766451, 6.20),
    ("QPSK", "9/10", 1.788612, 6.42),
    ("8PSK", "3/5", 1.779991, 5.50),
    ("8PSK", "2/3", 1.980636, 6.62),
    ("8PSK", "3/4", 2.228124, 7.91),
    ("8PSK", "5/6", 2.478562, 9.35),
    ("8PSK", "8/9", 2.646012, 10.69),
    ("8PSK", "9/10", 2.679207, 10.98),
    ("16APSK", "2/3", 2.637201, 8.97),
    ("16APSK", "3/4", 2.966728, 10.21),
    ("16APSK", "4/5", 3.165623, 11.03),
    ("16APSK", "5/6", 3.300184, 11.61),
    ("16APSK", "8/9", 3.523143, 12.89),
    ("16APSK", "9/10", 3.567342, 13.13),
    ("32APSK", "3/4", 3.703295, 12.73),
    ("32APSK", "4/5", 3.951571, 13.64),
    ("32APSK", "5/6", 4.119540, 14.28),
    ("32APSK", "8/9", 4.397854, 15.69),
    ("32APSK", "9/10", 4.453027, 16.05),
])

_THRESHOLD_DB = np.array([m.es_n0_db for m in DVB_S2_MODCODS])
_EFFICIENCY = np.array([m.spectral_efficiency for m in DVB_S2_MODCODS])


def efficient_modcods() -> list[Modcod]:
    """The MODCODs worth using, by rising threshold: those no other beats on both counts.

    Some MODCODs are dominated (8PSK 3/5 needs less Es/N0 than QPSK 8/9 and
    carries more), so the full table is not monotonic; this subset is, and it
    is what adaptive coding and modulation chooses from.

    >>> [m.name for m in efficient_modcods()][-3:]
    ['32APSK 5/6', '32APSK 8/9', '32APSK 9/10']
    """
    order = sorted(DVB_S2_MODCODS, key=lambda m: (m.es_n0_db, -m.spectral_efficiency))
    frontier: list[Modcod] = []
    for m in order:
        if not frontier or m.spectral_efficiency > frontier[-1].spectral_efficiency:
            frontier.append(m)
    return frontier


def free_space_path_loss_db(range_km, frequency_ghz: float):
    """Free-space path loss ``20 log10(4 pi d f / c)`` in dB (vectorised over ``range_km``).

    >>> round(free_space_path_loss_db(1000.0, 8.2), 2)
    170.72
    """
    d = np.asarray(range_km, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = 20.0 * np.log10(4.0 * np.pi * d * frequency_ghz * 1e9 / SPEED_OF_LIGHT_KM_S)
    return float(loss) if np.ndim(range_km) == 0 else loss


@dataclass(frozen=True)
class LinkBudget:
    """An X-band downlink budget: from slant range to the DVB-S2 rate that closes.

    The chain, all in dB::

        FSPL    = 20 log10(4 pi d f / c)
        C/N0    = EIRP - FSPL - implementation loss - atmospheric loss + G/T + 228.6
        Es/N0   = C/N0 - 10 log10(Rs),     Rs = bandwidth / (1 + rolloff)
        MODCOD  = the most efficient one with  threshold + required margin <= Es/N0
        rate    = Rs x spectral efficiency (0 when none closes), capped at max_rate_mbps

    (228.6 is minus Boltzmann's constant in dBW/K/Hz.)

    **How the defaults were chosen.**  They describe an Earth-observation
    smallsat in the 8025-8400 MHz X-band allocation, modelled on Planet's Dove
    High Speed Downlink (Devaraj et al., "Dove High Speed Downlink System",
    SSC17-VII-02: X-band, DVB-S2 with adaptive coding and modulation, 4.5-7.6 m
    ground dishes, 220 Mbps peak, 160 Mbps average, 12-15 GB in a 7-10 minute
    pass): 8.2 GHz carrier; 10 dBW EIRP (a couple of watts into a high-gain
    antenna); G/T 25 dB/K (the low end for a 4.5-7.6 m X-band dish); a
    150 MHz channel with 0.2 roll-off (125 Mbaud); 2 dB implementation
    (modem, pointing, polarisation) and 0.5 dB clear-sky atmospheric loss;
    1 dB margin above the ideal thresholds.

    Worked example with the defaults, 1000 km and 2500 km slant range:

    >>> budget = LinkBudget()
    >>> budget.symbol_rate_baud
    125000000.0
    >>> [round(budget.path_loss_db(d), 2) for d in (1000.0, 2500.0)]
    [170.72, 178.68]
    >>> [round(budget.es_n0_db(d), 2) for d in (1000.0, 2500.0)]
    [9.41, 1.45]
    >>> [budget.modcod(d).name for d in (1000.0, 2500.0)]
    ['8PSK 3/4', 'QPSK 2/5']
    >>> [round(budget.rate_bps(d) / 1e6, 1) for d in (1000.0, 2500.0)]
    [278.5, 98.7]

    At 550 km (the zenith of a 550 km orbit) it closes 32APSK 3/4, 463 Mbps.
    Over real passes -- the first 20 FLOCK satellites of ``planet@2026-06-14``
    (390-450 km) over Svalbard and Shanghai for one day, 10 degree mask, 247
    passes -- it moves a median 14.2 GB per pass (10th-90th percentile
    6.5-17.0 GB) at a median pass-mean rate of 312 Mbps: the volume Planet
    reports for Dove, at higher peak rates than the Dove radio's 220 Mbps.
    ``max_rate_mbps=220`` mimics that radio's cap (median 10.0 GB per pass,
    pass-mean 218 Mbps).
    """

    frequency_ghz: float = 8.2
    eirp_dbw: float = 10.0
    g_over_t_db_k: float = 25.0
    bandwidth_mhz: float = 150.0
    rolloff: float = 0.2
    implementation_loss_db: float = 2.0
    atmospheric_loss_db: float = 0.5
    required_margin_db: float = 1.0
    max_rate_mbps: float | None = None

    def __post_init__(self) -> None:
        _finite(self.frequency_ghz, "link budget frequency_ghz", minimum=0.0, strict=True)
        _finite(self.bandwidth_mhz, "link budget bandwidth_mhz", minimum=0.0, strict=True)
        for field in ("eirp_dbw", "g_over_t_db_k", "implementation_loss_db",
                      "atmospheric_loss_db", "required_margin_db"):
            _finite(getattr(self, field), f"link budget {field}")
        if not 0.0 <= _finite(self.rolloff, "link budget rolloff") <= 1.0:
            raise InputError(f"link budget rolloff must be in [0, 1], got {self.rolloff!r}")
        if self.max_rate_mbps is not None:
            _finite(self.max_rate_mbps, "link budget max_rate_mbps", minimum=0.0, strict=True)

    @property
    def symbol_rate_baud(self) -> float:
        return self.bandwidth_mhz * 1e6 / (1.0 + self.rolloff)

    def path_loss_db(self, range_km):
        return free_space_path_loss_db(range_km, self.frequency_ghz)

    def c_n0_db_hz(self, range_km):
        """Carrier-to-noise-density ratio in dB-Hz."""
        return (self.eirp_dbw - self.path_loss_db(range_km) - self.implementation_loss_db
                - self.atmospheric_loss_db + self.g_over_t_db_k - BOLTZMANN_DBW_PER_K_HZ)

    def es_n0_db(self, range_km):
        """Energy per symbol over noise density, dB."""
        return self.c_n0_db_hz(range_km) - 10.0 * math.log10(self.symbol_rate_baud)

    def _select(self, range_km):
        """Index of the chosen MODCOD (-1 where none closes) and Es/N0, as arrays."""
        es_n0 = np.atleast_1d(np.asarray(self.es_n0_db(range_km), dtype=float))
        closes = (_THRESHOLD_DB[None, :] + self.required_margin_db) <= es_n0[:, None]
        index = np.argmax(np.where(closes, _EFFICIENCY[None, :], -1.0), axis=1)
        return np.where(closes.any(axis=1), index, -1), es_n0

    def modcod(self, range_km: float) -> Modcod | None:
        """The MODCOD used at ``range_km`` (``None`` if none closes)."""
        index, _ = self._select(float(range_km))
        return DVB_S2_MODCODS[index[0]] if index[0] >= 0 else None

    def margin_db(self, range_km):
        """Es/N0 above the threshold of the MODCOD in use (vectorised).

        At least ``required_margin_db`` while the link closes; where it does
        not, the (smaller) margin over the most robust MODCOD, QPSK 1/4.
        """
        index, es_n0 = self._select(range_km)
        threshold = np.where(index >= 0, _THRESHOLD_DB[np.maximum(index, 0)], _THRESHOLD_DB.min())
        return _scalar_or_array(es_n0 - threshold, np.ndim(range_km) == 0)

    def rate_bps(self, range_km):
        """Information rate in bits/s at ``range_km`` (vectorised; 0 where nothing closes)."""
        index, _ = self._select(range_km)
        rate = np.where(index >= 0, self.symbol_rate_baud * _EFFICIENCY[np.maximum(index, 0)], 0.0)
        if self.max_rate_mbps is not None:
            rate = np.minimum(rate, self.max_rate_mbps * 1e6)
        return _scalar_or_array(rate, np.ndim(range_km) == 0)


#: Elevations this far below a station's mask still count as in view (the
#: contact search's window edges are exact to microseconds, about 1e-7 degrees).
MASK_TOLERANCE_DEG = 0.01


class BudgetLink:
    """A rate from the link budget at the satellite's current slant range.

    ``geometry`` gives range and elevation; the keyword parameters are those of
    :class:`LinkBudget` (see there for the equations, the defaults and a worked
    example).  The rate is 0 while the satellite is below the station's elevation
    mask (less :data:`MASK_TOLERANCE_DEG`) or SGP4 cannot place it.

    The rate changes continuously during a pass; ``piece_s`` lets the simulator
    hold it for up to ``step_s`` seconds (5 by default: at LEO ranges the rate
    changes by at most one MODCOD step in that time), ending each piece on a
    multiple of ``step_s`` since the scenario start so results do not depend on
    when the model was asked.
    """

    def __init__(self, geometry: PassGeometry, *, frequency_ghz: float = 8.2,
                 eirp_dbw: float = 10.0, g_over_t_db_k: float = 25.0,
                 bandwidth_mhz: float = 150.0, rolloff: float = 0.2,
                 implementation_loss_db: float = 2.0, atmospheric_loss_db: float = 0.5,
                 required_margin_db: float = 1.0, max_rate_mbps: float | None = None,
                 step_s: float = 5.0, name: str = "budget"):
        if not isinstance(geometry, PassGeometry):
            raise InputError(f"budget link: expected a PassGeometry, got {type(geometry).__name__}")
        self.geometry = geometry
        self.budget = LinkBudget(frequency_ghz, eirp_dbw, g_over_t_db_k, bandwidth_mhz, rolloff,
                                 implementation_loss_db, atmospheric_loss_db, required_margin_db,
                                 max_rate_mbps)
        self.step_s = _finite(step_s, "budget link step_s", minimum=0.0, strict=True)
        self.name = name
        self._mask_deg = [s.min_elevation_deg for s in geometry.stations]

    def __repr__(self) -> str:
        return f"BudgetLink({self.budget}, step_s={self.step_s:g})"

    def _range_in_view(self, sat: int, station: int, t_s):
        """Slant range, with ``nan`` where the satellite is below the mask."""
        _check_times(t_s)
        rng, el = self.geometry.range_and_elevation(sat, station, t_s)
        below = np.asarray(el) < self._mask_deg[station] - MASK_TOLERANCE_DEG
        return np.where(below, np.nan, rng)

    def rate_bps(self, sat: int, station: int, t_s):
        rate = self.budget.rate_bps(self._range_in_view(sat, station, t_s))
        return _scalar_or_array(np.asarray(rate, dtype=float), np.ndim(t_s) == 0)

    def piece_s(self, sat: int, station: int, t_s):
        t, scalar = _check_times(t_s)
        piece = self.step_s - np.mod(t, self.step_s)
        piece = np.where(piece <= BOUNDARY_TOLERANCE_S, piece + self.step_s, piece)
        return _scalar_or_array(piece, scalar)

    def es_n0_db(self, sat: int, station: int, t_s):
        """Es/N0 (dB) at ``t_s`` (``nan`` below the mask)."""
        value = self.budget.es_n0_db(self._range_in_view(sat, station, t_s))
        return _scalar_or_array(np.asarray(value, dtype=float), np.ndim(t_s) == 0)

    def modcod_at(self, sat: int, station: int, t_s: float) -> Modcod | None:
        """The MODCOD in use at ``t_s`` (``None`` when the link does not close)."""
        return self.budget.modcod(float(self._range_in_view(sat, station, float(t_s))))

    def link_margin_db(self, sat: int, station: int, t_s):
        """Es/N0 above the threshold of the MODCOD in use (see :meth:`LinkBudget.margin_db`)."""
        value = self.budget.margin_db(self._range_in_view(sat, station, t_s))
        return _scalar_or_array(np.asarray(value, dtype=float), np.ndim(t_s) == 0)

    def describe(self) -> dict:
        return {"model": "budget", "name": self.name, **asdict(self.budget),
                "symbol_rate_baud": self.budget.symbol_rate_baud, "step_s": self.step_s,
                "mask_tolerance_deg": MASK_TOLERANCE_DEG,
                "modcods": "DVB-S2, ETSI EN 302 307-1 Table 13 (normal FECFRAME, ideal AWGN Es/N0)"}


# ---------------------------------------------------------------------------
# Delay


def propagation_delay_s(geometry_or_range_km, sat: int | None = None,
                        station: int | None = None, t_s=None):
    """One-way light-time delay in seconds: slant range / c.

    Give a range in km (a number or an array), or a :class:`PassGeometry` with
    ``sat``, ``station`` and ``t_s``.

    >>> round(propagation_delay_s(1000.0) * 1e3, 4)
    3.3356
    """
    if isinstance(geometry_or_range_km, PassGeometry):
        if sat is None or station is None or t_s is None:
            raise InputError("propagation delay from a geometry needs sat, station and t_s")
        range_km = geometry_or_range_km.range_km(sat, station, t_s)
    else:
        range_km = geometry_or_range_km
    values = np.asarray(range_km, dtype=float)
    if np.any(values < 0):
        raise InputError(f"propagation delay: range_km must be >= 0, got {values[values < 0].reshape(-1)[0]!r}")
    return _scalar_or_array(values / SPEED_OF_LIGHT_KM_S, np.ndim(range_km) == 0)
