"""How a contact search runs: which screening kernel, and whether on workers.

Small on purpose (the standard library only): the command line reads it before
anything heavy is imported, to decide whether to start a
:class:`~simulator.orbits.preloaded_search.PreloadedSearch`.  Results never depend on
these choices (tested): only the time does.
"""

from __future__ import annotations

import os

#: Jobs with at least this many satellite x cell x station triples use the compiled
#: kernel when numba is installed (below, its start-up -- import and loading the
#: compiled code, ~0.5 s -- costs more than it saves).  Results do not depend on it.
AUTO_NUMBA_WORK = 3_000_000

#: Searches of fewer satellite x grid-time samples run in the caller's process.
MIN_PARALLEL_SAMPLES = 500_000


def numba_installed() -> bool:
    """Whether numba is installed (and not turned off by ``SPACEVERSE_NUMBA=0``); found
    without importing it, so a process that only forks workers stays lean."""
    if os.environ.get("SPACEVERSE_NUMBA", "1").strip().lower() in ("0", "no", "false", "off"):
        return False
    import importlib.util

    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def kernel_available(name: str) -> bool:
    return name == "numpy" or (name == "numba" and numba_installed())


def choose_kernel(work: float) -> str:
    """"numba" for jobs of at least :data:`AUTO_NUMBA_WORK` (when installed), else "numpy"."""
    return "numba" if work >= AUTO_NUMBA_WORK and numba_installed() else "numpy"
