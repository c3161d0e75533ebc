"""Atomic writes of files and folders: nothing half-written ever sits under a final name.

Files are written under a hidden temporary name beside the target and renamed into
place (:func:`write_atomic`).  Folders are assembled the same way and swapped into
place in one step (:func:`replace_folder`): on Linux with ``renameat2(...,
RENAME_EXCHANGE)``, which exchanges two names atomically, so at every instant the
final name holds either the old or the new complete folder.

Temporary names say who owns them: ``.NAME.tmp-PID@HOST`` (a folder being built),
``.NAME.old-PID@HOST`` (an old folder stepped aside, only where no atomic exchange
exists) and ``.NAME.tmp-PID@HOST.XXXXXX.SUFFIX`` (a file being written).  A process
killed at the wrong moment leaves such names behind; :func:`clean_leftovers`, run
by every command that writes results, removes those whose process is dead and puts
a stepped-aside old folder back if its final name is empty.  Names of processes on
another host are left alone (their liveness cannot be checked from here).

Everything is written with the process's umask (files ``0666 & ~umask``, folders
``0777 & ~umask``), like any ordinary file, so a shared results folder stays
readable to the group.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(folder / "a.txt", lambda tmp: tmp.write_text("hello")).read_text()
'hello'
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import shutil
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import InputError

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Files


def write_atomic(path, write: Callable[[Path], object], *, what: str = "") -> Path:
    """Write ``path`` by calling ``write(tmp)`` on a hidden temporary file beside it, then
    renaming it into place.  The temporary name keeps the suffix (so writers that infer the
    format from it, like matplotlib, still work).  Any OS error becomes one line:
    ``PATH: cannot write <what> (reason)``.  ``write`` creates the file itself, so its mode
    follows the umask.  Temporary files of dead processes for the same target are removed.
    """
    path = Path(path)
    tmp = temp_name(path, "tmp", unique=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        label = f" {what}" if what else ""
        raise InputError(f"{path}: cannot write{label} ({exc.strerror or exc})") from None
    finally:
        if os.path.lexists(tmp):
            _quietly(os.unlink, tmp)
    clean_leftovers(path.parent, name=path.name)
    return path


def read_user_bytes(path, *, source: str | None = None, what: str = "",
                    folder: str | None = None, error: type[Exception] = InputError) -> bytes:
    """The bytes of a file a user named; every OS error becomes one line naming it.

    ``source`` is how the user wrote the path (default: ``path``), ``what`` the kind
    of file ("scenario", "sweep"), ``folder`` the message when it is a directory;
    ``error`` the exception class to raise (an :class:`InputError` subclass).

    >>> read_user_bytes("/no/such.yaml", what="scenario")
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: /no/such.yaml: no such scenario file
    """
    label = source if source is not None else str(path)
    noun = f"{what} file" if what else "file"
    try:
        return Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise error(f"{label}: no such {noun}") from None
    except IsADirectoryError:
        raise error(f"{label}: {folder or f'is a folder, expected a YAML {noun}'}") from None
    except PermissionError:
        raise error(f"{label}: permission denied (cannot read the file)") from None
    except OSError as exc:
        raise error(f"{label}: cannot read the file ({exc.strerror or exc})") from None


# ---------------------------------------------------------------------------
# Temporary names and who owns them


def host_tag() -> str:
    """This machine's name as it appears in temporary names (letters, digits and ``-``)."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]
    return name or "localhost"


def temp_name(path, kind: str = "tmp", *, unique: bool = False) -> Path:
    """The hidden name beside ``path`` that this process uses while it writes ``path``.

    ``kind`` is ``"tmp"`` (being built) or ``"old"`` (an old version stepped aside).
    ``unique`` adds a random part and keeps the suffix (for files: a writer may infer
    the format from it).

    >>> temp_name("/r/run-1", "tmp").name == f".run-1.tmp-{os.getpid()}@{host_tag()}"
    True
    """
    if kind not in ("tmp", "old"):
        raise ValueError(f"kind must be 'tmp' or 'old', got {kind!r}")
    path = Path(path)
    name = f".{path.name}.{kind}-{os.getpid()}@{host_tag()}"
    if unique:
        name += f".{uuid.uuid4().hex[:6]}{path.suffix}"
    return path.with_name(name)


@dataclass(frozen=True)
class Leftover:
    """What a temporary name says: the final name it belongs to, its kind and owner."""

    path: Path
    target: str
    kind: str             # "tmp" or "old"
    pid: int
    host: str | None      # None: an old-style name without a host (this machine)


_LEFTOVER = re.compile(r"^\.(?P<target>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)"
                       r"(?:@(?P<host>[A-Za-z0-9-]+))?(?:\.[0-9a-f]{6}(?:\.[^.]*)?)?$")
# Files of the previous write_atomic: .STEM.PID.XXXXXX.tmp.SUFFIX
_LEGACY_FILE = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{6}\.tmp(?:\.[^.]*)?$")


def parse_leftover(path) -> Leftover | None:
    """The :class:`Leftover` a temporary name describes, or None for any other name.

    >>> parse_leftover("/r/.run-1.old-42@node-3").target, parse_leftover(".a.tmp-7").host
    ('run-1', None)
    """
    path = Path(path)
    match = _LEFTOVER.match(path.name)
    if match:
        return Leftover(path, match["target"], match["kind"], int(match["pid"]), match["host"])
    match = _LEGACY_FILE.match(path.name)
    if match:  # the target's suffix is not in the name; such a file is only ever removed
        return Leftover(path, match["target"], "tmp", int(match["pid"]), None)
    return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs (a zombie counts as dead;
    when in doubt, alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def owner_dead(leftover: Leftover) -> bool:
    """True only when the process that made ``leftover`` certainly no longer runs."""
    if leftover.host is not None and leftover.host != host_tag():
        return False
    return leftover.pid != os.getpid() and not pid_alive(leftover.pid)


_warned: set[str] = set()


def clean_leftovers(folder, *, name: str | None = None) -> list[Path]:
    """Tidy what dead processes left in ``folder`` (only for final name ``name`` if given).

    A ``tmp`` leftover (a half-built folder or file, or an old folder already swapped
    out) is removed.  An ``old`` leftover is the previous complete version of its
    target, stepped aside by a process killed before it put the new one in place: it
    is renamed back if the target name is empty, else removed.  Never raises: a
    leftover that cannot be removed gives one warning.  Returns the paths handled.
    """
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".")]
    except OSError:
        return []
    handled = []
    # Old versions first: one may have to go back to its final name.
    found = [lo for lo in (parse_leftover(Path(e.path)) for e in entries) if lo is not None]
    for leftover in sorted(found, key=lambda lo: lo.kind != "old"):
        if name is not None and leftover.target not in (name, Path(name).stem):
            continue
        if not owner_dead(leftover):
            continue
        try:
            target = Path(folder) / leftover.target
            if leftover.kind == "old" and not os.path.lexists(target) and \
                    _rename_if_free(leftover.path, target):
                logger.warning("%s: restored the previous result that an interrupted write "
                               "(process %d) had moved aside", target, leftover.pid)
            else:
                remove_path(leftover.path)
            handled.append(leftover.path)
        except OSError as exc:
            key = str(leftover.path)
            if key not in _warned:
                _warned.add(key)
                logger.warning("%s: cannot remove what a dead process left (%s)",
                               leftover.path, exc.strerror or exc)
    return handled


def remove_path(path) -> None:
    """Remove a file or a whole folder; a path that is already gone is fine."""
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _discard(path) -> None:
    """Remove a replaced old version; the new one is already in place, so a failure is
    only a warning (the next command removes the leftover)."""
    try:
        remove_path(path)
    except OSError as exc:
        logger.warning("%s: cannot remove the replaced version (%s)", path, exc.strerror or exc)


def _quietly(func, *args) -> None:
    try:
        func(*args)
    except OSError:
        pass


# ---------------------------------------------------------------------------
# Swapping folders into place

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2      # linux/fs.h
_RENAME_SWAP = 2          # macOS renamex_np
_SYSCALL_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "arm64": 276}
_exchange_call = None     # resolved on first use; False where there is none


def _resolve_exchange():
    """A function ``(src_bytes, dst_bytes) -> int`` (0 or -1 with errno) that swaps two
    names atomically, or None where the C library offers none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux"):
        fn = getattr(libc, "renameat2", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
            fn.restype = ctypes.c_int
            return lambda a, b: fn(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
        number = _SYSCALL_RENAMEAT2.get(os.uname().machine)  # glibc < 2.28
        if number is not None and hasattr(libc, "syscall"):
            call = libc.syscall
            call.restype = ctypes.c_long
            return lambda a, b: call(ctypes.c_long(number), ctypes.c_int(_AT_FDCWD),
                                     ctypes.c_char_p(a), ctypes.c_int(_AT_FDCWD),
                                     ctypes.c_char_p(b), ctypes.c_uint(_RENAME_EXCHANGE))
        return None
    if sys.platform == "darwin":
        fn = getattr(libc, "renamex_np", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
            return lambda a, b: fn(a, b, _RENAME_SWAP)
    return None


def rename_exchange(a, b) -> bool:
    """Swap the names ``a`` and ``b`` (files or folders) in one atomic step.

    Returns True when swapped, False where the system or file system cannot do it
    (the caller falls back); raises :class:`FileNotFoundError` when either is missing
    and :class:`OSError` for other failures.
    """
    global _exchange_call
    if _exchange_call is None:
        _exchange_call = _resolve_exchange() or False
    if _exchange_call is False:
        return False
    if _exchange_call(os.fsencode(os.fspath(a)), os.fsencode(os.fspath(b))) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.ENOSYS:
        _exchange_call = False
        return False
    if code in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # this file system only
    raise OSError(code, os.strerror(code), os.fspath(a), None, os.fspath(b))


def _rename_if_free(src, dst) -> bool:
    """Rename ``src`` to ``dst`` if ``dst`` is free (absent or an empty folder)."""
    try:
        os.rename(src, dst)
        return True
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            return False
        raise


def replace_folder(src, dst) -> None:
    """Put the complete folder ``src`` at ``dst``, replacing what is there, atomically.

    ``dst`` free: one rename.  ``dst`` taken: :func:`rename_exchange` swaps the two
    in one step (``dst`` is never missing or partial) and the old content, now at
    ``src``, is removed.  Where no exchange exists the old folder steps aside to
    ``temp_name(dst, "old")`` and is put back if the rename in fails; a process
    killed between the two renames leaves it there, and :func:`clean_leftovers`
    restores it.  ``src`` is gone when this returns.
    """
    src, dst = Path(src), Path(dst)
    for _ in range(8):  # another process may create or remove dst meanwhile
        if not os.path.lexists(dst) and _rename_if_free(src, dst):
            return
        try:
            if rename_exchange(src, dst):
                _discard(src)
                return
        except FileNotFoundError:
            if not src.exists():
                raise
            continue  # dst vanished: rename instead
        aside = temp_name(dst, "old")
        try:
            os.rename(dst, aside)
        except FileNotFoundError:
            continue
        try:
            os.rename(src, dst)
        except BaseException:
            _quietly(os.rename, aside, dst)
            raise
        _discard(aside)
        return
    raise OSError(errno.EBUSY, "the folder keeps changing while it is replaced", os.fspath(dst))
