"""Two helpers for the modules that build their part of a run from a scenario block.

Each part of a run is built where it is modelled -- the satellites in
:mod:`simulator.orbits.constellations`, the stations in
:mod:`simulator.orbits.stations`, the link in :mod:`simulator.links.build`, the
compute profiles in :mod:`simulator.compute.build`, the workload in
:mod:`simulator.engine.workload`, the policies in :mod:`simulator.policies.build`
-- and :mod:`simulator.engine.world` only connects them.  Those builders share
two rules, kept here (this module imports nothing from the project but
:mod:`simulator.errors`, so any of them may use it):

* :func:`field` reports an :class:`~simulator.errors.InputError` raised while
  resolving a scenario field as the scenario's one-line
  ``FILE:LINE: field.path: message``;
* :func:`resolve_path` reads a relative path in a scenario as relative to the
  scenario file's folder (when a file is there).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError


#: ``dotted.field[0].path: message``: a message that names its own field.
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])+): ")


@contextmanager
def field(scenario, path: str):
    """Report an error from resolving ``path`` as ``FILE:LINE: path: message``.

    An error that already lists its problems (a :class:`ScenarioError`), or a
    scenario object that cannot locate fields, passes through unchanged; a message
    that already starts with ``path: `` is not prefixed twice.
    """
    try:
        yield
    except InputError as exc:
        if getattr(exc, "problems", None) or not hasattr(scenario, "input_error"):
            raise
        message = str(exc)
        where = path
        # a message naming a more precise field of the same block (``policy.params.tau:
        # ...``) is reported at that field's own line
        named = getattr(exc, "field", None)
        match = _FIELD_PREFIX.match(message)
        if isinstance(named, str) and named.split(".")[0] == path.split(".")[0]:
            where = named
        elif match and match.group(1).split(".")[0] == path.split(".")[0]:
            where = match.group(1)
        if message.startswith(where + ": "):
            message = message[len(where) + 2:]
        raise scenario.input_error(where, message) from None


def resolve_path(text: str, scenario) -> str:
    """Relative paths in a scenario are relative to the scenario file's folder."""
    base = getattr(scenario, "source_path", None)
    if base and not Path(text).is_absolute():
        candidate = Path(base).parent / text
        if candidate.exists():
            return str(candidate)
    return text
