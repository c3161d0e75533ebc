"""The scenario: one YAML file that says everything a simulation run needs.

Which satellites (a real TLE catalog or a synthetic Walker shell), which ground
stations, how fast the downlink is, which devices and models compute, which
samples arrive when, which allocation policy decides where each sample is
inferred, and where the results go.  Everything has a default, and the defaults
are the setting of the SpaceVerse paper (§4.1), so the shortest valid scenario
is a single line::

    name: my-first-run

:class:`Scenario` is the pydantic model of the whole file; its blocks live in
:mod:`.setting` (time, constellation, stations, link) and :mod:`.processing`
(compute, workload, policy, buffer, output), their shared field types and size
limits in :mod:`.fields`.  Checks that need two blocks at once live here: the
number of samples a capture *rate* implies (rate x satellites x hours) must
stay within :data:`~.fields.MAX_SAMPLES`.

>>> Scenario().ground_stations[0].name, Scenario().link.rate_mbps
('Shanghai', 110.67)

Later stages that find a problem the schema cannot see (an unknown station
name, an unknown policy) can still point at the line:
``raise scenario.input_error("ground_stations[0].name", "unknown station 'Shangai'")``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Mapping

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .fields import MAX_SAMPLES, MAX_STATIONS, Integer, PathText, _Model, _resolve_path
from .problems import (Path_, ScenarioError, _FieldProblem, _format_path, _one_line,
                       _parse_field_path, _where)
from .relay import IslSpec
from .processing import (BufferSpec, CompressionSpec, ComputeSpec, GroundComputeSpec,
                         LiveSpec, OutputSpec, PolicySpec, SatelliteComputeSpec,
                         SyntheticSpec, WorkloadSpec)
from .setting import (BudgetLinkSpec, ConstellationSpec, LinkSpec, SelectSpec, StationSpec,
                      TimeSpec, TraceLinkSpec, TransportSpec, WalkerSpec, _paper_constellation)

__all__ = [
    "Scenario", "TimeSpec", "ConstellationSpec", "SelectSpec", "WalkerSpec", "StationSpec",
    "LinkSpec", "TraceLinkSpec", "BudgetLinkSpec", "TransportSpec", "ComputeSpec",
    "SatelliteComputeSpec", "GroundComputeSpec", "WorkloadSpec", "SyntheticSpec", "LiveSpec",
    "PolicySpec", "CompressionSpec", "BufferSpec", "OutputSpec",
]

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
        max_length=MAX_STATIONS,
        description=f"Ground stations: catalog names (a bare string is enough), networks, or "
                    f"inline stations with lat_deg/lon_deg (default: the paper's Shanghai "
                    f"station; at most {MAX_STATIONS:,} entries).")
    stations_catalog: PathText | None = Field(
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
    isl: IslSpec | None = Field(
        None, description="Inter-satellite links for relaying offloaded samples (null = none; "
                          "beyond the paper).")
    buffer: BufferSpec = Field(default_factory=BufferSpec,
                               description="Onboard buffer of samples awaiting downlink.")
    output: OutputSpec = Field(default_factory=OutputSpec, description="Where results go.")

    _source_path: Path | None = PrivateAttr(None)
    _source: str = PrivateAttr("<string>")
    _lines: Mapping = PrivateAttr(default_factory=dict)
    _from_set: tuple = PrivateAttr(())
    _bases: tuple = PrivateAttr(())  # the base files it was merged over, nearest first

    _resolve_catalog = field_validator("stations_catalog")(classmethod(
        lambda cls, v, info: _resolve_path(v, info)))

    @model_validator(mode="after")
    def _samples_within_limit(self) -> "Scenario":
        """A capture rate must not imply more than :data:`MAX_SAMPLES` samples.

        The satellite count is known here for a Walker shell and for a catalog
        with ``select.count``; for a whole catalog it is known only once the
        catalog is read, when the run starts.
        """
        rate = self.workload.rate_per_satellite_h
        constellation = self.constellation
        if constellation.select is not None and constellation.select.count is not None:
            satellites = constellation.select.count
        elif constellation.walker is not None:
            satellites = constellation.walker.size
        else:
            satellites = None
        if rate is None or satellites is None:
            return self
        hours = self.time.duration_h
        samples = math.floor(rate * satellites * hours + 1e-9)  # as the engine counts them
        if samples > MAX_SAMPLES:
            raise _FieldProblem(("workload", "rate_per_satellite_h"), (
                f"{rate:g} captures/h x {satellites:,} satellites x {hours:g} h = "
                f"{samples:,} samples, more than {MAX_SAMPLES:,} per run (lower the rate, the "
                f"satellites or time.duration_h)"))
        return self

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
    def bases(self) -> tuple[Path, ...]:
        """The files this scenario was merged over (``base:``), nearest first; empty if none."""
        return tuple(self._bases)

    @property
    def hash(self) -> str:
        """:func:`~.overrides.scenario_hash` of this scenario."""
        from .overrides import scenario_hash

        return scenario_hash(self)

    @property
    def run_id(self) -> str:
        """``output.run_id``, or ``<slug of name>-<scenario hash>``."""
        from .overrides import scenario_hash, slug

        return self.output.run_id or f"{slug(self.name)}-{scenario_hash(self)}"

    def location(self, field: str | Path_) -> str:
        """Where a field was written: ``FILE:LINE``, ``FILE (from --set)`` or ``FILE``.

        ``field`` is a path tuple or a dotted string (``"ground_stations[0].name"``).
        """
        path = _parse_field_path(field) if isinstance(field, str) else tuple(field)
        return _where(self._source, path, self._lines, self._from_set)

    def input_error(self, field: str | Path_, message: str) -> ScenarioError:
        """An error about ``field`` in the standard one-line format, for later stages.

        >>> from simulator.config import parse_scenario
        >>> s = parse_scenario("ground_stations: [Shangai]", source="x.yaml")
        >>> str(s.input_error("ground_stations[0].name", "unknown station 'Shangai'"))
        "x.yaml:1: ground_stations[0].name: unknown station 'Shangai'"
        """
        path = _parse_field_path(field) if isinstance(field, str) else tuple(field)
        where = self.location(path)
        text = _one_line(message)
        return ScenarioError(f"{where}: {_format_path(path)}: {text}",
                             [(where, _format_path(path), text)])

