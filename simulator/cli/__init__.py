"""The ``spaceverse`` command line: a thin layer over :mod:`simulator.api` and the modules
behind it.

Every user mistake ends as one line on stderr (``error: ...``) and exit status 2;
warnings (stale TLE epochs, skipped records) go to stderr as ``warning: ...``.

Modules: :mod:`.app` (the command group, logging, progress, tables), one module per
group of commands (:mod:`.contacts_cmd`, :mod:`.running`, :mod:`.experiments`,
:mod:`.training`, :mod:`.data`, :mod:`.results_index`), and :mod:`.entry` (``main``).
"""

from __future__ import annotations

from . import contacts_cmd, data, experiments, results_index, running, training  # noqa: F401
from .app import cli
from .entry import main

__all__ = ["cli", "main"]
