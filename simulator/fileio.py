"""Atomic file writes: nothing half-written ever sits under a final name.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(folder / "a.txt", lambda tmp: tmp.write_text("hello")).read_text()
'hello'
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

from .errors import InputError


def write_atomic(path, write: Callable[[Path], object], *, what: str = "") -> Path:
    """Write ``path`` by calling ``write(tmp)`` on a hidden temporary file beside it, then
    renaming it into place.  The temporary name keeps the suffix (so writers that infer the
    format from it, like matplotlib, still work).  Any OS error becomes one line:
    ``PATH: cannot write <what> (reason)``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        label = f" {what}" if what else ""
        raise InputError(f"{path}: cannot write{label} ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
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
