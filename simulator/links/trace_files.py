"""Bundled link traces and the conversion of published measurements into them.

The measured throughput series that :class:`~simulator.links.TraceLink`
replays live in ``models/link_traces/`` (see that folder's ``PROVENANCE.md``).
This module lists them (:func:`list_link_traces`), validates trace tables,
converts the two published sources into the bundled ``t_s,rate_mbps`` format
(:func:`convert_autobahn`, :func:`convert_fjordlink`), writes them with
reproducible bytes (:func:`write_trace_csv`, :func:`build_bundled_traces`) and
summarises them (:func:`trace_statistics`).

>>> sorted(list_link_traces())
['fjordlink-dish-2024-12-12', 'starlink-autobahn-2024-04-19']
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..paths import project_root

__all__ = [
    "TRACE_COLUMNS",
    "link_traces_dir",
    "list_link_traces",
    "convert_autobahn",
    "convert_fjordlink",
    "trace_statistics",
    "write_trace_csv",
    "build_bundled_traces",
]

#: Columns of a link trace: seconds from the first sample, and the rate.
TRACE_COLUMNS = ("t_s", "rate_mbps")

#: Bundled traces: name -> file name under ``models/link_traces/``.
_BUNDLED = {
    "starlink-autobahn-2024-04-19": "starlink-autobahn-2024-04-19.csv",
    "fjordlink-dish-2024-12-12": "fjordlink-dish-2024-12-12.csv",
}


def link_traces_dir() -> Path:
    """``models/link_traces/`` of the repository (see :func:`simulator.paths.project_root`)."""
    return project_root() / "models" / "link_traces"


def list_link_traces() -> dict[str, Path]:
    """Bundled link traces: name -> CSV file.

    >>> sorted(list_link_traces())
    ['fjordlink-dish-2024-12-12', 'starlink-autobahn-2024-04-19']
    """
    folder = link_traces_dir()
    return {name: folder / file for name, file in _BUNDLED.items()}


def _validated_trace(frame, where: str, *, file: bool) -> tuple[np.ndarray, np.ndarray]:
    """Check a trace table and return ``(t_s, rate_mbps)`` arrays, times from 0.

    ``file`` says whether ``where`` is a file (messages then give its line
    numbers, the header being line 1) or a table (messages give row numbers).
    """

    def at(i: int) -> str:
        return f"{where}:{i + 2}" if file else f"{where} row {i}"

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{where}: expected a table (pandas DataFrame) with columns "
                         f"{','.join(TRACE_COLUMNS)}, got {type(frame).__name__}")
    missing = [c for c in TRACE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)}; "
                         f"expected columns {','.join(TRACE_COLUMNS)}")
    if len(frame) == 0:
        raise InputError(f"{where}: no samples; expected at least one row of "
                         f"{','.join(TRACE_COLUMNS)}")
    arrays = []
    for column in TRACE_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = np.nonzero(~np.isfinite(values))[0]
        if len(bad):
            i = int(bad[0])
            raise InputError(f"{at(i)}: {column} must be a finite number, "
                             f"got {_plain(frame[column].iloc[i])!r}")
        arrays.append(values)
    t, rate = arrays
    steps = np.diff(t)
    if np.any(steps <= 0):
        i = int(np.nonzero(steps <= 0)[0][0]) + 1
        raise InputError(f"{at(i)}: t_s must increase strictly, but {t[i]:g} follows "
                         f"{t[i - 1]:g}; expected samples sorted by time, one per time")
    if np.any(rate < 0):
        i = int(np.nonzero(rate < 0)[0][0])
        raise InputError(f"{at(i)}: rate_mbps must be >= 0 (0 = outage), got {rate[i]:g}")
    return t - t[0], rate


def _plain(value):
    """A NumPy scalar as the Python value (messages say ``nan``, not ``np.float64(nan)``).

    >>> _plain(np.float64("nan")), _plain(np.int64(3)), _plain("fast")
    (nan, 3, 'fast')
    """
    return value.item() if isinstance(value, np.generic) else value


#: Largest link-trace file read (the bundled ones are about 100 kB; a day at 1 Hz is 2 MB).
MAX_TRACE_BYTES = 512 << 20


def _read_trace_file(path: str | Path) -> pd.DataFrame:
    """The table of a link-trace file (CSV or Parquet); any reading problem is one line
    naming the file (a missing file, a folder, damaged or undecodable content)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a CSV or parquet link-trace file "
                         f"with columns {','.join(TRACE_COLUMNS)}")
    if not path.is_file():
        raise InputError(f"{path}: no such link-trace file; expected a CSV or parquet "
                         f"file with columns {','.join(TRACE_COLUMNS)}")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if path.stat().st_size > MAX_TRACE_BYTES:
            raise InputError(f"{path}: link trace larger than {MAX_TRACE_BYTES >> 20} MiB")
        if ".parquet" in suffixes or ".pq" in suffixes:
            return pd.read_parquet(path)
        if suffixes and suffixes[-1] in (".csv", ".txt") or suffixes[-2:] == [".csv", ".gz"]:
            return pd.read_csv(path)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types for bad files
        text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc).strip()
        reason = text.splitlines()[0][:200] if text else type(exc).__name__
        raise InputError(f"{path}: cannot read link trace ({reason})") from None
    raise InputError(f"{path}: unknown link-trace format; expected a .csv or .parquet file")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# Converting the published measurements into bundled traces


def _read_source_csv(path, columns: Sequence[str], what: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read {what} ({str(exc).splitlines()[0]})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; expected the {what}")
    return frame


def convert_autobahn(path, *, gaps: str = "close") -> pd.DataFrame:
    """The Starlink-on-the-Autobahn downlink series as a ``t_s, rate_mbps`` table.

    ``path`` is ``Data/Autobahn/throughput.csv`` of sys-uos/Starlink-on-the-Autobahn
    (Laniewski, Lanfer, Aschenbruck, IEEE OJ-COMS 2025, CC BY-SA 4.0): one row
    per 1-second iperf3 report, measured from a car on the A30/A1 with a Starlink
    Flat High Performance dish.  ``rate_mbps`` is its ``download`` column, which
    is in Mbit/s (values 0-495, median 218: the range of Starlink mobile
    downlinks; bytes/s would mean 1.7 Gbit/s, kbit/s a few hundred kbit/s).

    The iperf3 runs last about 60 s each with pauses of 1-3 s between them, and a
    few longer breaks (the longest 44 min).  ``gaps`` says what to do with them:

    * ``"close"`` (default, used for the bundled trace): lay the 1-second
      reports end to end, ``t_s = 0, 1, 2, ...``; the time axis is then
      *measured* time, and nothing is invented for the pauses;
    * ``"keep"``: ``t_s`` is the report's start time minus the first one, so a
      replay holds the last value through each pause.

    Rows repeated verbatim in the source (one pair) are kept once.

    >>> import io
    >>> sample = io.StringIO(
    ...     "timestamp_start_dl,timestamp_end_dl,download\\n"
    ...     "2024-04-19 16:23:00.0010,2024-04-19 16:23:01.0010,17.5\\n"
    ...     "2024-04-19 16:23:01.0010,2024-04-19 16:23:02.0013,18.25\\n"
    ...     "2024-04-19 16:23:04.0000,2024-04-19 16:23:05.0003,0.0\\n")
    >>> convert_autobahn(sample).to_dict("list")
    {'t_s': [0.0, 1.0, 2.0], 'rate_mbps': [17.5, 18.25, 0.0]}
    """
    if gaps not in ("close", "keep"):
        raise InputError(f"autobahn conversion: gaps must be 'close' or 'keep', got {gaps!r}")
    frame = _read_source_csv(path, ["timestamp_start_dl", "download"],
                             "Starlink-on-the-Autobahn throughput.csv")
    frame = frame.drop_duplicates(subset=["timestamp_start_dl", "download"], keep="first")
    start = pd.to_datetime(frame["timestamp_start_dl"])
    if not start.is_monotonic_increasing or start.duplicated().any():
        raise InputError(f"{path}: timestamp_start_dl must increase strictly")
    rate = pd.to_numeric(frame["download"], errors="coerce").to_numpy(dtype=float)
    if gaps == "close":
        t = np.arange(len(frame), dtype=float)
    else:
        t = np.round((start - start.iloc[0]).dt.total_seconds().to_numpy(), 3)
    return pd.DataFrame({"t_s": t, "rate_mbps": rate})


def convert_fjordlink(path) -> pd.DataFrame:
    """The FjordLink dish telemetry as a ``t_s, rate_mbps`` table.

    ``path`` is ``dish_status_key_columns_DERIVED.csv``: nine columns of the
    Starlink dish's gRPC status dump (ds-kiel/FjordLink, CC BY 4.0), one row a
    second, from a Flat High Performance dish on a ship in the Kiel Fjord.
    ``t_s`` is the row's timestamp minus the first (to the millisecond);
    ``rate_mbps`` is ``downlink_throughput_bps / 1e6``.

    Note that this is the throughput the dish *carried* (the user traffic of
    that moment), not the capacity of the link, and it is far lower than what
    an iperf test achieves (mean 12.7 vs 217.7 Mbps on the Autobahn).

    >>> import io
    >>> sample = io.StringIO(
    ...     "timestamp,state,downlink_throughput_bps\\n"
    ...     "2024-12-12T09:06:37.738616+01:00,CONNECTED,895458.75\\n"
    ...     "2024-12-12T09:06:38.740911+01:00,CONNECTED,827896.875\\n")
    >>> convert_fjordlink(sample).to_dict("list")
    {'t_s': [0.0, 1.002], 'rate_mbps': [0.89545875, 0.827896875]}
    """
    frame = _read_source_csv(path, ["timestamp", "downlink_throughput_bps"],
                             "FjordLink dish status table")
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    if not stamps.is_monotonic_increasing or stamps.duplicated().any():
        raise InputError(f"{path}: timestamp must increase strictly")
    t = np.round((stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(), 3)
    rate = pd.to_numeric(frame["downlink_throughput_bps"], errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame({"t_s": t, "rate_mbps": rate / 1e6})


def trace_statistics(trace: pd.DataFrame) -> dict:
    """Summary of a trace: sample count, duration and rate statistics in Mbps.

    ``mean/median/p5/p95_mbps`` are over the samples; ``time_mean_mbps`` is
    the time-weighted mean a :class:`TraceLink` replays (equal for evenly
    spaced samples).

    >>> stats = trace_statistics(pd.DataFrame({"t_s": [0, 1, 2, 4], "rate_mbps": [1, 2, 3, 4]}))
    >>> stats["duration_s"], stats["mean_mbps"], stats["time_mean_mbps"]
    (5.0, 2.5, 2.6)
    """
    from .capacity import TraceLink  # the replay defines duration and time mean

    link = TraceLink(trace)
    rate = link._rate_mbps
    return {
        "samples": int(len(rate)),
        "duration_s": link.duration_s,
        "sample_period_s": link.sample_period_s,
        "mean_mbps": float(np.mean(rate)),
        "median_mbps": float(np.median(rate)),
        "p5_mbps": float(np.percentile(rate, 5)),
        "p95_mbps": float(np.percentile(rate, 95)),
        "max_mbps": float(np.max(rate)),
        "zero_share": float(np.mean(rate == 0)),
        "time_mean_mbps": link.mean_rate_mbps,
    }


def write_trace_csv(trace: pd.DataFrame, path: str | Path) -> Path:
    """Write a trace as ``t_s,rate_mbps`` CSV with fixed formatting (reproducible bytes).

    ``t_s`` is written to the millisecond, ``rate_mbps`` to the bit per second
    (6 decimals); lines end in ``\\n``.
    """
    t, rate = _validated_trace(trace, "trace to write", file=False)
    path = Path(path)
    lines = ["t_s,rate_mbps"] + [f"{a:.3f},{b:.6f}" for a, b in zip(t, rate)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")
    return path


def build_bundled_traces(source_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Rebuild ``models/link_traces/*.csv`` from the published measurements.

    ``source_dir`` holds ``starlink_autobahn_2024-04-19/throughput.csv`` and
    ``fjordlink_dish_grpc_2024-12-12/dish_status_key_columns_DERIVED.csv`` (the
    project's copies of the sources named in ``models/link_traces/PROVENANCE.md``).
    Returns the written files by trace name.
    """
    source_dir = Path(source_dir)
    out_dir = Path(out_dir) if out_dir is not None else link_traces_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "starlink-autobahn-2024-04-19": convert_autobahn(
            source_dir / "starlink_autobahn_2024-04-19" / "throughput.csv"),
        "fjordlink-dish-2024-12-12": convert_fjordlink(
            source_dir / "fjordlink_dish_grpc_2024-12-12" / "dish_status_key_columns_DERIVED.csv"),
    }
    return {name: write_trace_csv(table, out_dir / _BUNDLED[name]) for name, table in tables.items()}
