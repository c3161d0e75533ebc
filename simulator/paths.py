"""Where the project's bundled data lives.

The real TLE snapshots sit in the repository's top-level ``tle/`` folder (see
``tle/PROVENANCE.md``); small tables such as the ground-station catalog ship inside
the package under ``simulator/data/``.  ``SPACEVERSE_HOME`` overrides the
repository root, ``SPACEVERSE_CACHE`` the cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"


def project_root() -> Path:
    """The repository root (the folder holding ``tle/``)."""
    env = os.environ.get("SPACEVERSE_HOME")
    return Path(env) if env else PACKAGE_DIR.parent


def tle_dir() -> Path:
    return project_root() / "tle"


def cache_dir() -> Path:
    """Folder for on-disk caches (contact plans); created on demand."""
    env = os.environ.get("SPACEVERSE_CACHE")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "spaceverse"
    path.mkdir(parents=True, exist_ok=True)
    return path
