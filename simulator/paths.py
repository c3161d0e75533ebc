"""Where the project's bundled data lives.

The real TLE snapshots sit in the repository's top-level ``tle/`` folder (see
``tle/PROVENANCE.md``); small tables such as the ground-station catalog ship inside
the package under ``simulator/data/``.  ``SPACEVERSE_HOME`` overrides the
repository root, ``SPACEVERSE_CACHE`` the cache folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"


def project_root() -> Path:
    """The repository root (the folder holding ``tle/``)."""
    env = os.environ.get("SPACEVERSE_HOME")
    return Path(env) if env else PACKAGE_DIR.parent


def tle_dir() -> Path:
    return project_root() / "tle"


def cache_dir() -> Path:
    """Folder for on-disk caches (contact plans, policy networks); created on demand.

    Raises :class:`OSError` when it cannot be created; callers that can go on
    without a cache use :func:`cache_subdir` instead.
    """
    env = os.environ.get("SPACEVERSE_CACHE")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "spaceverse"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_subdir(name: str) -> Path | None:
    """``cache_dir() / name``, created; or None, after one warning, when it cannot be.

    Caches are best effort: a read-only, unwritable or uncreatable cache folder
    (``SPACEVERSE_CACHE``, ``~/.cache``) costs time (the result is computed again),
    never the run.
    """
    try:
        folder = cache_dir() / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except (OSError, RuntimeError) as exc:  # RuntimeError: no home folder to be found
        where = os.environ.get("SPACEVERSE_CACHE") or "~/.cache/spaceverse"
        cache_warning(f"cannot use the cache folder {where} ({_reason(exc)}); "
                      f"going on without the {name} cache")
        return None


_warned: set[str] = set()


def cache_warning(message: str) -> None:
    """Log a cache problem as one warning (each distinct message once per process)."""
    if message not in _warned:
        _warned.add(message)
        logger.warning("%s", message)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return " ".join(str(exc).split()) or type(exc).__name__
