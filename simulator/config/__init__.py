"""The scenario file: its schema, its loader, and errors that point at the line.

Public surface (import it from here, ``simulator.config``):

* :class:`Scenario` and its blocks (``TimeSpec``, ``ConstellationSpec``,
  ``SelectSpec``, ``WalkerSpec``, ``StationSpec``, ``LinkSpec``,
  ``TraceLinkSpec``, ``BudgetLinkSpec``, ``TransportSpec``, ``ComputeSpec``,
  ``SatelliteComputeSpec``, ``GroundComputeSpec``, ``WorkloadSpec``,
  ``SyntheticSpec``, ``LiveSpec``, ``PolicySpec``, ``CompressionSpec``,
  ``BufferSpec``, ``OutputSpec``);
* :func:`load_scenario` (a file), :func:`parse_scenario` (a string),
  :func:`apply_overrides` (``--set`` on a loaded scenario); a scenario may
  start from another one with a top-level ``base: other.yaml`` (:mod:`.bases`);
* :func:`dump_resolved`, :func:`scenario_hash`, :func:`slug`,
  :func:`scenario_json_schema`;
* :class:`ScenarioError`, the one-line error of every mistake in a scenario.

>>> s = parse_scenario("seed: 3", overrides=["link.rate_mbps=50"])
>>> s.seed, s.link.rate_mbps, s.run_id == f"unnamed-{scenario_hash(s)}"
(3, 50.0, True)

Where things are:

=====================  =====================================================
:mod:`.schema`         :class:`Scenario`; its blocks in :mod:`.setting` (time,
                       satellites, stations, link) and :mod:`.processing`
                       (compute, workload, policy, buffer, output); field
                       types and size limits in :mod:`.fields`
:mod:`.loader`         :func:`load_scenario`, :func:`parse_scenario`,
                       :func:`apply_overrides`
:mod:`.bases`          ``base: other.yaml``: the chain of base files, merged
                       (mappings merge, lists and values replace, null drops),
                       each value's file and line remembered
:mod:`.yaml_source`    YAML with line numbers, merge keys, duplicate keys and
                       the limits of a settings file (size, aliases, nesting)
:mod:`.messages`       pydantic errors -> one-line messages, did-you-mean
:mod:`.problems`       :class:`ScenarioError`, field paths, locations
:mod:`.overrides`      ``--set``, :func:`dump_resolved`, :func:`scenario_hash`,
                       :func:`slug`, :func:`scenario_json_schema`
=====================  =====================================================

The private helpers re-exported below (``_read_yaml``, ``_build``, ``_show``,
...) are shared with :mod:`simulator.sweep`, which reads sweep files with the
same reader and reports their errors in the same format.
"""

from __future__ import annotations

from .fields import (DEFAULT_CATALOG, MAX_ANTENNAS, MAX_HOURS, MAX_RUN_ID, MAX_SAMPLES,
                     MAX_SATELLITES, MAX_SERVERS, MAX_STATIONS, Integer, Number, PathText,
                     _Model, _name_like, _resolve_path)
from .bases import MAX_BASE_DEPTH
from .loader import _build, apply_overrides, load_scenario, parse_scenario
from .messages import _all_field_paths, _message, _type_at, _unknown_key, _validation_error
from .overrides import (_apply_override, _Dumper, dump_resolved, scenario_hash,
                        scenario_json_schema, slug)
from .problems import (MAX_PROBLEMS, ScenarioError, _combine, _FieldProblem, _format_path,
                       _kind_of, _one_line, _parse_field_path, _show, _where)
from .schema import (BudgetLinkSpec, BufferSpec, CompressionSpec, ComputeSpec, ConstellationSpec,
                     GroundComputeSpec, LinkSpec, LiveSpec, OutputSpec, PolicySpec,
                     SatelliteComputeSpec, Scenario, SelectSpec, StationSpec, SyntheticSpec,
                     TimeSpec, TraceLinkSpec, TransportSpec, WalkerSpec, WorkloadSpec)
from .yaml_source import (MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, _guard_data, _LineMap,
                          _Loader, _read_source_text, _read_yaml, _yaml_error)

# The error's public name (tracebacks, doctests, pickles) is where users import it from.
ScenarioError.__module__ = __name__

__all__ = [
    "Scenario", "TimeSpec", "ConstellationSpec", "SelectSpec", "WalkerSpec", "StationSpec",
    "LinkSpec", "TraceLinkSpec", "BudgetLinkSpec", "TransportSpec", "ComputeSpec",
    "SatelliteComputeSpec", "GroundComputeSpec", "WorkloadSpec", "SyntheticSpec", "LiveSpec",
    "PolicySpec", "CompressionSpec", "BufferSpec", "OutputSpec", "ScenarioError",
    "load_scenario", "parse_scenario", "apply_overrides", "scenario_json_schema",
    "dump_resolved", "scenario_hash", "slug", "DEFAULT_CATALOG", "MAX_PROBLEMS",
    "MAX_FILE_BYTES", "MAX_NODES", "MAX_DEPTH", "MAX_SAMPLES", "MAX_SATELLITES",
    "MAX_SERVERS", "MAX_ANTENNAS", "MAX_STATIONS", "MAX_RUN_ID", "MAX_HOURS", "MAX_BASE_DEPTH",
]
