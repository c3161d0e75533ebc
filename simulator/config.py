"""The scenario file: its schema, its loader, and errors that point at the line.

A *scenario* is one YAML file that says everything a simulation run needs: which
satellites (a real TLE catalog or a synthetic Walker shell), which ground
stations, how fast the downlink is, which devices and models compute, which
samples arrive when, which allocation policy decides where each sample is
inferred, and where the results go.  Everything has a default, and the defaults
are the setting of the SpaceVerse paper (§4.1), so the shortest valid scenario
is a single line::

    name: my-first-run

Loading
-------
:func:`load_scenario` reads a file, applies ``--set key=value`` overrides from
the command line, validates everything with pydantic, and returns a
:class:`Scenario`.  :func:`parse_scenario` does the same from a string.

>>> s = parse_scenario("name: demo\\nseed: 3\\nlink: {rate_mbps: 50}")
>>> s.seed, s.link.rate_mbps, s.link.model, s.ground_stations[0].name
(3, 50.0, 'constant', 'Shanghai')
>>> parse_scenario("seed: 3", overrides=["seed=4", "policy.params.tau=[0.6, 0.3]"]).policy.params
{'tau': [0.6, 0.3]}

Errors
------
A scenario is written by hand, so every mistake in it ends as one
:class:`~simulator.errors.InputError` with a single line that says where and
what: ``FILE:LINE: FIELD.PATH: what is wrong (expected ...)``.

>>> parse_scenario("seed: 1\\nlink:\\n  rate_mbps: -3\\n", source="x.yaml")
Traceback (most recent call last):
...
simulator.config.ScenarioError: x.yaml:3: link.rate_mbps: must be > 0, got -3
>>> parse_scenario("sead: 1", source="x.yaml")
Traceback (most recent call last):
...
simulator.config.ScenarioError: x.yaml:1: sead: unknown key (did you mean 'seed'?)

Line numbers come from composing the YAML ourselves (``yaml.compose``): every
key's node knows its line, and :func:`_line_map` turns the node tree into a map
from field paths (``("link", "rate_mbps")``) to lines.  A pydantic error carries
the path (``loc``) of the offending value, and the longest path prefix found in
the map gives the line; a missing required field thus reports the line of its
parent mapping.  Several problems are joined with ``"; "`` (five at most, then
``(and N more)``), still on one line.  A value that came from ``--set`` is
reported as ``FILE (from --set): FIELD.PATH: ...``.

Resolved scenarios and run ids
------------------------------
:func:`dump_resolved` writes the scenario with every default filled in (the file
a run stores next to its results; :func:`load_scenario` reads it back to an equal
:class:`Scenario`).  :func:`scenario_hash` is a short hash of that resolved
content (the ``output`` block and the free-text ``description`` excluded), and
:attr:`Scenario.run_id` is ``<slug of name>-<hash>`` unless ``output.run_id``
names the run.

Later stages that find a problem the schema cannot see (an unknown station
name, an unknown policy) can still point at the line:
``raise scenario.input_error("ground_stations[0].name", "unknown station 'Shangai'")``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import logging
import re
import types
import typing
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence, Union

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr,
                      ValidationError, ValidationInfo, field_validator, model_validator)

from .errors import InputError
from .orbits.frames import as_utc

__all__ = [
    "Scenario", "TimeSpec", "ConstellationSpec", "SelectSpec", "WalkerSpec", "StationSpec",
    "LinkSpec", "TraceLinkSpec", "BudgetLinkSpec", "ComputeSpec", "SatelliteComputeSpec",
    "GroundComputeSpec", "WorkloadSpec", "SyntheticSpec", "PolicySpec", "CompressionSpec",
    "BufferSpec", "OutputSpec", "ScenarioError", "load_scenario", "parse_scenario",
    "apply_overrides", "scenario_json_schema", "dump_resolved", "scenario_hash", "slug",
    "DEFAULT_CATALOG", "MAX_PROBLEMS",
]

logger = logging.getLogger(__name__)

#: The TLE snapshot the paper-like defaults use.
DEFAULT_CATALOG = "starlink@2026-06-14"

#: How many problems one error message lists before saying "(and N more)".
MAX_PROBLEMS = 5

#: Longest simulated span, in hours, for ``time.duration_h`` and ``time.drain_h``.
MAX_HOURS = 24.0 * 30

Path_ = tuple[Union[str, int], ...]


class ScenarioError(InputError):
    """A scenario that cannot be used; ``str(error)`` is the one-line message.

    ``problems`` holds one ``(location, field_path, message)`` triple per problem
    (``location`` is ``FILE:LINE``, ``FILE (from --set)`` or ``FILE``), for
    programs (an editor plugin, a test) that want them one by one.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str, str]] = ()):
        super().__init__(message)
        self.problems = list(problems)


# ---------------------------------------------------------------------------
# Field types that say in plain words what they expect
# ---------------------------------------------------------------------------

def _no_bool_number(value: Any) -> Any:
    # pydantic would read ``true`` as 1; in a scenario that is always a slip.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_show(value)}")
    return value


def _no_bool_integer(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {_show(value)}")
    return value


Number = Annotated[float, BeforeValidator(_no_bool_number)]
Integer = Annotated[int, BeforeValidator(_no_bool_integer)]


class _Model(BaseModel):
    """Common configuration: unknown keys are errors, numbers must be finite,
    and a number where text is expected (``name: 2026``) is read as text."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              coerce_numbers_to_str=True, str_strip_whitespace=True)


class _FieldProblem(ValueError):
    """A model-level validation error that belongs to one sub-field.

    Pydantic reports errors of a model validator at the model's own path; raising
    this instead lets the message (and its line number) name the sub-field, e.g.
    ``link.trace`` rather than ``link``.
    """

    def __init__(self, field: str | Path_, message: str):
        super().__init__(message)
        self.field: Path_ = (field,) if isinstance(field, str) else tuple(field)


def _resolve_path(value: str | None, info: ValidationInfo) -> str | None:
    """A relative path that exists next to the scenario file -> that absolute path.

    The loader passes the scenario file's folder as validation context
    (``base_dir``).  Anything else (a catalog name, a path relative to the
    working directory, an absolute path) is kept as written.
    """
    if not value or info.context is None:
        return value
    base = info.context.get("base_dir")
    if base is None or Path(value).expanduser().is_absolute():
        return value
    candidate = Path(base) / value
    if candidate.exists():
        return str(candidate.resolve())
    return value


def _name_like(value: str) -> str:
    """Lower-case, ``_`` -> ``-``: ``"Satellite_Only"`` and ``"satellite-only"`` are one name."""
    return value.strip().lower().replace("_", "-")


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------

class TimeSpec(_Model):
    """When the simulation starts and how long it runs.

    Samples are captured within ``[0, duration_h]`` hours after ``start``; the
    simulation then runs ``drain_h`` more hours so that samples still waiting for
    a contact window can finish.  Contact windows are searched on a grid of
    ``contact_step_s`` seconds and refined to exact rise/set times.
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
        60.0, ge=1, le=600,
        description="Grid step of the contact-window search in seconds (rise and set times are "
                    "refined exactly; the step only has to be shorter than the shortest pass).")

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
        raise ValueError(f"expected an ISO 8601 date-time like 2026-06-14T00:00:00Z, "
                         f"got {_show(value)}")

    @field_validator("start")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

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
    """Which satellites of a catalog to keep (after the ``names`` filters).

    Satellites are kept when their mean altitude lies within ``tolerance_km`` of
    ``altitude_km`` and their inclination within ``inclination_tolerance_deg`` of
    ``inclination_deg`` (criteria left null are not applied); then ``count`` of
    the candidates, sorted by NORAD id, are taken according to ``strategy``.
    """

    count: Integer | None = Field(
        None, ge=1, description="How many satellites to keep (null = all candidates).")
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
    planes: Integer = Field(..., ge=1, description="Number of orbital planes (Walker's P).")
    per_plane: Integer = Field(..., ge=1, description="Satellites per plane (Walker's T/P).")
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
        return self

    @property
    def size(self) -> int:
        return self.planes * self.per_plane


class ConstellationSpec(_Model):
    """Which satellites fly: a real TLE catalog or a synthetic Walker shell (exactly one).

    ``catalog`` is a bundled snapshot (``starlink@2026-06-14``, ``planet``;
    ``spaceverse catalogs`` lists them) or a TLE file; a relative file path is
    looked up next to the scenario file first.  ``names`` and ``select`` narrow
    a catalog down; they do not apply to a Walker shell.
    """

    catalog: str | None = Field(
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
        None, description="Keep satellites by altitude/inclination and take count of them.")
    walker: WalkerSpec | None = Field(
        None, description="A synthetic Walker-delta shell instead of a catalog.")

    _resolve_catalog = field_validator("catalog")(classmethod(
        lambda cls, v, info: _resolve_path(v, info)))

    @model_validator(mode="after")
    def _one_source(self) -> "ConstellationSpec":
        if self.catalog is not None and self.walker is not None:
            raise _FieldProblem("walker", "cannot be combined with constellation.catalog "
                                          "(give exactly one of catalog or walker)")
        if self.catalog is None and self.walker is None:
            raise ValueError("needs exactly one of catalog (a TLE catalog name or file, e.g. "
                             f"{DEFAULT_CATALOG}) or walker (a synthetic shell)")
        if self.walker is not None:
            for key, default in (("names", []), ("select", None), ("lenient", False)):
                if getattr(self, key) != default:
                    raise _FieldProblem(key, "only applies to a catalog, not to a walker shell")
        return self

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
        None, ge=1,
        description="Antennas, i.e. satellites served at once. Catalog stations keep their own "
                    "count when null; inline stations default to 1.")

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

    file: str = Field(
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
        None, ge=1, description="Largest receive window in bytes (null = Linux default).")
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


# ---------------------------------------------------------------------------
# compute
# ---------------------------------------------------------------------------

_OVERRIDES_DESCRIPTION = ("Override numbers of the device profile by key (e.g. "
                          "{prefill_tokens_per_s: 900}); the keys are checked against the "
                          "profile when the run starts.")


class SatelliteComputeSpec(_Model):
    """The onboard computer and the compact VLM it runs (paper §4.1.1, §4.1.3)."""

    device: str = Field(
        "jetson-agx-xavier", min_length=1,
        description="Device profile of the onboard computer (paper: Jetson AGX Xavier).")
    model: str = Field(
        "qwen2-vl-2b", min_length=1, description="Onboard VLM (paper: Qwen2-VL 2B).")
    slots: Integer = Field(
        1, ge=1, description="Samples the onboard computer processes at once.")
    overrides: dict[str, Number] = Field(
        default_factory=dict, description=_OVERRIDES_DESCRIPTION)


class GroundComputeSpec(_Model):
    """The ground-station servers and the large VLM they run (paper §4.1.1, §4.1.3)."""

    device: str = Field(
        "rtx-3090", min_length=1, description="Device profile of one ground GPU "
                                              "(paper: NVIDIA GeForce RTX 3090).")
    model: str = Field(
        "qwen2-vl-7b", min_length=1, description="Ground VLM (paper: Qwen2-VL 7B).")
    gpus: Integer = Field(
        1, ge=1, description="GPUs per ground station, each serving one sample at a time.")
    overrides: dict[str, Number] = Field(
        default_factory=dict, description=_OVERRIDES_DESCRIPTION)


class ComputeSpec(_Model):
    """Who computes: the satellites' onboard computer and the ground GPUs.

    ``timing: profile`` (default) turns token counts into seconds with the device
    profiles; ``timing: measured`` replays the wall times a real backend recorded
    in the trace (per phase and per generation stage).
    """

    timing: Literal["profile", "measured"] = Field(
        "profile",
        description="Stage seconds from the device profiles (profile) or from the wall times "
                    "recorded in the trace by a real backend (measured).")

    max_pixels: Integer | None = Field(
        None, ge=784, le=10**10,
        description="Largest image the VLM processors feed to the vision encoder, in pixels, "
                    "as Qwen2-VL's max_pixels (null = 1280 x 28^2, the Qwen README's "
                    "recommended setting).")
    satellite: SatelliteComputeSpec = Field(
        default_factory=SatelliteComputeSpec, description="Onboard computer and VLM.")
    ground: GroundComputeSpec = Field(
        default_factory=GroundComputeSpec, description="Ground GPUs and VLM.")


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------

class SyntheticSpec(_Model):
    """A synthetic inference trace, generated from documented parameters.

    Used when ``workload.trace`` is ``synthetic``.  Accuracies left null take the
    task's documented defaults; its metadata says ``synthetic`` in every result.
    """

    task: Literal["vqa", "classification", "detection", "mixed"] = Field(
        "vqa", description="Remote-sensing task (paper §4.1.2: RSVQA-LR VQA, RESISC45 "
                           "classification, DOTA detection; mixed = all three).")
    samples: Integer = Field(
        1000, ge=1, le=10_000_000, description="Rows of the synthetic trace (at least the "
                                               "simulated samples are generated).")
    onboard_accuracy: Number | None = Field(
        None, ge=0, le=1, description="Mean score of the onboard model (null = task default).")
    ground_accuracy: Number | None = Field(
        None, ge=0, le=1, description="Mean score of the ground model (null = task default).")
    image_side_px: Integer | None = Field(
        None, ge=16, le=100_000, description="Image side in pixels (null = the task's dataset "
                                             "size).")
    train_samples: Integer | None = Field(
        None, ge=0, le=1_000_000,
        description="Rows of the training pool generated apart from the evaluated samples "
                    "(null = the generator's default).")


class LiveSpec(_Model):
    """Real models (transformers, local weights) run over a bundled image set.

    Used when ``workload.trace`` is ``live``: before simulating, both models answer
    every image (onboard in stages of ``stage_tokens``), and the run replays what
    they produced, with their measured timings available (``compute.timing:
    measured``).  The recorded trace is saved in the run folder.
    """

    onboard_model_dir: str = Field(
        ..., min_length=1, description="Onboard VLM folder (Qwen2-VL family, save_pretrained "
                                       "layout); nothing is downloaded.")
    ground_model_dir: str | None = Field(
        None, description="Ground VLM folder (default: the onboard one).")
    dataset: str = Field(
        "choice-scene-classification", min_length=1,
        description="Bundled image set (spaceverse traces datasets).")
    device: str = Field("cpu", min_length=1, description="cpu, cuda or cuda:N.")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Weights dtype.")
    max_new_tokens: Integer = Field(32, ge=1, description="Longest answer, in tokens.")
    limit: Integer | None = Field(None, ge=1, description="Only the first N images.")

    _resolve_dirs = field_validator("onboard_model_dir", "ground_model_dir")(classmethod(
        lambda cls, v, info: v if v is None else _resolve_path(v, info)))


class WorkloadSpec(_Model):
    """What is captured, by which satellite, when, and what goes down.

    Samples come from an inference trace (recorded or synthetic).  Before anything
    is drawn, a **training pool** is held apart for learning policies (synthetic
    traces generate one; other traces give ``train_rows`` ids, or
    ``train_fraction`` of them, chosen by a seeded hash): it is never simulated
    and does not depend on how many samples are.  The simulated samples are drawn
    from the remaining rows, prefix-stably (a smaller run simulates the first
    samples of a larger one).

    How many, and when: give ``rate_per_satellite_h`` (captures per satellite and
    hour over ``time.duration_h``, ``arrival`` periodic or poisson) -- the *load*
    is then explicit and results under load do not depend on the run's length --
    or ``samples`` (spread over the duration by ``arrival``).

    ``image_bytes`` says what a downlinked image weighs: ``raw`` = width x height
    x ``bands`` x ``bytes_per_sample`` (the paper's "raw RS data", §2.1.2),
    ``png`` / ``jpeg`` = bytes per pixel measured on the bundled images,
    ``stored`` = the trace's own ``image_bytes`` column.
    """

    trace: str = Field(
        "synthetic", min_length=1,
        description="synthetic (generated from the synthetic block), live (real models run "
                    "first, see the live block) or a recorded trace: a bundled name or a "
                    ".parquet path (relative paths are looked up next to the scenario file "
                    "first).")
    synthetic: SyntheticSpec | None = Field(
        None, description="Synthetic trace settings (only with trace: synthetic; defaults "
                          "filled in).")
    live: LiveSpec | None = Field(
        None, description="Real models to run first (only with trace: live).")
    samples: Integer | None = Field(
        None, ge=1, le=10_000_000,
        description="How many samples to simulate (null = every test row of the trace, or "
                    "rate_per_satellite_h x satellites x duration; more than the trace has = "
                    "each row repeats, seeded).")
    rate_per_satellite_h: Number | None = Field(
        None, gt=0, le=1_000_000,
        description="Captures per satellite per hour (the load); sets the number of samples "
                    "(rate x satellites x time.duration_h). Give this or samples, not both.")
    train_rows: Integer | None = Field(
        None, ge=0, le=10_000_000,
        description="Trace rows held apart to train learning policies (null = "
                    "train_fraction; synthetic traces: the generated pool, capped here).")
    train_fraction: Number = Field(
        0.0, ge=0, lt=1,
        description="Share of the trace's distinct samples held apart for training when "
                    "train_rows is null (paper §4.1.2: 5 % of each dataset's train set).")
    assignment: Literal["round_robin", "random"] = Field(
        "round_robin",
        description="How samples are spread over satellites: round_robin = evenly in turn "
                    "(paper §4.1.4: 'evenly distribute the test data'), random = seeded draw.")
    arrival: Literal["periodic", "uniform", "poisson", "at_start"] = Field(
        "uniform",
        description="Capture times over [0, duration]: periodic = every satellite every "
                    "1/rate hours (staggered), uniform = samples evenly spaced, poisson = a "
                    "seeded Poisson process, at_start = all at time 0.")
    image_bytes: Literal["raw", "png", "jpeg", "stored"] = Field(
        "raw",
        description="Bytes of a downlinked image: raw = width x height x bands x "
                    "bytes_per_sample (paper §2.1.2: raw RS data), png/jpeg = measured on the "
                    "bundled images, stored = the trace's image_bytes column.")
    bands: Integer = Field(3, ge=1, le=1024, description="Spectral bands of a raw image "
                                                         "(RGB: 3).")
    bytes_per_sample: Integer = Field(
        1, ge=1, le=8, description="Bytes per pixel and band of a raw image (8-bit: 1; "
                                   "Sentinel-2 L1C: 2).")

    _resolve_trace = field_validator("trace")(classmethod(
        lambda cls, v, info: v if v in ("synthetic", "live") else _resolve_path(v, info)))

    @model_validator(mode="after")
    def _synthetic_block(self) -> "WorkloadSpec":
        if self.trace == "synthetic":
            if self.synthetic is None:
                self.synthetic = SyntheticSpec()
        elif self.synthetic is not None:
            raise _FieldProblem("synthetic", "is only used with trace: synthetic (trace is "
                                             f"{self.trace!r})")
        if self.trace == "live" and self.live is None:
            raise _FieldProblem("live", "is required with trace: live (the model folders and "
                                        "the image set)")
        if self.trace != "live" and self.live is not None:
            raise _FieldProblem("live", f"is only used with trace: live (trace is {self.trace!r})")
        if self.samples is not None and self.rate_per_satellite_h is not None:
            raise _FieldProblem("rate_per_satellite_h", "and workload.samples both set the number "
                                                        "of samples; give one of them")
        if self.arrival == "periodic" and self.rate_per_satellite_h is None:
            raise _FieldProblem("arrival", "periodic needs workload.rate_per_satellite_h (the "
                                           "captures per satellite and hour)")
        return self


# ---------------------------------------------------------------------------
# policy
# ---------------------------------------------------------------------------

class CompressionSpec(_Model):
    """How a sample is shrunk before the downlink (paper §3.2, Eq. 2-3)."""

    method: str = Field(
        "none", min_length=1,
        description="Compression policy name (none, random-mask, attention-only, multi-scale, "
                    "...); lower-cased, _ read as -.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the method, e.g. {alpha: 0.35, beta: 0.55, regions: 100} "
                    "(paper §4.1.4).")

    _normalise = field_validator("method")(classmethod(lambda cls, v: _name_like(v)))


class PolicySpec(_Model):
    """Where each sample is inferred (allocation) and how it is compressed."""

    allocation: str = Field(
        "satellite-only", min_length=1,
        description="Allocation policy name (satellite-only, ground-only, tabi, ai-rg, "
                    "spaceverse, oracle, ...); lower-cased, _ read as -; checked against the "
                    "policy registry when the run starts.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the allocation policy, e.g. {stages: 2, tau: [0.5, 0.4]} "
                    "(paper §4.1.4).")
    compression: CompressionSpec = Field(
        default_factory=CompressionSpec, description="Compression before the downlink.")

    _normalise = field_validator("allocation")(classmethod(lambda cls, v: _name_like(v)))


# ---------------------------------------------------------------------------
# buffer, output
# ---------------------------------------------------------------------------

class BufferSpec(_Model):
    """Each satellite's store of samples waiting for the downlink."""

    capacity_mb: Number = Field(
        16000.0, gt=0, description="Buffer size per satellite in MB (10^6 bytes); a sample "
                                   "that does not fit is dropped and logged.")
    discipline: Literal["fifo", "priority"] = Field(
        "fifo", description="Transmission order: fifo = oldest first, priority = by the "
                            "policy's priority, then oldest first.")


class OutputSpec(_Model):
    """Where results go; changing it never changes the scenario hash."""

    dir: str = Field(
        "results", min_length=1,
        description="Folder that receives one sub-folder per run (relative to the working "
                    "directory).")
    run_id: str | None = Field(
        None, min_length=1,
        description="Name of the run's sub-folder (null = <name slug>-<scenario hash>).")
    save_contacts: bool = Field(
        True, description="Also write the contact windows of the run (contacts.parquet).")

    @field_validator("run_id")
    @classmethod
    def _folder_name(cls, value: str | None) -> str | None:
        if value is not None and (value in (".", "..") or re.search(r"[/\\\x00]", value)):
            raise ValueError(f"must be a plain folder name (no / or \\), got {_show(value)}")
        return value


# ---------------------------------------------------------------------------
# the scenario
# ---------------------------------------------------------------------------

class Scenario(_Model):
    """One simulation run, fully specified; every default is the paper's setting (§4.1).

    Read it with :func:`load_scenario`.  ``source_path`` is the file it came
    from (None for a string); it is not part of the scenario's content, so two
    scenarios with equal fields are equal wherever they were read from.
    """

    model_config = ConfigDict(title="spaceverse scenario")

    name: str = Field(
        "unnamed", min_length=1, description="Short name of the scenario; starts the run id.")
    description: str = Field(
        "", description="Free text about the scenario (not part of the scenario hash).")
    seed: Integer = Field(
        0, ge=0, description="Seed of every random choice in the run (arrivals, assignment, "
                             "satellite selection, synthetic traces).")
    preset: Literal["physical", "paper-calibrated"] = Field(
        "physical",
        description="Models behind unset transport and compute fields: physical = sourced "
                    "TCP and compute models; paper-calibrated = the effective goodput and "
                    "ground compute the paper's §2.1.2 numbers imply (labelled model input).")
    time: TimeSpec = Field(default_factory=TimeSpec, description="Start and duration.")
    constellation: ConstellationSpec = Field(
        default_factory=_paper_constellation,
        description="Satellites: a TLE catalog or a Walker shell (default: 10 satellites of "
                    "the 570 km, 70 degree Starlink shell, paper §4.1.4).")
    ground_stations: list[StationSpec] = Field(
        default_factory=lambda: [StationSpec(name="Shanghai")], min_length=1,
        description="Ground stations: catalog names (a bare string is enough), networks, or "
                    "inline stations with lat_deg/lon_deg (default: the paper's Shanghai "
                    "station).")
    stations_catalog: str | None = Field(
        None, min_length=1,
        description="CSV file of ground stations to look names up in (null = the bundled "
                    "catalog; relative paths are looked up next to the scenario file first).")
    link: LinkSpec = Field(default_factory=LinkSpec, description="Downlink model.")
    compute: ComputeSpec = Field(default_factory=ComputeSpec,
                                 description="Onboard and ground devices and models.")
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec,
                                   description="Samples: trace, count, assignment, arrivals.")
    policy: PolicySpec = Field(default_factory=PolicySpec,
                               description="Allocation and compression policies.")
    buffer: BufferSpec = Field(default_factory=BufferSpec,
                               description="Onboard buffer of samples awaiting downlink.")
    output: OutputSpec = Field(default_factory=OutputSpec, description="Where results go.")

    _source_path: Path | None = PrivateAttr(None)
    _source: str = PrivateAttr("<string>")
    _lines: dict = PrivateAttr(default_factory=dict)
    _from_set: tuple = PrivateAttr(())

    _resolve_catalog = field_validator("stations_catalog")(classmethod(
        lambda cls, v, info: _resolve_path(v, info)))

    def __eq__(self, other: object) -> bool:
        # Fields only: where a scenario was read from is not part of what it says.
        if not isinstance(other, Scenario):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # mutable, like every pydantic model

    @property
    def source_path(self) -> Path | None:
        """The file this scenario was read from (None when parsed from a string)."""
        return self._source_path

    @property
    def hash(self) -> str:
        """:func:`scenario_hash` of this scenario."""
        return scenario_hash(self)

    @property
    def run_id(self) -> str:
        """``output.run_id``, or ``<slug of name>-<scenario hash>``."""
        return self.output.run_id or f"{slug(self.name)}-{scenario_hash(self)}"

    def location(self, field: str | Path_) -> str:
        """Where a field was written: ``FILE:LINE``, ``FILE (from --set)`` or ``FILE``.

        ``field`` is a path tuple or a dotted string (``"ground_stations[0].name"``).
        """
        path = _parse_field_path(field) if isinstance(field, str) else tuple(field)
        return _where(self._source, path, self._lines, self._from_set)

    def input_error(self, field: str | Path_, message: str) -> ScenarioError:
        """An error about ``field`` in the standard one-line format, for later stages.

        >>> s = parse_scenario("ground_stations: [Shangai]", source="x.yaml")
        >>> str(s.input_error("ground_stations[0].name", "unknown station 'Shangai'"))
        "x.yaml:1: ground_stations[0].name: unknown station 'Shangai'"
        """
        path = _parse_field_path(field) if isinstance(field, str) else tuple(field)
        where = self.location(path)
        text = _one_line(message)
        return ScenarioError(f"{where}: {_format_path(path)}: {text}",
                             [(where, _format_path(path), text)])


# ---------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------

def _line_map(node: yaml.Node, path: Path_, lines: dict, duplicates: list) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``.

    ``lines[path]`` is the line of the key (for mapping entries), of the item
    (for sequence items), and ``lines[()]`` the start of the document.  A key
    given twice is collected in ``duplicates`` as ``(path, line, first_line)``.
    """
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *anchor"
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) \
                    else [value_node]
                for source in merged:
                    sub: dict = {}
                    _line_map(source, path, sub, [])
                    for key, line in sub.items():
                        lines.setdefault(key, line)
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            key = _scalar_key(key_node, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append((path + (key,), line, seen[key]))
            seen[key] = line
            lines[path + (key,)] = line
            _line_map(value_node, path + (key,), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _line_map(item, path + (index,), lines, duplicates)


def _scalar_key(key_node: yaml.Node, text: Any) -> Any:
    """The key as YAML constructs it (``1: x`` has the integer key 1)."""
    if isinstance(key_node, yaml.ScalarNode):
        try:
            return yaml.SafeLoader("").construct_object(key_node)
        except yaml.YAMLError:
            return text
    return text


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` whose impossible dates (``2026-13-45``) are YAML errors with a line."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date or time ({exc})",
                node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _read_yaml(text: str, source: str, *,
               empty: str = "the scenario is empty (expected a YAML mapping of settings, "
                            "e.g. 'name: my-run')",
               top: str = "a mapping of settings at the top level (key: value lines, e.g. "
                          "'name: my-run')") -> tuple[dict, dict]:
    """Parse ``text``; return the top-level mapping and its line map.

    ``empty`` is the message for a file with no content, ``top`` what the top
    level must be (scenario files by default; sweep files pass their own).
    """
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines: dict = {(): node.start_mark.line + 1} if node is not None else {}
        duplicates: list = []
        if isinstance(data, dict):
            _line_map(node, (), lines, duplicates)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, source) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, ...)
        line = text[:exc.position].count("\n") + 1
        raise ScenarioError(f"{source}:{line}: YAML syntax error: character "
                            f"#x{exc.character:04x} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: YAML syntax error: {_one_line(str(exc))}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: the YAML refers to itself (a recursive &anchor / "
                            f"*alias) or is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None or data is None:
        raise ScenarioError(f"{source}: {empty}")
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}:{node.start_mark.line + 1}: expected {top}, "
                            f"got {_kind_of(data)}")
    if duplicates:
        problems = [(f"{source}:{line}", _format_path(path),
                     f"duplicate key (first given on line {first})")
                    for path, line, first in duplicates]
        raise _combine(problems)
    return data, lines


def _yaml_error(exc: yaml.MarkedYAMLError, source: str) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    problem = exc.problem or exc.context or "cannot parse"
    if problem.startswith("but found another document"):
        return ScenarioError(f"{where}: YAML syntax error: a second YAML document starts here "
                             f"(a scenario is a single document; remove the '---' line)")
    if exc.context and exc.problem:
        context = exc.context
        if exc.context_mark is not None and mark is not None \
                and exc.context_mark.line != mark.line:
            context += f" that starts on line {exc.context_mark.line + 1}"
        problem = f"{problem} ({context})"
    if "'\\t'" in problem or "\\t" in problem:
        problem += "; indent with spaces, not tabs"
    return ScenarioError(f"{where}: YAML syntax error: {_one_line(problem)}",
                         [(where, "", f"YAML syntax error: {_one_line(problem)}")])


# ---------------------------------------------------------------------------
# --set overrides
# ---------------------------------------------------------------------------

def _parse_field_path(text: str) -> Path_:
    """``"ground_stations[0].name"`` or ``"ground_stations.0.name"`` -> path tuple."""
    parts: list = []
    for part in re.sub(r"\[(\d+)\]", r".\1", text.strip()).split("."):
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def _apply_override(data: dict, text: str) -> Path_:
    """Apply one ``dotted.key=value`` to the raw mapping ``data``; return the path."""
    def bad(why: str) -> ScenarioError:
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        return ScenarioError(f"--set {shown}: {why}")

    if "=" not in text:
        raise bad("expected KEY=VALUE, e.g. --set link.rate_mbps=50")
    key, _, value_text = text.partition("=")
    key = key.strip()
    if not key:
        raise bad("the key before '=' is empty (expected e.g. seed=3)")
    path = _parse_field_path(key)
    if any(part == "" for part in path):
        raise bad(f"empty part in the key {key!r} (expected dotted names like link.rate_mbps)")
    try:
        value = yaml.load(value_text, Loader=_Loader) if value_text.strip() else None
    except yaml.YAMLError as exc:
        if isinstance(exc, yaml.reader.ReaderError):
            problem = f"character #x{exc.character:04x} is not allowed"
        else:
            problem = getattr(exc, "problem", None) or str(exc)
        hint = "" if isinstance(exc, yaml.constructor.ConstructorError) else \
            " (quote text that holds ': ', '#', brackets or commas: key='a: b')"
        raise bad(f"cannot read the value as YAML: {_one_line(problem)}{hint}") from None
    target: Any = data
    for depth, part in enumerate(path[:-1]):
        here = _format_path(path[:depth + 1])
        if isinstance(target, dict):
            if part not in target or target[part] is None:
                if isinstance(path[depth + 1], int):
                    raise bad(f"{here} is not given in the scenario, so it has no item "
                              f"{path[depth + 1]} (set the whole list: {here}=[...])")
                target[part] = {}
            target = target[part]
        elif isinstance(target, list) and isinstance(part, int):
            if part >= len(target):
                raise bad(f"{_format_path(path[:depth])} has {len(target)} items, no item {part}")
            if path[:depth] == ("ground_stations",) and isinstance(target[part], str):
                target[part] = {"name": target[part]}  # a bare station name, spelled out
            target = target[part]
        else:
            raise bad(f"{_format_path(path[:depth]) or 'the scenario'} is "
                      f"{_kind_of(target)}, not a mapping, so it has no key {part!r} "
                      f"(needed for {here})")
    last = path[-1]
    if isinstance(target, dict):
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
    return path


# ---------------------------------------------------------------------------
# validation errors -> one line
# ---------------------------------------------------------------------------

def _show(value: Any, limit: int = 40) -> str:
    """A value as the user wrote it in YAML: ``'fast'``, ``-3``, ``true``, ``null``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(int(value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {_show(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    else:
        text = repr(str(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"true/false ({_show(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({_show(value)})"
    if isinstance(value, str):
        return f"text ({_show(value)})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} ({_show(value)})"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _format_path(path: Path_) -> str:
    """``("ground_stations", 0, "name")`` -> ``ground_stations[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


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
    if kind == "too_long":
        return path, f"has too many items (at most {ctx.get('max_length')})"
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


def _where(source: str, path: Path_, lines: dict, from_set: Sequence[Path_]) -> str:
    """``FILE:LINE`` of ``path`` (longest known prefix), or ``FILE (from --set)``."""
    for override in from_set:
        if path[:len(override)] == override:
            return f"{source} (from --set)"
    if path not in lines:
        for override in from_set:
            if override[:len(path)] == path:
                return f"{source} (from --set)"
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return f"{source}:{lines[path[:cut]]}"
    return source


def _line_of(location: str) -> int:
    match = re.search(r":(\d+)$", location)
    return int(match.group(1)) if match else 0


def _combine(problems: Sequence[tuple[str, str, str]]) -> ScenarioError:
    """One :class:`ScenarioError` for several problems, on one line."""
    problems = sorted(dict.fromkeys(problems), key=lambda p: (_line_of(p[0]), p[1]))
    parts = [f"{where}: {field}: {text}" if field else f"{where}: {text}"
             for where, field, text in problems[:MAX_PROBLEMS]]
    message = "; ".join(parts)
    if len(problems) > MAX_PROBLEMS:
        message += f" (and {len(problems) - MAX_PROBLEMS} more)"
    return ScenarioError(message, problems)


def _validation_error(exc: ValidationError, source: str, lines: dict,
                      from_set: Sequence[Path_]) -> ScenarioError:
    problems = []
    for error in exc.errors():
        path = tuple(part for part in error["loc"] if isinstance(part, (str, int)))
        path, text = _message(error, path)
        problems.append((_where(source, path, lines, from_set), _format_path(path),
                         _one_line(text)))
    return _combine(problems)


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------

def _build(data: dict, source: str, lines: dict, overrides: Sequence[str],
           base_dir: Path | None, source_path: Path | None) -> Scenario:
    data = copy.deepcopy(data)
    from_set = tuple(_apply_override(data, text) for text in overrides)
    context = {"base_dir": base_dir} if base_dir is not None else {}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise _validation_error(exc, source, lines, from_set) from None
    except RecursionError:
        raise ScenarioError(f"{source}: the scenario refers to itself (a recursive &anchor / "
                            f"*alias) or is nested too deeply") from None
    scenario._source_path = source_path
    scenario._source = source
    scenario._lines = lines
    scenario._from_set = from_set
    return scenario


def parse_scenario(text: str, source: str = "<string>", overrides: Sequence[str] = (), *,
                   base_dir: str | Path | None = None) -> Scenario:
    """A :class:`Scenario` from YAML text; ``source`` names it in error messages.

    ``base_dir`` is the folder relative file paths are looked up in first (the
    scenario file's folder when loading a file).
    """
    data, lines = _read_yaml(text, source)
    return _build(data, source, lines, overrides,
                  Path(base_dir) if base_dir is not None else None, None)


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate the scenario file ``path``.

    ``overrides`` are ``dotted.key=value`` strings (the command line's
    ``--set``), applied to the file's content before validation.  The value is
    read as YAML: ``seed=3``, ``link.rate_mbps=50``, ``policy.params.tau=[0.6,0.3]``,
    ``time.start=2026-06-14T00:00:00Z``, ``ground_stations=[Shanghai, network: ksat]``
    are all fine; missing intermediate mappings are created, list items are
    addressed by index (``ground_stations.0.antennas=2``).

    Raises :class:`ScenarioError` (an :class:`~simulator.errors.InputError`)
    with a one-line message for every problem.
    """
    from .fileio import read_user_bytes

    source = str(path)
    file = Path(path).expanduser()
    raw = read_user_bytes(file, source=source, what="scenario", error=ScenarioError)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(f"{source}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); "
                            f"save the scenario as UTF-8") from None
    data, lines = _read_yaml(text, source)
    scenario = _build(data, source, lines, overrides, file.resolve().parent, file.resolve())
    logger.debug("scenario %s from %s (%d override(s)): run id %s", scenario.name, source,
                 len(overrides), scenario.run_id)
    return scenario


def apply_overrides(scenario: Scenario, overrides: Sequence[str]) -> Scenario:
    """A copy of ``scenario`` with ``--set``-style overrides applied and re-validated.

    >>> apply_overrides(parse_scenario("seed: 1"), ["seed=2"]).seed
    2
    """
    data = scenario.model_dump(mode="json")
    base_dir = scenario.source_path.parent if scenario.source_path else None
    result = _build(data, scenario._source, scenario._lines, overrides, base_dir,
                    scenario.source_path)
    result._from_set = tuple(scenario._from_set) + result._from_set
    return result


def scenario_json_schema() -> dict:
    """The JSON Schema of a scenario file (for editors: yaml-language-server, VS Code).

    A ground-station item may also be a bare string (a catalog name), which the
    pydantic-generated schema cannot know; it is added here.
    """
    schema = Scenario.model_json_schema()
    items = schema["properties"]["ground_stations"]["items"]
    schema["properties"]["ground_stations"]["items"] = {
        "anyOf": [items, {"type": "string", "description": "A catalog station name."}]}
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

    >>> s = parse_scenario("seed: 5\\ntime: {start: 2026-06-14T06:00:00+02:00}")
    >>> 'start: 2026-06-14T04:00:00Z' in dump_resolved(s)
    True
    >>> parse_scenario(dump_resolved(s)) == s
    True
    """
    from . import __version__

    body = yaml.dump(_resolved_dict(scenario), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False, allow_unicode=True, width=100)
    # ISO times are stored as strings; written unquoted they still read back as times.
    body = re.sub(r"^(\s*start: )'(\d{4}-\d\d-\d\dT[\d:.]+Z)'$", r"\1\2", body, flags=re.M)
    origin = str(scenario.source_path) if scenario.source_path else scenario._source
    header = (f"# Resolved scenario (spaceverse {__version__}): every default filled in.\n"
              f"# From: {origin}\n"
              f"# Scenario hash: {scenario_hash(scenario)}; run id: {scenario.run_id}\n")
    return header + body


def scenario_hash(scenario: Scenario) -> str:
    """First 12 hex digits of the SHA-256 of the resolved scenario's canonical JSON.

    ``output`` (where results go) and ``description`` (free text) are left out,
    so they never change the hash; everything that changes the simulation does.

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
