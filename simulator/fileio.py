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
