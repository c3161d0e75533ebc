"""The physical setting of a run: when, which satellites, which ground stations, which link.

These blocks of the scenario schema describe the world the samples move
through: :class:`TimeSpec` (start and span), :class:`ConstellationSpec` (a TLE
catalog or a Walker shell, narrowed by :class:`SelectSpec`),
:class:`StationSpec` (one entry of ``ground_stations``) and :class:`LinkSpec`
(the downlink's rate model and its :class:`TransportSpec`).  Their defaults are
the SpaceVerse paper's setting (§4.1); :mod:`.processing` has the blocks about
what is computed, :mod:`.schema` the whole :class:`~.schema.Scenario`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..errors import InputError
from ..orbits.frames import as_utc
from .fields import (DEFAULT_CATALOG, MAX_ANTENNAS, MAX_HOURS, MAX_SATELLITES, MAX_WALKER_SIDE,
                     Integer, Number, PathText, _Model, _resolve_path)
from .problems import _FieldProblem, _show

#: ``time.start`` lies in [FIRST_START, LAST_START): orbits from TLEs mean nothing
#: centuries away from their epochs, and date arithmetic overflows near year 9999.
FIRST_START = datetime(1900, 1, 1, tzinfo=timezone.utc)
LAST_START = datetime(2200, 1, 1, tzinfo=timezone.utc)

# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------

class TimeSpec(_Model):
    """When the simulation starts and how long it runs.

    Samples are captured within ``[0, duration_h]`` hours after ``start``; the
    simulation then runs ``drain_h`` more hours so that samples still waiting for
    a contact window can finish.  Contact windows are searched from SGP4 samples
    ``contact_step_s`` seconds apart and refined to exact rise/set times.
    """

    start: datetime | None = Field(
        None,
        description="Start of the simulation, ISO 8601 (2026-06-14T00:00:00Z; a time without "
                    "zone is UTC). null = the constellation's default start: the newest TLE "
                    "epoch rounded up to the hour (the shell epoch for walker).")
    duration_h: Number = Field(
        24.0, gt=0, le=MAX_HOURS,
        description="Hours during which samples are captured (arrivals fall in [0, duration_h]).")
    drain_h: Number = Field(
        24.0, ge=0, le=MAX_HOURS,
        description="Extra simulated hours after the capture period, so samples still queued "
                    "or waiting for a contact window can finish.")
    contact_step_s: Number = Field(
        360.0, ge=1, le=600,
        description="Grid step of the SGP4 samples of the contact-window search in seconds "
                    "(a 20 s interpolated screen with a proven bound finds every pass between "
                    "them and rise and set times are refined on SGP4, so the windows do not "
                    "depend on it beyond rounding; smaller is only slower).")

    @field_validator("start", mode="before")
    @classmethod
    def _parse_start(cls, value: Any) -> Any:
        if value is None or isinstance(value, datetime):
            return value
        if isinstance(value, date):  # YAML reads 2026-06-14 as a date: midnight UTC
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if isinstance(value, str):
            try:
                return as_utc(value)
            except InputError:
                pass
            except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
                raise ValueError(f"must lie between {FIRST_START:%Y-%m-%d} and "
                                 f"{LAST_START:%Y-%m-%d} (UTC), got {_show(value)}") from None
        raise ValueError(f"expected an ISO 8601 date-time like 2026-06-14T00:00:00Z, "
                         f"got {_show(value)}")

    @field_validator("start")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            utc = as_utc(value)
        except OverflowError:  # a time zone pushes it past year 1 or 9999
            utc = None
        if utc is None or not FIRST_START <= utc < LAST_START:
            raise ValueError(f"must lie between {FIRST_START:%Y-%m-%d} and "
                             f"{LAST_START:%Y-%m-%d} (UTC), got {_show(value)}")
        return utc

    @property
    def duration_s(self) -> float:
        return self.duration_h * 3600.0

    @property
    def drain_s(self) -> float:
        return self.drain_h * 3600.0

    @property
    def end_s(self) -> float:
        """Seconds from the start to the end of the simulation (capture plus drain)."""
        return (self.duration_h + self.drain_h) * 3600.0


# ---------------------------------------------------------------------------
# constellation
# ---------------------------------------------------------------------------

class SelectSpec(_Model):
    """Which satellites of a catalog (after the ``names`` filters) or a Walker shell to keep.

    Satellites are kept when their mean altitude lies within ``tolerance_km`` of
    ``altitude_km`` and their inclination within ``inclination_tolerance_deg`` of
    ``inclination_deg`` (criteria left null are not applied); then ``count`` of
    the candidates, sorted by name, are taken according to ``strategy``.  A
    Walker shell's satellites are taken in shell order (plane by plane, each
    plane in orbit order), and its altitude and inclination are the shell's
    own: the filters keep the whole shell or nothing, which is checked here.
    """

    count: Integer | None = Field(
        None, ge=1, le=MAX_SATELLITES,
        description=f"How many satellites to keep (null = all candidates; at most "
                    f"{MAX_SATELLITES:,}, twice the largest constellation flying).")
    altitude_km: Number | None = Field(
        None, gt=0,
        description="Keep satellites whose mean altitude (orbit-averaged, from the TLE) is "
                    "within tolerance_km of this value (null = any altitude).")
    tolerance_km: Number = Field(
        20.0, gt=0, description="Half-width of the altitude band in km.")
    inclination_deg: Number | None = Field(
        None, ge=0, le=180,
        description="Keep satellites with this inclination, within inclination_tolerance_deg "
                    "(null = any inclination).")
    inclination_tolerance_deg: Number = Field(
        0.5, gt=0, description="Half-width of the inclination band in degrees.")
    strategy: Literal["first", "spread", "random"] = Field(
        "spread",
        description="How count satellites are picked from the sorted candidates: first = the "
                    "first ones, spread = evenly spaced over the list, random = a random draw "
                    "seeded by the scenario seed.")


class WalkerSpec(_Model):
    """A synthetic Walker-delta shell ``inclination: planes*per_plane/planes/phasing``.

    Planes are spread evenly over 360 degrees of right ascension starting at
    ``raan0_deg``; ``phasing`` (Walker's F, ``0 <= F < planes``) shifts the
    satellites of neighbouring planes along their orbits.
    """

    altitude_km: Number = Field(
        ..., ge=150, le=40000, description="Circular-orbit altitude in km (mean over one orbit).")
    inclination_deg: Number = Field(
        ..., ge=0, le=180, description="Orbital inclination in degrees.")
    planes: Integer = Field(
        ..., ge=1, le=MAX_WALKER_SIDE,
        description=f"Number of orbital planes (Walker's P; at most {MAX_WALKER_SIDE:,}).")
    per_plane: Integer = Field(
        ..., ge=1, le=MAX_WALKER_SIDE,
        description=f"Satellites per plane (Walker's T/P; at most {MAX_WALKER_SIDE:,}, and "
                    f"planes x per_plane at most {MAX_SATELLITES:,}, twice the largest "
                    f"constellation flying).")
    phasing: Integer = Field(
        1, ge=0, description="Walker phasing factor F, 0 <= F < planes (1 is reduced to 0 "
                             "when there is a single plane).")
    raan0_deg: Number = Field(0.0, description="Right ascension of the first plane in degrees.")

    @model_validator(mode="before")
    @classmethod
    def _single_plane_phasing(cls, data: Any) -> Any:
        # The default phasing 1 is meaningless with one plane; only an explicit value is checked.
        if isinstance(data, dict) and data.get("planes") == 1 and "phasing" not in data:
            data = {**data, "phasing": 0}
        return data

    @model_validator(mode="after")
    def _phasing_below_planes(self) -> "WalkerSpec":
        if self.phasing >= self.planes:
            raise _FieldProblem("phasing", f"must be between 0 and planes - 1 = "
                                           f"{self.planes - 1}, got {self.phasing}")
        if self.size > MAX_SATELLITES:
            raise _FieldProblem("per_plane", f"planes x per_plane = {self.planes} x "
                                             f"{self.per_plane} = {self.size:,} satellites, "
                                             f"more than {MAX_SATELLITES:,}")
        return self

    @property
    def size(self) -> int:
        return self.planes * self.per_plane


class ConstellationSpec(_Model):
    """Which satellites fly: a real TLE catalog or a synthetic Walker shell (exactly one).

    ``catalog`` is a bundled snapshot (``starlink@2026-06-14``, ``planet``;
    ``spaceverse catalogs`` lists them) or a TLE file; a relative file path is
    looked up next to the scenario file first.  ``names`` narrows a catalog
    down (not a Walker shell); ``select`` narrows either.
    """

    catalog: PathText | None = Field(
        None, min_length=1,
        description="Named TLE catalog (starlink@2026-06-14, planet, ...) or a TLE file path "
                    "(relative paths are looked up next to the scenario file first).")
    names: list[str] = Field(
        default_factory=list,
        description="Keep only satellites whose name matches one of these patterns (a glob "
                    "with * ? [ ], otherwise a case-insensitive substring; digits also match "
                    "the NORAD id). Empty = all.")
    lenient: bool = Field(
        False, description="Skip malformed TLE records with a warning instead of stopping.")
    select: SelectSpec | None = Field(
        None, description="Keep satellites by altitude/inclination and take count of them "
                          "(of a catalog or of a walker shell).")
    walker: WalkerSpec | None = Field(
        None, description="A synthetic Walker-delta shell instead of a catalog.")

    _resolve_catalog = field_validator("catalog")(classmethod(
        lambda cls, v, info: _resolve_path(v, info)))

    @model_validator(mode="after")
    def _one_source(self) -> "ConstellationSpec":
        if self.catalog is not None and self.walker is not None:
            raise _FieldProblem("walker", "cannot be combined with constellation.catalog "
                                          "(give exactly one of catalog or walker; over a "
                                          "base scenario, write catalog: null to drop its "
                                          "catalog)")
        if self.catalog is None and self.walker is None:
            raise ValueError("needs exactly one of catalog (a TLE catalog name or file, e.g. "
                             f"{DEFAULT_CATALOG}) or walker (a synthetic shell)")
        if self.walker is not None:
            for key, default in (("names", []), ("lenient", False)):
                if getattr(self, key) != default:
                    raise _FieldProblem(key, "only applies to a catalog, not to a walker shell")
            if self.select is not None:
                self._select_fits_walker(self.select, self.walker)
        return self

    @staticmethod
    def _select_fits_walker(s: SelectSpec, w: WalkerSpec) -> None:
        """A select whose filters leave nothing of the shell, or that asks for more
        satellites than it has, is an error at its line (it would be one at run time)."""
        hint = " (select applies to a walker shell too; write select: null to keep the " \
               "whole shell)"
        if s.altitude_km is not None and abs(w.altitude_km - s.altitude_km) > s.tolerance_km:
            raise _FieldProblem(("select", "altitude_km"), (
                f"the walker shell flies at {w.altitude_km:g} km, outside {s.altitude_km:g} "
                f"+- {s.tolerance_km:g} km, so no satellite would be kept{hint}"))
        if s.inclination_deg is not None \
                and abs(w.inclination_deg - s.inclination_deg) > s.inclination_tolerance_deg:
            raise _FieldProblem(("select", "inclination_deg"), (
                f"the walker shell is inclined {w.inclination_deg:g} deg, outside "
                f"{s.inclination_deg:g} +- {s.inclination_tolerance_deg:g} deg, so no "
                f"satellite would be kept{hint}"))
        if s.count is not None and s.count > w.size:
            raise _FieldProblem(("select", "count"), (
                f"{s.count:,} satellites asked, the walker shell has {w.size:,} "
                f"({w.planes} planes x {w.per_plane})"))

    @property
    def kind(self) -> Literal["catalog", "walker"]:
        return "walker" if self.walker is not None else "catalog"


def _paper_constellation() -> ConstellationSpec:
    # §4.1.4: "We select 10 satellites from the 570km Starlink constellation".
    return ConstellationSpec(
        catalog=DEFAULT_CATALOG,
        select=SelectSpec(count=10, altitude_km=570.0, tolerance_km=20.0, inclination_deg=70.0))


# ---------------------------------------------------------------------------
# ground stations
# ---------------------------------------------------------------------------

StationKind = Literal["catalog", "network", "inline"]


class StationSpec(_Model):
    """One entry of ``ground_stations``; three shapes, told apart by their keys.

    * ``{name: Shanghai}`` (or the bare string ``Shanghai``): a station of the
      bundled catalog (or of ``stations_catalog``), optionally with its own
      ``min_elevation_deg`` / ``antennas``;
    * ``{network: ksat}``: every catalog station of that network, same overrides;
    * ``{name: Lab, lat_deg: 31.3, lon_deg: 121.5}``: a station given inline, with
      ``alt_m`` (default 0), ``min_elevation_deg`` (10) and ``antennas`` (1).

    ``kind`` says which one it is.
    """

    name: str | None = Field(
        None, min_length=1,
        description="Station name: a catalog station (e.g. Shanghai, 'Svalbard (ksat)'), or the "
                    "name of an inline station given with lat_deg/lon_deg.")
    network: str | None = Field(
        None, min_length=1,
        description="Use every catalog station of this network (ksat, aws, ssc, nen, dsn, leaf, "
                    "atlas, viasat, starlink-gateway, paper) instead of one name.")
    lat_deg: Number | None = Field(
        None, ge=-90, le=90, description="Latitude of an inline station in degrees (north > 0).")
    lon_deg: Number | None = Field(
        None, ge=-180, le=360, description="Longitude of an inline station in degrees (east > 0).")
    alt_m: Number | None = Field(
        None, ge=-500, le=9000,
        description="Altitude of an inline station above the WGS84 ellipsoid in metres "
                    "(default 0).")
    min_elevation_deg: Number | None = Field(
        None, ge=-5, lt=90,
        description="Elevation mask in degrees: the satellite is in contact above it. Catalog "
                    "stations keep their own mask when null; inline stations default to 10.")
    antennas: Integer | None = Field(
        None, ge=1, le=MAX_ANTENNAS,
        description=f"Antennas, i.e. satellites served at once. Catalog stations keep their own "
                    f"count when null; inline stations default to 1 (at most {MAX_ANTENNAS:,}; "
                    f"the largest real sites have a few dozen).")

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _decide_kind(self) -> "StationSpec":
        has_lat, has_lon = self.lat_deg is not None, self.lon_deg is not None
        if has_lat != has_lon:
            missing = "lon_deg" if has_lat else "lat_deg"
            raise ValueError(f"needs both lat_deg and lon_deg ({missing} is missing)")
        if has_lat:
            if self.network is not None:
                raise _FieldProblem("network", "cannot be combined with lat_deg/lon_deg (an "
                                               "inline station is one station)")
            if self.name is None:
                raise ValueError("an inline station (lat_deg/lon_deg) needs a name")
            if self.alt_m is None:
                self.alt_m = 0.0
            if self.min_elevation_deg is None:
                self.min_elevation_deg = 10.0
            if self.antennas is None:
                self.antennas = 1
            return self
        if self.alt_m is not None:
            raise _FieldProblem("alt_m", "only applies to an inline station (with lat_deg and "
                                         "lon_deg); catalog stations have their own altitude")
        if self.network is not None and self.name is not None:
            raise _FieldProblem("network", "give either name (one station) or network (all "
                                           "stations of a network), not both")
        if self.network is None and self.name is None:
            raise ValueError("needs a name (a catalog station), a network, or name + lat_deg + "
                             "lon_deg (an inline station)")
        return self

    @property
    def kind(self) -> StationKind:
        if self.lat_deg is not None:
            return "inline"
        return "network" if self.network is not None else "catalog"


# ---------------------------------------------------------------------------
# link
# ---------------------------------------------------------------------------

class TraceLinkSpec(_Model):
    """Replay a measured downlink throughput trace (``link.model: trace``)."""

    file: PathText = Field(
        "starlink-autobahn-2024-04-19", min_length=1,
        description="A bundled trace name or a trace file path (relative paths are looked up "
                    "next to the scenario file first).")
    scale: Number = Field(
        1.0, gt=0, description="Multiply every rate of the trace by this factor.")
    offset_s: Number = Field(
        0.0, ge=0, description="Start the replay this many seconds into the trace.")
    loop: bool = Field(
        True, description="Start the trace over when it ends (false: the last rate holds).")

    _resolve_file = field_validator("file")(classmethod(
        lambda cls, v, info: _resolve_path(v, info)))


class BudgetLinkSpec(_Model):
    """Rate from an elevation-dependent X-band link budget (``link.model: budget``).

    Free-space loss at the current slant range plus the fixed losses below give
    Eb/N0; the rate is the highest one that keeps ``required_margin_db`` over the
    modem's threshold within ``bandwidth_mhz`` (symbol rate
    ``bandwidth / (1 + rolloff)``), capped at ``max_rate_mbps``.
    """

    frequency_ghz: Number = Field(8.2, gt=0, description="Carrier frequency in GHz.")
    eirp_dbw: Number = Field(10.0, description="Satellite EIRP in dBW.")
    g_over_t_db_k: Number = Field(
        25.0, description="Ground station figure of merit G/T in dB/K.")
    bandwidth_mhz: Number = Field(150.0, gt=0, description="Occupied bandwidth in MHz.")
    rolloff: Number = Field(
        0.2, ge=0, le=1, description="Root-raised-cosine roll-off factor (0..1).")
    implementation_loss_db: Number = Field(
        2.0, ge=0, description="Modem and implementation losses in dB.")
    atmospheric_loss_db: Number = Field(
        0.5, ge=0, description="Atmospheric and rain losses in dB (at zenith scale).")
    required_margin_db: Number = Field(
        1.0, ge=0, description="Link margin to keep above the demodulation threshold in dB.")
    max_rate_mbps: Number | None = Field(
        None, gt=0, description="Cap on the rate in Mbps (null = no cap beyond the bandwidth).")


class TransportSpec(_Model):
    """How application bytes move over the link's capacity (``simulator.links.transport``).

    ``tcp``: one TCP connection per transfer (handshake, slow start from an initial
    window of ``initial_window_segments``, then a steady-state goodput bounded by the
    capacity, the loss bound of ``throughput_model`` and the receive window); the
    round-trip time is twice the slant-range light time plus ``ground_rtt_ms``.
    ``ideal``: a bit pipe at the capacity, no protocol at all.  ``goodput``: a fixed
    effective goodput (``goodput_mbps``) whatever the capacity, plus ``per_transfer_s``
    per transfer (the ``paper-calibrated`` preset's model input).  Fields left null
    take the transport module's sourced defaults (or the preset's derived values).
    """

    model: Literal["tcp", "ideal", "goodput"] = Field(
        "tcp", description="tcp (default, sourced constants), ideal (bit pipe at the line rate) "
                           "or goodput (a fixed effective goodput, a model input).")
    throughput_model: Literal["mathis", "padhye"] = Field(
        "mathis", description="Steady-state loss bound of TCP: Mathis et al. 1997 or Padhye "
                              "et al. 1998.")
    loss_rate: Number | None = Field(
        None, ge=0, lt=1, description="Random segment loss rate seen by TCP (null = the "
                                      "transport module's derived default).")
    ground_rtt_ms: Number | None = Field(
        None, ge=0, le=60000, description="Round-trip time beyond the slant-range light time "
                                          "(ground segment, scheduling), ms (null = default).")
    mss_bytes: Integer | None = Field(
        None, ge=1, le=65535, description="TCP payload per segment in bytes (null = 1448).")
    mtu_bytes: Integer | None = Field(
        None, ge=68, le=65535, description="Link MTU in bytes (null = 1500).")
    initial_window_segments: Integer | None = Field(
        None, ge=1, le=100000, description="Initial congestion window in segments "
                                           "(null = 10, RFC 6928).")
    handshake_rtts: Number | None = Field(
        None, ge=0, le=100, description="Round trips of connection setup before data "
                                        "(null = 1).")
    receive_window_bytes: Integer | None = Field(
        None, ge=1, le=2**30,
        description="Largest receive window in bytes (null = Linux default; at most 2^30, "
                    "the largest window TCP's window scaling can announce).")
    goodput_mbps: Number | None = Field(
        None, gt=0, description="Effective goodput of model: goodput, Mbps (null = the "
                                "paper-calibrated value derived from the paper's §2.1.2).")
    per_transfer_s: Number | None = Field(
        None, ge=0, le=86400, description="Fixed seconds per transfer of model: goodput.")


class LinkSpec(_Model):
    """The satellite-to-ground downlink.

    ``model`` picks how fast it is: ``constant`` (``rate_mbps``; the paper uses
    110.67 Mbps, measured on its Starlink ground station, §2.1.2 / §4.1.4),
    ``trace`` (replay the ``trace`` block) or ``budget`` (the ``budget`` block).
    ``availability`` says when it exists: ``orbital`` = only inside contact
    windows; ``always`` = always connected, like the paper's measurements.
    """

    model: Literal["constant", "trace", "budget"] = Field(
        "constant", description="Rate model: constant (rate_mbps), trace (the trace block) or "
                                "budget (the budget block).")
    rate_mbps: Number = Field(
        110.67, gt=0,
        description="Downlink rate in Mbps for model: constant (paper §2.1.2 / §4.1.4: 110.67, "
                    "measured on a Starlink ground station).")
    availability: Literal["orbital", "always"] = Field(
        "orbital",
        description="orbital = the link exists only inside contact windows; always = always "
                    "connected, the setting of the paper's measurements (no windows).")
    trace: TraceLinkSpec | None = Field(
        None, description="Trace replay settings (only with model: trace; defaults filled in).")
    budget: BudgetLinkSpec | None = Field(
        None, description="Link budget settings (only with model: budget; defaults filled in).")
    propagation_delay: bool = Field(
        True, description="Add the slant-range light time to every transfer.")
    transport: TransportSpec | None = Field(
        None, description="How bytes move over the capacity: tcp, ideal or goodput (null = "
                          "the preset's: physical -> tcp, paper-calibrated -> goodput).")

    @model_validator(mode="after")
    def _blocks_match_model(self) -> "LinkSpec":
        for block in ("trace", "budget"):
            if getattr(self, block) is not None and self.model != block:
                raise _FieldProblem(block, f"is only used with model: {block} (model is "
                                           f"{self.model}; remove link.{block} or set "
                                           f"link.model: {block})")
        if self.model == "trace" and self.trace is None:
            self.trace = TraceLinkSpec()
        if self.model == "budget" and self.budget is None:
            self.budget = BudgetLinkSpec()
        return self


