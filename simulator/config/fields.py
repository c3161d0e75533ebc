"""Field types and limits shared by every block of the scenario schema.

A scenario is written by hand, and sometimes by someone hostile, so every field
says in plain words what it expects and every *size* has an upper bound: a
number that sizes something the simulator allocates or loops over (samples,
satellites, antennas, GPU slots, a folder name) is refused at its line when it
is absurd, instead of passing validation and exhausting memory or the file
system an hour into the run.  The bounds are generous for real use; each one is
a named constant here, so the messages and the field descriptions can say it.

The common base :class:`_Model` forbids unknown keys and non-finite numbers and
reads a number where text is expected (``name: 2026``) as text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from .problems import _show

#: The TLE snapshot the paper-like defaults use.
DEFAULT_CATALOG = "starlink@2026-06-14"

#: Longest simulated span, in hours, for ``time.duration_h`` and ``time.drain_h``.
MAX_HOURS = 24.0 * 30

#: Most samples one run simulates, however they are asked for (``workload.samples``,
#: ``synthetic.samples``, or a rate times satellites times hours): every sample is a
#: row of several arrays and of ``samples.parquet``; ten million is hours of
#: simulation and gigabytes of memory already.
MAX_SAMPLES = 10_000_000

#: Most satellites a Walker shell (``planes x per_plane``) or ``select.count`` asks
#: for: more than twice the largest constellation flying (Starlink, ~9,000).
MAX_SATELLITES = 20_000

#: Most planes, or satellites per plane, of a Walker shell.
MAX_WALKER_SIDE = 1_000

#: Most onboard slots and ground GPUs per station: each is a server of the event
#: simulation (a queue and a state array), and no station racks ten thousand GPUs.
MAX_SERVERS = 10_000

#: Most antennas per ground station (the largest real sites have a few dozen).
MAX_ANTENNAS = 1_000

#: Most entries of ``ground_stations`` (each may name a whole network).
MAX_STATIONS = 1_000

#: Longest ``output.run_id``: a folder name, far below the file systems' 255 bytes
#: (room is left for the files written inside and for sweep prefixes).
MAX_RUN_ID = 120

#: Longest file path a scenario may give (Linux's PATH_MAX); each part of it is
#: also at most :data:`MAX_NAME_BYTES` bytes (NAME_MAX), or the OS refuses it.
MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255

_RUN_ID = re.compile(r"[A-Za-z0-9._-]+")


# ---------------------------------------------------------------------------
# Field types that say in plain words what they expect
# ---------------------------------------------------------------------------

def _no_bool_number(value: Any) -> Any:
    # pydantic would read ``true`` as 1; in a scenario that is always a slip.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_show(value)}")
    return value


def _no_bool_integer(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {_show(value)}")
    return value


def _path_text(value: str) -> str:
    """A file or folder path the OS can take: no control characters, sane lengths.

    A NUL byte or an over-long name would otherwise pass validation and fail
    as a Python exception where the file is first opened.
    """
    bad = re.search(r"[\x00-\x1f\x7f]", value)
    if bad:
        raise ValueError(f"a path cannot hold the control character {bad.group()!r}, "
                         f"got {_show(value)}")
    if len(value) > MAX_PATH_CHARS:
        raise ValueError(f"a path has at most {MAX_PATH_CHARS} characters, got {len(value)}")
    for part in re.split(r"[/\\]", value):
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise ValueError(f"each part of a path has at most {MAX_NAME_BYTES} bytes (the "
                             f"file systems' limit), got one of {size}: {_show(part)}")
    return value


def _run_id_text(value: str) -> str:
    if value in (".", "..") or not _RUN_ID.fullmatch(value):
        raise ValueError(f"must be a plain folder name of letters, digits, '.', '_' and '-' "
                         f"(no / or \\ or spaces), got {_show(value)}")
    return value


Number = Annotated[float, BeforeValidator(_no_bool_number)]
Integer = Annotated[int, BeforeValidator(_no_bool_integer)]
PathText = Annotated[str, AfterValidator(_path_text)]
RunId = Annotated[str, AfterValidator(_run_id_text)]


class _Model(BaseModel):
    """Common configuration: unknown keys are errors, numbers must be finite,
    and a number where text is expected (``name: 2026``) is read as text."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              coerce_numbers_to_str=True, str_strip_whitespace=True)


def _resolve_path(value: str | None, info: ValidationInfo) -> str | None:
    """A relative path that exists next to the scenario file -> that absolute path.

    The loader passes the scenario file's folder as validation context
    (``base_dir``).  Anything else (a catalog name, a path relative to the
    working directory, an absolute path, a path the OS cannot even look at)
    is kept as written.
    """
    if not value or info.context is None:
        return value
    base = info.context.get("base_dir")
    try:
        if base is None or Path(value).expanduser().is_absolute():
            return value
        candidate = Path(base) / value
        if candidate.exists():
            return str(candidate.resolve())
    except (OSError, ValueError, RuntimeError):  # too long, a loop, an unknown ~user
        pass
    return value


def _name_like(value: str) -> str:
    """Lower-case, ``_`` -> ``-``: ``"Satellite_Only"`` and ``"satellite-only"`` are one name."""
    return value.strip().lower().replace("_", "-")
