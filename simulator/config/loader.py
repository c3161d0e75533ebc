"""Loading a scenario: read the YAML, apply ``--set``, validate, remember the lines.

:func:`load_scenario` reads a file, :func:`parse_scenario` a string; both apply
``--set key=value`` overrides (:mod:`.overrides`), validate everything with
pydantic (:mod:`.schema`) and return a :class:`~.schema.Scenario` that
remembers where each field was written, so later stages can still point at the
line (:meth:`~.schema.Scenario.input_error`).  :func:`apply_overrides` changes
a loaded scenario the same way.

Every mistake ends as one :class:`~.problems.ScenarioError` (an
:class:`~simulator.errors.InputError`, which the command line prints as
``error: ...`` with exit status 2), a single line that says where and what:
``FILE:LINE: FIELD.PATH: what is wrong (expected ...)``.  Several problems are
joined with ``"; "`` (five at most, then ``(and N more)``), still on one line.
A value that came from ``--set`` is reported as ``FILE (from --set): FIELD.PATH:
...``.  A hostile file gets the same treatment: see the limits of
:mod:`.yaml_source` (size, aliases, nesting) and of :mod:`.fields` (sizes).

>>> s = parse_scenario("name: demo\\nseed: 3\\nlink: {rate_mbps: 50}")
>>> s.seed, s.link.rate_mbps, s.link.model, s.ground_stations[0].name
(3, 50.0, 'constant', 'Shanghai')
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Mapping, Sequence

from pydantic import ValidationError

from .bases import BASE_KEY, _resolve_bases
from .messages import _validation_error
from .overrides import _apply_override
from .problems import ScenarioError
from .schema import Scenario
from .yaml_source import _guard_data, _read_source_text, _read_yaml

logger = logging.getLogger(__name__)


def _build(data: dict, source: str, lines: Mapping, overrides: Sequence[str],
           base_dir: Path | None, source_path: Path | None) -> Scenario:
    """Validate the raw mapping ``data`` (left unchanged) with ``overrides`` applied.

    ``lines`` is the line map of the text ``data`` came from (see
    :func:`~.yaml_source._read_yaml`).  ``data`` is measured before it is
    copied and validated, so a structure that would expand past the limits of
    a settings file (shared sub-lists, ``--set`` values) is refused first.

    A top-level ``base: FILE`` (relative to ``base_dir``; None = the working
    folder) is resolved first: ``data`` is merged over its chain of base files
    (:mod:`.bases`) and ``overrides`` apply to the merged result.
    """
    _guard_data(data, source)
    bases: tuple[Path, ...] = ()
    if BASE_KEY in data:
        data, lines, bases = _resolve_bases(data, source, lines, base_dir, source_path)
    data = copy.deepcopy(data)
    from_set = tuple(_apply_override(data, text) for text in overrides)
    if overrides:
        _guard_data(data, f"{source} (with --set)")
        if BASE_KEY in data:
            raise ScenarioError(f"{source} (from --set): base: the base scenario is named in "
                                f"the scenario file (a top-level 'base: FILE'), not with --set")
    context = {"base_dir": base_dir} if base_dir is not None else {}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise _validation_error(exc, source, lines, from_set) from None
    except RecursionError:  # the limits of _guard_data should make this unreachable
        raise ScenarioError(f"{source}: the scenario is nested too deeply") from None
    scenario._source_path = source_path
    scenario._source = source
    scenario._lines = lines
    scenario._from_set = from_set
    scenario._bases = bases
    return scenario


def parse_scenario(text: str, source: str = "<string>", overrides: Sequence[str] = (), *,
                   base_dir: str | Path | None = None) -> Scenario:
    """A :class:`~.schema.Scenario` from YAML text; ``source`` names it in error messages.

    ``base_dir`` is the folder relative file paths are looked up in first (the
    scenario file's folder when loading a file).

    >>> parse_scenario("seed: 3", overrides=["seed=4"]).seed
    4
    """
    data, lines = _read_yaml(text, source)
    return _build(data, source, lines, overrides,
                  Path(base_dir) if base_dir is not None else None, None)


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate the scenario file ``path``.

    ``overrides`` are ``dotted.key=value`` strings (the command line's
    ``--set``), applied to the file's content before validation (after merging
    it over its ``base`` scenario, if it names one: :mod:`.bases`).  The value is
    read as YAML: ``seed=3``, ``link.rate_mbps=50``, ``policy.params.tau=[0.6,0.3]``,
    ``time.start=2026-06-14T00:00:00Z``, ``ground_stations=[Shanghai, network: ksat]``
    are all fine; missing intermediate mappings are created, list items are
    addressed by index (``ground_stations.0.antennas=2``).

    A file over :data:`~.yaml_source.MAX_FILE_BYTES` is refused before it is
    read.  Raises :class:`~.problems.ScenarioError` (an
    :class:`~simulator.errors.InputError`) with a one-line message for every problem.
    """
    source = str(path)
    file = Path(path).expanduser()
    text = _read_source_text(file, source, "scenario")
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
    result._bases = scenario._bases
    return result
