"""Where the project's bundled data lives.

The real TLE snapshots sit in the repository's top-level ``tle/`` folder (see
``tle/PROVENANCE.md``); small tables such as the ground-station catalog ship inside
the package under ``simulator/data/``.  ``SPACEVERSE_HOME`` overrides the
repository root, ``SPACEVERSE_CACHE`` the cache folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

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


# --------------------------------------------------------------------------- cache helpers


def cache_digest(*parts: Any) -> str:
    """SHA-256 (hex) of ``parts`` as canonical JSON: the key of an on-disk cache entry.

    >>> cache_digest("a", {"b": 1}) == cache_digest("a", {"b": 1}) != cache_digest("a", {"b": 2})
    True
    """
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def source_digest(*modules: Any) -> str:
    """A code version for cache keys: SHA-256 of the source files of ``modules``
    (module objects or file paths), so any edit of the code invalidates the entries."""
    digest = hashlib.sha256()
    for module in modules:
        path = Path(getattr(module, "__file__", module))
        try:
            digest.update(path.read_bytes())
        except OSError:  # no source (frozen, zipped): its name and the package version
            from simulator import __version__

            digest.update(f"{path.name}@{__version__}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _oneline(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())
    if len(detail) > 160:
        detail = detail[:157] + "..."
    return f"{type(exc).__name__}{': ' + detail if detail else ''}"


def read_cache_entry(name: str, filename: str, load: Callable[[Path], T], *,
                     what: str) -> T | None:
    """``load(path)`` of the entry ``filename`` of the cache ``name``; None when there is
    none, the cache folder is unusable, or the entry is damaged (one warning each: the
    caller computes the value again and rewrites the entry)."""
    folder = cache_subdir(name)
    if folder is None:
        return None
    path = folder / filename
    try:
        if not path.is_file():
            return None
        return load(path)
    except Exception as exc:  # noqa: BLE001 - a damaged entry is recomputed, never fatal
        cache_warning(f"ignoring a damaged {what} cache entry {path} ({_oneline(exc)}); "
                      f"computing it again")
        return None


def write_cache_entry(name: str, filename: str, write: Callable[[Path], object], *,
                      what: str) -> Path | None:
    """Write the entry ``filename`` of the cache ``name`` atomically with ``write(tmp)``;
    a cache that cannot be written is one warning (returns None)."""
    from simulator.fileio import write_atomic

    folder = cache_subdir(name)
    if folder is None:
        return None
    try:
        return write_atomic(folder / filename, write, what=f"{what} cache entry")
    except Exception as exc:  # noqa: BLE001 - an unwritable cache is skipped, never fatal
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        cache_warning(f"cannot write to the {name} cache {folder} ({reason}); "
                      f"{what} is not cached")
        return None


class BlobStore:
    """A best-effort on-disk mapping ``key -> bytes``: one SQLite file in the cache folder.

    Entries are grouped by ``namespace`` (for example a model's identity), so one file
    serves several producers.  Every call opens its own connection (safe in threads and
    in forked workers) and each write is one transaction: readers see whole entries or
    none.  Nothing here raises: an unusable cache folder, an unwritable file or a
    damaged database is one warning, and a damaged database is replaced by an empty one.
    """

    #: Keys per SELECT (well under SQLite's bound-variable limit).
    CHUNK = 500

    def __init__(self, name: str, filename: str, *, namespace: str, what: str = ""):
        self.name, self.filename, self.namespace = name, filename, namespace
        self.what = what or name
        self._broken = False

    def _connect(self):
        import sqlite3

        if self._broken:
            return None
        folder = cache_subdir(self.name)
        if folder is None:
            self._broken = True
            return None
        path = folder / self.filename
        for attempt in (1, 2):
            con = None
            try:
                con = sqlite3.connect(path, timeout=30.0)
                con.execute("CREATE TABLE IF NOT EXISTS blobs (namespace TEXT NOT NULL, "
                            "key TEXT NOT NULL, value BLOB NOT NULL, "
                            "PRIMARY KEY (namespace, key)) WITHOUT ROWID")
                return con
            except sqlite3.DatabaseError as exc:
                if con is not None:
                    con.close()
                damaged = not isinstance(exc, sqlite3.OperationalError)
                if damaged and attempt == 1:
                    cache_warning(f"replacing a damaged {self.what} cache {path} "
                                  f"({_oneline(exc)})")
                    try:
                        for leftover in (path, Path(f"{path}-journal")):
                            leftover.unlink(missing_ok=True)
                        continue
                    except OSError:
                        pass
                cache_warning(f"cannot use the {self.what} cache {path} ({_oneline(exc)}); "
                              f"going on without it")
                self._broken = True
                return None
        return None  # pragma: no cover - the loop returns

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        """The stored values of ``keys`` (missing keys are left out)."""
        import sqlite3

        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        con = self._connect()
        if con is None:
            return {}
        found: dict[str, bytes] = {}
        try:
            for start in range(0, len(keys), self.CHUNK):
                chunk = keys[start:start + self.CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT key, value FROM blobs WHERE namespace = ? "
                                   f"AND key IN ({marks})", [self.namespace, *chunk])
                found.update((str(k), bytes(v)) for k, v in rows)
        except sqlite3.Error as exc:
            cache_warning(f"cannot read the {self.what} cache ({_oneline(exc)}); "
                          f"computing the values again")
            return {}
        finally:
            con.close()
        return found

    def put_many(self, items: dict[str, bytes]) -> None:
        """Store ``items`` (replacing what the keys held)."""
        import sqlite3

        if not items:
            return
        con = self._connect()
        if con is None:
            return
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO blobs (namespace, key, value) "
                                "VALUES (?, ?, ?)",
                                [(self.namespace, k, v) for k, v in items.items()])
        except sqlite3.Error as exc:
            cache_warning(f"cannot write to the {self.what} cache ({_oneline(exc)}); "
                          f"the values are not cached")
        finally:
            con.close()


def read_cache_json(name: str, key: Any, convert: Callable[[Any], T], *, what: str) -> T | None:
    """``convert(data)`` of the JSON entry of the cache ``name`` keyed by ``key`` (any JSON
    value; see :func:`cache_digest`), or None (no entry; a damaged one is a warning)."""
    def load(path: Path) -> T:
        with open(path, encoding="utf-8") as handle:
            return convert(json.load(handle))

    return read_cache_entry(name, f"{cache_digest(key)[:32]}.json", load, what=what)


def write_cache_json(name: str, key: Any, data: Any, *, what: str) -> Path | None:
    """Store ``data`` as the JSON entry of the cache ``name`` keyed by ``key`` (atomically;
    an unwritable cache is a warning)."""
    text = json.dumps(data, separators=(",", ":"))
    return write_cache_entry(name, f"{cache_digest(key)[:32]}.json",
                             lambda path: path.write_text(text, encoding="utf-8"), what=what)
