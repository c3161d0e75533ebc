"""Hostile inputs to every ``spaceverse`` command: one line and exit 2, never a traceback.

Each case of :data:`CASES` is one command line with the files it needs: malformed,
adversarial, oversized and unreadable inputs (scenario and sweep files, ``--set``
values, TLE files, station catalogs and station strings, link-trace files,
recorded traces and their JSON sidecars, confidence checkpoints), damaged caches
and results folders, bad output paths and option values out of range.  A case
passes when

* no ``Traceback`` (nor a NumPy repr such as ``np.float64(nan)``) is printed;
* the exit status is the expected one: 2 for bad input (with exactly one
  ``error: ...`` line on stderr, naming what is wrong: the expected words), 0 for
  valid input;
* it takes at most :data:`TIME_LIMIT_S` seconds;
* nothing new appears under ``results/`` (of the case's working directory and of
  the repository), and a failing case leaves no new file at all in its working
  directory; no cache appears under ``HOME`` (the real home is never used).

Cases run in-process through :func:`simulator.cli.main` (with ``capsys``), the
working directory a fresh temporary folder, ``SPACEVERSE_CACHE`` a temporary
cache and ``HOME`` an empty temporary folder (checked to stay without a cache).
The few that need a real process (closed or full standard output, inputs that
could take unbounded memory or time if a check regressed) run
``python -m simulator`` with a memory limit and a timeout.

Adding a case is one line in :data:`CASES`::

    C("id", "command line", {"relative/path": content, ...}, exit_code, "expected words")

Every expected word must be in the error line (case-insensitive); ``a|b`` accepts either.

``content`` is text, bytes, or one of :data:`DIR`, :data:`GONE`, :data:`UNREADABLE`,
:class:`Copy` (a fixture or a repository file), :class:`Truncate`, :class:`Link`,
:class:`Parquet`, :class:`Mode`; paths starting with ``@cache/`` are under the case's
cache folder.  The command line may use ``{ro}`` (a folder nobody can write into),
``{repo}``, ``{small}`` (``scenarios/small.yaml``) and ``{cache}``.  A case that
fails because of code owned elsewhere is marked ``xfail(strict=True)`` with the
owner and what is missing (:data:`OWNED`).
"""

from __future__ import annotations

import copy
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulator.cli import main

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "scenarios" / "small.yaml"
EO_TLE = REPO / "tle" / "celestrak_2026-06-14" / "eo_iss_from_active.tle"
UCM = REPO / "models" / "traces" / "ucm-llava15-7b-vs-geochat-7b"
CKPT = REPO / "models" / "confidence" / "ucm-llava15-7b-vs-geochat-7b-progressive"
LINK_TRACE = REPO / "models" / "link_traces" / "starlink-autobahn-2024-04-19.csv"

#: Most seconds one case may take (a real process included).
TIME_LIMIT_S = 10.0
#: Never printed: a traceback, or NumPy scalars shown by repr instead of their value.
FORBIDDEN = ("Traceback", "np.float64(", "np.int64(", "np.str_(", "np.bool_(")
ROOT = os.geteuid() == 0
#: matplotlib's settings and font cache (processes get a temporary HOME: no rebuild).
MPL_CONFIG = os.environ.get("MPLCONFIGDIR") or str(Path.home() / ".config" / "matplotlib")
#: Address space of a case run as a process (an unbounded read or grid fails, not the machine).
MEMORY_LIMIT = 4 << 30


# --------------------------------------------------------------------------- file builders


class _Token:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: An empty folder.
DIR = _Token("DIR")
#: Remove what an earlier entry put there.
GONE = _Token("GONE")
#: A file that exists but cannot be read (mode 000; for root, a link to /proc/self/mem,
#: which no process can read at offset 0).
UNREADABLE = _Token("UNREADABLE")


@dataclass(frozen=True)
class Copy:
    """Copy ``source``: a fixture name (``run``, ``sweep``, ``cache``) or a path; a trace or
    checkpoint path without suffix copies both of its files (the key then has no suffix)."""

    source: str | Path


@dataclass(frozen=True)
class Truncate:
    """Cut the file to ``size`` bytes (negative: that many bytes off its end)."""

    size: int


@dataclass(frozen=True)
class Link:
    """A symbolic link to ``target``."""

    target: str


@dataclass(frozen=True)
class Parquet:
    """A Parquet file of the table ``columns`` (column -> values)."""

    columns: dict


@dataclass(frozen=True)
class Mode:
    """Change the mode of what an earlier entry made."""

    mode: int


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


TINY = {
    "name": "tiny",
    "seed": 1,
    "time": {"duration_h": 1, "drain_h": 1, "contact_step_s": 60},
    "constellation": {"catalog": "starlink@2026-06-14",
                      "select": {"altitude_km": 570, "tolerance_km": 20,
                                 "inclination_deg": 70, "count": 1}},
    "ground_stations": [{"name": "Shanghai", "min_elevation_deg": 25}],
    "link": {"model": "constant", "rate_mbps": 110.67},
    "workload": {"synthetic": {"task": "vqa", "samples": 10}},
    "policy": {"allocation": "ground-only"},
}


def _merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and "__replace__" not in value:
            out[key] = _merge(out[key], value)
        else:
            out[key] = {k: v for k, v in value.items() if k != "__replace__"} \
                if isinstance(value, dict) else value
    return out


def scen(**changes) -> str:
    """The tiny scenario (1 satellite, Shanghai, 1 h, 10 samples) with ``changes`` deep-merged
    (``None`` removes a key, ``{"__replace__": 1, ...}`` replaces a whole block)."""
    return yaml.safe_dump(_merge(TINY, changes), sort_keys=False)


def tle_scen(path: str = "c.tle") -> str:
    """The tiny scenario flying every satellite of the TLE file ``path``."""
    return scen(constellation={"__replace__": 1, "catalog": path})


def eo_text(n: int = 2) -> str:
    lines = [line.rstrip() for line in EO_TLE.read_text().splitlines() if line.strip()]
    return "\n".join(lines[: 3 * n]) + "\n"


def bad_checksum(text: str) -> str:
    lines = text.splitlines()
    line1 = lines[1]
    lines[1] = line1[:68] + str((int(line1[68]) + 1) % 10)
    return "\n".join(lines) + "\n"


def trace_scen(trace: str = "t", **more) -> str:
    """Tiny scenario replaying the recorded trace file ``trace`` (UC Merced, 10 samples)."""
    return scen(workload={"__replace__": 1, "trace": trace, "samples": 10}, **more)


def link_scen(file: str = "l.csv") -> str:
    return scen(link={"__replace__": 1, "model": "trace", "trace": {"file": file}})


def ckpt_scen(checkpoint: str = "c.pt") -> str:
    return trace_scen(policy={"__replace__": 1, "allocation": "spaceverse",
                              "params": {"checkpoint": checkpoint}})


def sweep_text(base: str = "s.yaml", **more) -> str:
    data = {"name": "sw", "base": base, "mode": "grid",
            "axes": {"policy.allocation": ["ground-only", "satellite-only"]}}
    data.update(more)
    return yaml.safe_dump(data, sort_keys=False)


def trace_table(**changes) -> dict:
    """Columns of a valid two-row trace table, with ``changes``."""
    cols = {"sample_id": ["a", "b"], "task": ["vqa", "vqa"], "image_width_px": [256, 256],
            "image_height_px": [256, 256], "image_bytes": [1000, 1000],
            "prompt_tokens": [30, 30], "onboard_answer": ["yes", "no"],
            "ground_answer": ["yes", "yes"], "onboard_score": [1.0, 0.0],
            "ground_score": [1.0, 1.0], "onboard_output_tokens": [2, 2],
            "ground_output_tokens": [2, 2]}
    cols.update(changes)
    return cols


TRACE_META = ('{"name": "t", "source": "test", "models": {"onboard": "a", "ground": "b"}, '
              '"task": "vqa", "licence": "CC0-1.0", "synthetic": false, "schema_version": 1}')
#: A recorded trace ``t.parquet`` + ``t.json`` (copied from the bundled UC Merced trace).
TRACE = {"t": Copy(UCM)}
#: The bundled confidence checkpoint ``c.pt`` + ``c.json`` that fits :data:`TRACE`.
CHECKPOINT = {"c": Copy(CKPT)}
SCENARIO = {"s.yaml": scen()}
RUN = {"r": Copy("run")}
SWEEP = {"w": Copy("sweep")}
STATIONS_HEADER = "name,lat_deg,lon_deg\n"


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    id: str
    argv: str
    files: dict = field(default_factory=dict)
    code: int = 2
    words: str = ""
    process: bool = False       # run as a real process (python -m simulator), memory bounded
    env: dict = field(default_factory=dict)
    stdout: str | None = None   # process only: where stdout goes ("closed", "/dev/full")


def C(id, argv, files=None, code=2, words="", **kw) -> Case:
    return Case(id, argv, dict(files or {}), code, words, **kw)


#: Cases that fail because of code another person owns right now: id -> reason.
OWNED: dict[str, str] = {}

CASES = [
    # ---- run: scenario files ------------------------------------------------------------
    C("run-missing-scenario", "run nope.yaml", {}, 2, "nope.yaml"),
    C("run-scenario-is-folder", "run d", {"d": DIR}, 2, "d"),
    C("run-scenario-empty", "run s.yaml", {"s.yaml": ""}, 2, "s.yaml"),
    C("run-scenario-dev-null", "run /dev/null", {}, 2, "/dev/null"),
    C("run-scenario-binary", "run s.yaml", {"s.yaml": bytes(range(256)) * 8}, 2, "s.yaml"),
    C("run-scenario-not-utf8", "run s.yaml", {"s.yaml": "name: caf\xe9\n".encode("latin-1")}, 2,
      "s.yaml"),
    C("run-scenario-syntax-error", "run s.yaml", {"s.yaml": "name: [1, 2\nseed: 1\n"}, 2, "s.yaml"),
    C("run-scenario-top-level-list", "run s.yaml", {"s.yaml": "- 1\n- 2\n"}, 2, "s.yaml"),
    C("run-scenario-unknown-key", "run s.yaml", {"s.yaml": scen(nmae="x")}, 2, "nmae"),
    C("run-scenario-unreadable", "run s.yaml", {"s.yaml": UNREADABLE}, 2, "s.yaml"),
    C("run-scenario-symlink-loop", "run s.yaml", {"s.yaml": Link("s.yaml")}, 2, "s.yaml"),
    C("run-scenario-dangling-symlink", "run s.yaml", {"s.yaml": Link("gone.yaml")}, 2, "s.yaml"),
    C("run-scenario-alias-bomb", "run s.yaml", {"s.yaml": _billion_laughs()}, 2, "s.yaml", process=True),
    C("run-scenario-deep-nesting", "run s.yaml", {"s.yaml": "a: " + "[" * 5000 + "]" * 5000},
      2, "s.yaml", process=True),
    C("run-scenario-oversized", "run s.yaml",
      {"s.yaml": scen() + "#" + "x" * (64 << 20) + "\n"}, 2, "s.yaml", process=True),
    C("run-scenario-merge-key", "run s.yaml",
      {"s.yaml": "base: &b {seed: 1}\n<<: *b\nname: x\n"}, 2, "s.yaml"),
    C("run-scenario-non-string-key", "run s.yaml", {"s.yaml": scen() + "1: 2\n"}, 2, "s.yaml"),
    C("run-scenario-duplicate-key", "run s.yaml", {"s.yaml": scen() + "seed: 2\n"}, 2, "seed"),
    C("run-scenario-null-document", "run s.yaml", {"s.yaml": "~\n"}, 2, "s.yaml"),
    C("run-scenario-nan-duration", "run s.yaml", {"s.yaml": scen(time={"duration_h": ".nan"})},
      2, "duration_h"),
    # ---- run: --set ---------------------------------------------------------------------
    C("run-set-no-equals", "run s.yaml --set seed", SCENARIO, 2, "seed"),
    C("run-set-empty-key", "run s.yaml --set =3", SCENARIO, 2, "=3"),
    C("run-set-unknown-key", "run s.yaml --set nosuch.key=1", SCENARIO, 2, "nosuch"),
    C("run-set-bad-type", "run s.yaml --set seed=abc", SCENARIO, 2, "seed"),
    C("run-set-negative-seed", "run s.yaml --set seed=-1", SCENARIO, 2, "seed"),
    C("run-set-nan", "run s.yaml --set time.duration_h=nan", SCENARIO, 2, "duration_h"),
    C("run-set-inf-rate", "run s.yaml --set link.rate_mbps=inf", SCENARIO, 2, "rate_mbps"),
    C("run-set-negative-rate", "run s.yaml --set link.rate_mbps=-5", SCENARIO, 2, "rate_mbps"),
    C("run-set-huge-samples", "run s.yaml --set workload.synthetic.samples=100000000000",
      SCENARIO, 2, "samples", process=True),
    C("run-set-flow-mapping", "run s.yaml --set 'seed={a: 1}'", SCENARIO, 2, "seed"),
    C("run-set-alias-bomb", "run s.yaml --set 'name=" + _billion_laughs(6).replace("\n", " ")
      + "'", SCENARIO, 2, "", process=True),
    C("run-set-oversized", "run s.yaml --out out --set name=" + "x" * 120_000, SCENARIO, 2,
      "name", process=True),
    C("run-set-unknown-policy", "run s.yaml --set policy.allocation=grund-only", SCENARIO, 2,
      "grund-only"),
    C("run-set-into-scalar", "run s.yaml --set seed.x=1", SCENARIO, 2, "seed"),
    # ---- run: output folder -------------------------------------------------------------
    C("run-out-is-file", "run s.yaml --out f", {**SCENARIO, "f": "x"}, 2, "f"),
    C("run-out-under-file", "run s.yaml --out f/sub", {**SCENARIO, "f": "x"}, 2, "f"),
    C("run-out-read-only", "run s.yaml --out {ro}/out", SCENARIO, 2, "out"),
    C("run-out-missing-parent-ok", "run s.yaml --out a/b/c", SCENARIO, 0, ""),
    C("run-ok", "run s.yaml --out out", SCENARIO, 0, ""),
    # ---- run: TLE files named by the scenario -------------------------------------------
    C("run-tle-missing", "run s.yaml", {"s.yaml": tle_scen("nope.tle")}, 2, "nope.tle"),
    C("run-tle-empty", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": ""}, 2, "c.tle"),
    C("run-tle-binary", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": bytes(range(256)) * 4},
      2, "c.tle"),
    C("run-tle-garbage-text", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": "hello\nworld\n"},
      2, "c.tle"),
    C("run-tle-bad-checksum", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": bad_checksum(eo_text())},
      2, "checksum"),
    C("run-tle-truncated-record", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": eo_text()[:-40]},
      2, "c.tle"),
    C("run-tle-is-folder", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": DIR}, 2, "c.tle"),
    C("run-tle-unreadable", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": UNREADABLE}, 2,
      "c.tle|mem"),
    C("run-tle-oversized", "run s.yaml",
      {"s.yaml": tle_scen(), "c.tle": eo_text() + ("x" * 68 + "\n") * 1_200_000}, 2, "c.tle", process=True),
    C("run-tle-long-line", "run s.yaml", {"s.yaml": tle_scen(), "c.tle": "x" * 5_000_000},
      2, "c.tle"),
    C("run-tle-nul-bytes", "run s.yaml", {"s.yaml": tle_scen(),
                                          "c.tle": eo_text().replace("ISS", "IS\0")}, 2, "c.tle"),
    # ---- run / validate: station catalogs and station entries ---------------------------
    C("run-stations-missing", "run s.yaml", {"s.yaml": scen(stations_catalog="nope.csv")}, 2,
      "nope.csv"),
    C("run-stations-empty", "run s.yaml", {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": ""},
      2, "g.csv"),
    C("run-stations-binary", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": bytes(range(256)) * 4}, 2, "g.csv"),
    C("run-stations-nul", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": STATIONS_HEADER + "Shang\0hai,31,121\n"},
      2, "g.csv"),
    C("run-stations-missing-columns", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": "name,lat\nShanghai,31\n"}, 2, "lon_deg"),
    C("run-stations-bad-latitude", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": STATIONS_HEADER + "Shanghai,95,121\n"},
      2, "g.csv:2"),
    C("run-stations-nan-longitude", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": STATIONS_HEADER + "Shanghai,31,nan\n"},
      2, "g.csv:2"),
    C("run-stations-huge-field", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"),
       "g.csv": STATIONS_HEADER + '"' + "x" * 300_000 + '",31,121\n'}, 2, "g.csv"),
    C("run-stations-duplicate", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"),
       "g.csv": STATIONS_HEADER + "Shanghai,31,121\nshanghai,30,120\n"}, 2, "duplicate"),
    C("run-stations-unreadable", "run s.yaml",
      {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": UNREADABLE}, 2, "g.csv|mem"),
    C("run-stations-is-folder", "run s.yaml", {"s.yaml": scen(stations_catalog="g.csv"), "g.csv": DIR},
      2, "g.csv"),
    C("validate-station-unknown", "validate s.yaml",
      {"s.yaml": scen(ground_stations=["Shanghia"])}, 2, "Shanghia"),
    C("validate-station-inline-bad-lat", "validate s.yaml",
      {"s.yaml": scen(ground_stations=[{"name": "X", "lat_deg": 91, "lon_deg": 0}])}, 2, "lat"),
    C("validate-station-unknown-network", "validate s.yaml",
      {"s.yaml": scen(ground_stations=[{"network": "nosuch"}])}, 2, "nosuch"),
    C("validate-station-empty-list", "validate s.yaml", {"s.yaml": scen(ground_stations=[])}, 2,
      "ground_stations"),
    # ---- run: link-trace files ----------------------------------------------------------
    C("run-link-trace-missing", "run s.yaml", {"s.yaml": link_scen("nope.csv")}, 2, "nope.csv"),
    C("run-link-trace-empty", "run s.yaml", {"s.yaml": link_scen(), "l.csv": ""}, 2, "l.csv"),
    C("run-link-trace-header-only", "run s.yaml", {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n"},
      2, "l.csv"),
    C("run-link-trace-binary", "run s.yaml", {"s.yaml": link_scen(), "l.csv": bytes(range(256)) * 8},
      2, "l.csv"),
    C("run-link-trace-nan", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,1\n1,nan\n"}, 2, "l.csv:3 nan"),
    C("run-link-trace-inf-time", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,1\ninf,2\n"}, 2, "l.csv:3 inf"),
    C("run-link-trace-text-rate", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,1\n1,fast\n"}, 2, "l.csv:3 fast"),
    C("run-link-trace-decreasing", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,1\n5,1\n3,1\n"}, 2, "l.csv:4 increase"),
    C("run-link-trace-negative-rate", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,1\n1,-3\n"}, 2, "l.csv:3 >= 0"),
    C("run-link-trace-missing-column", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "time,rate\n0,1\n"}, 2, "rate_mbps"),
    C("run-link-trace-ragged", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,1\n1,2,3,4\n"}, 2, "l.csv"),
    C("run-link-trace-parquet-garbage", "run s.yaml",
      {"s.yaml": link_scen("l.parquet"), "l.parquet": b"PAR1garbagePAR1"}, 2, "l.parquet"),
    C("run-link-trace-parquet-truncated", "run s.yaml",
      {"s.yaml": link_scen("l.parquet"), "l.parquet": Parquet({"t_s": [0.0, 1.0], "rate_mbps": [1.0, 2.0]}),
       "l.parquet ": Truncate(-20)}, 2, "l.parquet"),
    C("run-link-trace-parquet-nan", "run s.yaml",
      {"s.yaml": link_scen("l.parquet"),
       "l.parquet": Parquet({"t_s": [0.0, 1.0], "rate_mbps": [1.0, float("nan")]})}, 2,
      "l.parquet row 1 nan"),
    C("run-link-trace-unknown-suffix", "run s.yaml", {"s.yaml": link_scen("l.xlsx"), "l.xlsx": "x"},
      2, "l.xlsx"),
    C("run-link-trace-is-folder", "run s.yaml", {"s.yaml": link_scen("l.csv"), "l.csv": DIR}, 2,
      "l.csv"),
    C("run-link-trace-unreadable", "run s.yaml", {"s.yaml": link_scen(), "l.csv": UNREADABLE}, 2,
      "l.csv|mem"),
    C("run-link-trace-not-utf8", "run s.yaml",
      {"s.yaml": link_scen(), "l.csv": b"t_s,rate_mbps\n0,\xff\xfe\n"}, 2, "l.csv"),
    C("run-link-trace-ok", "run s.yaml --out out", {"s.yaml": link_scen(), "l.csv": Copy(LINK_TRACE)},
      0, ""),
    # ---- run: recorded traces and sidecars ----------------------------------------------
    C("run-trace-missing", "run s.yaml", {"s.yaml": trace_scen("nope.parquet")}, 2, "nope"),
    C("run-trace-sidecar-missing", "run s.yaml", {"s.yaml": trace_scen(), **TRACE, "t.json": GONE},
      2, "t.json"),
    C("run-trace-sidecar-garbage", "run s.yaml", {"s.yaml": trace_scen(), **TRACE, "t.json": "{oops"},
      2, "t.json"),
    C("run-trace-sidecar-truncated", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json ": Truncate(100)}, 2, "t.json"),
    C("run-trace-sidecar-empty", "run s.yaml", {"s.yaml": trace_scen(), **TRACE, "t.json": ""},
      2, "t.json"),
    C("run-trace-sidecar-list", "run s.yaml", {"s.yaml": trace_scen(), **TRACE, "t.json": "[1, 2]"},
      2, "t.json"),
    C("run-trace-sidecar-not-utf8", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": b'{"name": "\xff"}'}, 2, "t.json"),
    C("run-trace-sidecar-unreadable", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": UNREADABLE}, 2, "t.json"),
    C("run-trace-sidecar-is-folder", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": DIR}, 2, "t.json"),
    C("run-trace-sidecar-deep", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": "[" * 100_000 + "]" * 100_000}, 2, "t.json", process=True),
    C("run-trace-sidecar-oversized", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": '{"pad": "' + "x" * (80 << 20) + '"}'}, 2,
      "t.json", process=True),
    C("run-trace-sidecar-bad-models", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": TRACE_META.replace('{"onboard": "a", "ground": "b"}',
                                                                     '"x"')}, 2, "models"),
    C("run-trace-sidecar-schema-version", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": TRACE_META.replace('"schema_version": 1',
                                                                     '"schema_version": 99')},
      2, "schema_version"),
    C("run-trace-sidecar-nan-count", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": TRACE_META[:-1] + ', "n_samples": NaN}'}, 2,
      "n_samples"),
    C("run-trace-parquet-garbage", "run s.yaml", {"s.yaml": trace_scen(), **TRACE, "t.parquet": "x"},
      2, "t.parquet"),
    C("run-trace-parquet-empty", "run s.yaml", {"s.yaml": trace_scen(), **TRACE, "t.parquet": b""},
      2, "t.parquet"),
    C("run-trace-parquet-truncated", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.parquet ": Truncate(-100)}, 2, "t.parquet"),
    C("run-trace-parquet-unreadable", "run s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.parquet": UNREADABLE}, 2, "t"),
    C("run-trace-missing-column", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet({k: v for k, v in trace_table().items() if k != "ground_score"})},
      2, "ground_score"),
    C("run-trace-score-out-of-range", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet(trace_table(onboard_score=[1.0, 2.5]))}, 2, "onboard_score row 1"),
    C("run-trace-nan-score", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet(trace_table(ground_score=[float("nan"), 1.0]))}, 2, "ground_score nan"),
    C("run-trace-duplicate-ids", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet(trace_table(sample_id=["a", "a"]))}, 2, "duplicate"),
    C("run-trace-zero-width", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet(trace_table(image_width_px=[0, 256]))}, 2, "image_width_px"),
    C("run-trace-float-tokens", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet(trace_table(prompt_tokens=[1.5, 2.0]))}, 2, "prompt_tokens"),
    C("run-trace-empty-table", "run s.yaml",
      {"s.yaml": trace_scen(), "t.json": TRACE_META,
       "t.parquet": Parquet({k: v[:0] for k, v in trace_table().items()})}, 2, "t"),
    C("run-trace-huge-image", "run s.yaml",
      {"s.yaml": scen(workload={"__replace__": 1, "trace": "t", "image_bytes": "raw"}),
       "t.json": TRACE_META, "t.parquet": Parquet(trace_table(image_width_px=[2**31, 256],
                                                              image_height_px=[2**31, 256]))},
      2, "image_bytes 2147483648"),
    C("run-trace-ok", "run s.yaml --out out", {"s.yaml": trace_scen(), **TRACE}, 0, ""),
    # ---- run: confidence checkpoints ----------------------------------------------------
    C("run-checkpoint-missing", "run s.yaml", {"s.yaml": ckpt_scen("nope.pt"), **TRACE}, 2, "nope.pt"),
    C("run-checkpoint-garbage", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                               "c.pt": "garbage"}, 2, "c.pt"),
    C("run-checkpoint-empty", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                             "c.pt": b""}, 2, "c.pt"),
    C("run-checkpoint-truncated", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                                 "c.pt ": Truncate(5000)}, 2, "c.pt"),
    C("run-checkpoint-meta-missing", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                                    "c.json": GONE}, 2, "c"),
    C("run-checkpoint-meta-garbage", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                                    "c.json": "{nope"}, 2, "c"),
    C("run-checkpoint-meta-list", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                                 "c.json": "[]"}, 2, "c"),
    C("run-checkpoint-is-folder", "run s.yaml", {"s.yaml": ckpt_scen("d.pt"), **TRACE, "d.pt": DIR},
      2, "d.pt"),
    C("run-checkpoint-unreadable", "run s.yaml", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT,
                                                  "c.pt": UNREADABLE}, 2, "c.pt"),
    C("run-checkpoint-ok", "run s.yaml --out out", {"s.yaml": ckpt_scen(), **TRACE, **CHECKPOINT},
      0, ""),
    # ---- run: damaged caches ------------------------------------------------------------
    C("run-cache-garbage", "run s.yaml --out out", {**SCENARIO, "@cache": Copy("cache"),
                                                    "@cache/**/*": "garbage"}, 0, ""),
    C("run-cache-truncated", "run s.yaml --out out", {**SCENARIO, "@cache": Copy("cache"),
                                                      "@cache/**/*": Truncate(10)}, 0, ""),
    C("run-cache-empty-files", "run s.yaml --out out", {**SCENARIO, "@cache": Copy("cache"),
                                                        "@cache/**/*": b""}, 0, ""),
    C("run-cache-is-file", "run s.yaml --out out", SCENARIO, 0, "", env={"SPACEVERSE_CACHE": "cf"}),
    C("run-cache-entries-are-folders", "run s.yaml --out out",
      {**SCENARIO, "@cache": Copy("cache"), "@cache/**/*": DIR}, 0, ""),
    C("run-cache-read-only", "run s.yaml --out out", SCENARIO, 0, "",
      env={"SPACEVERSE_CACHE": "{ro}/cache"}),
    # ---- validate -----------------------------------------------------------------------
    C("validate-ok", "validate s.yaml", SCENARIO, 0, ""),
    C("validate-bundled-ok", "validate {small}", {}, 0, ""),
    C("validate-bundled-bad-set", "validate {small} --set ground_stations=[]", {}, 2,
      "ground_stations"),
    C("validate-missing", "validate nope.yaml", {}, 2, "nope.yaml"),
    C("validate-binary", "validate s.yaml", {"s.yaml": b"\x00\x01\x02" * 1000}, 2, "s.yaml"),
    C("validate-bom-only", "validate s.yaml", {"s.yaml": "\ufeff"}, 2, "s.yaml"),
    C("validate-tab-indent", "validate s.yaml", {"s.yaml": "time:\n\tduration_h: 1\n"}, 2, "s.yaml"),
    C("validate-unknown-catalog", "validate s.yaml",
      {"s.yaml": scen(constellation={"catalog": "starlnk"})}, 2, "starlnk"),
    C("validate-select-too-many", "validate s.yaml",
      {"s.yaml": scen(constellation={"select": {"count": 100000}})}, 2, "count", process=True),
    C("validate-walker-bad", "validate s.yaml",
      {"s.yaml": scen(constellation={"__replace__": 1, "walker": {"altitude_km": -5}})}, 2, "walker"),
    C("validate-unknown-compression", "validate s.yaml",
      {"s.yaml": scen(policy={"compression": {"method": "zip"}})}, 2, "zip"),
    C("validate-set-bad-value", "validate s.yaml --set time.duration_h=-1", SCENARIO, 2, "duration_h"),
    C("validate-unknown-device", "validate s.yaml",
      {"s.yaml": scen(compute={"satellite": {"device": "toaster"}})}, 2, "toaster"),
    C("validate-trace-sidecar-garbage", "validate s.yaml",
      {"s.yaml": trace_scen(), **TRACE, "t.json": "nope"}, 2, "t.json"),
    C("validate-link-trace-nan", "validate s.yaml",
      {"s.yaml": link_scen(), "l.csv": "t_s,rate_mbps\n0,nan\n"}, 2, "nan"),
    # ---- compare ------------------------------------------------------------------------
    C("compare-no-finished-sample", "compare s.yaml --policies ground-only --out out",
      {"s.yaml": scen(time={"duration_h": 0.02, "drain_h": 0})}, 0, ""),
    C("compare-unknown-policy", "compare s.yaml --policies ground-only,nosuch --out out",
      SCENARIO, 2, "nosuch"),
    C("compare-empty-policies", "compare s.yaml --policies , --out out", SCENARIO, 2, "policies"),
    C("compare-duplicate-policy", "compare s.yaml --policies oracle,oracle --out out", SCENARIO, 2,
      "oracle"),
    C("compare-missing-scenario", "compare nope.yaml --policies oracle", {}, 2, "nope.yaml"),
    C("compare-bad-set", "compare s.yaml --policies oracle --set seed=x", SCENARIO, 2, "seed"),
    C("compare-csv-is-folder", "compare s.yaml --policies oracle --csv d", {**SCENARIO, "d": DIR}, 2,
      "d"),
    C("compare-csv-bad-suffix", "compare s.yaml --policies oracle --csv t.txt", SCENARIO, 2, "t.txt"),
    C("compare-csv-under-file", "compare s.yaml --policies oracle --csv f/t.csv", {**SCENARIO, "f": "x"},
      2, "f"),
    C("compare-csv-read-only", "compare s.yaml --policies oracle --out out --csv {ro}/t.csv",
      SCENARIO, 2, "t.csv"),
    C("compare-csv-dev-full", "compare s.yaml --policies oracle --out out --csv /dev/full",
      SCENARIO, 2, "/dev/full"),
    C("compare-out-is-file", "compare s.yaml --policies oracle --out f", {**SCENARIO, "f": "x"}, 2,
      "f"),
    C("compare-ok", "compare s.yaml --policies oracle,ground-only --out out --csv out/t.csv",
      SCENARIO, 0, ""),
    # ---- schema -------------------------------------------------------------------------
    C("schema-ok", "schema", {}, 0, ""),
    C("schema-out-missing-parent", "schema --out no/such/dir/x.json", {}, 0, ""),
    C("schema-out-is-folder", "schema --out d", {"d": DIR}, 2, "d"),
    C("schema-out-under-file", "schema --out f/x.json", {"f": "x"}, 2, "f"),
    C("schema-out-read-only", "schema --out {ro}/x.json", {}, 2, "x.json"),
    C("schema-out-dev-full", "schema --out /dev/full", {}, 2, "/dev/full"),
    C("schema-stdout-dev-full", "schema", {}, 2, "", process=True, stdout="/dev/full"),
    C("schema-stdout-closed", "schema", {}, 2, "", process=True, stdout="closed"),
    C("schema-unexpected-argument", "schema extra", {}, 2, "extra"),
    # ---- sweep --------------------------------------------------------------------------
    C("sweep-missing", "sweep nope.yaml", {}, 2, "nope.yaml"),
    C("sweep-empty", "sweep w.yaml", {"w.yaml": ""}, 2, "w.yaml"),
    C("sweep-binary", "sweep w.yaml", {"w.yaml": bytes(range(256)) * 4}, 2, "w.yaml"),
    C("sweep-not-mapping", "sweep w.yaml", {"w.yaml": "[1, 2]"}, 2, "w.yaml"),
    C("sweep-missing-base", "sweep w.yaml", {"w.yaml": sweep_text("nope.yaml")}, 2, "nope.yaml"),
    C("sweep-base-garbage", "sweep w.yaml", {"w.yaml": sweep_text(), "s.yaml": "{oops"}, 2, "s.yaml"),
    C("sweep-empty-axis", "sweep w.yaml", {**SCENARIO, "w.yaml": sweep_text(axes={"seed": []})}, 2,
      "seed"),
    C("sweep-bad-axis-value", "sweep w.yaml", {**SCENARIO, "w.yaml": sweep_text(axes={"seed": [-1]})},
      2, "seed"),
    C("sweep-unknown-mode", "sweep w.yaml", {**SCENARIO, "w.yaml": sweep_text(mode="diagonal")}, 2,
      "diagonal"),
    C("sweep-zip-unequal", "sweep w.yaml",
      {**SCENARIO, "w.yaml": sweep_text(mode="zip", axes={"seed": [1, 2], "link.rate_mbps": [1]})},
      2, "zip"),
    C("sweep-alias-bomb", "sweep w.yaml", {**SCENARIO, "w.yaml": _billion_laughs()}, 2, "w.yaml", process=True),
    C("sweep-huge-grid", "sweep w.yaml",
      {**SCENARIO, "w.yaml": sweep_text(axes={"seed": list(range(1000)),
                                              "link.rate_mbps": list(range(1, 1001))})}, 2, "points", process=True),
    C("sweep-out-is-file", "sweep w.yaml --out f", {**SCENARIO, "w.yaml": sweep_text(), "f": "x"}, 2,
      "f"),
    C("sweep-out-read-only", "sweep w.yaml --out {ro}/sw", {**SCENARIO, "w.yaml": sweep_text()}, 2,
      "sw"),
    C("sweep-workers-zero", "sweep w.yaml --workers 0", {**SCENARIO, "w.yaml": sweep_text()}, 2,
      "workers"),
    C("sweep-bad-scheduler", "sweep w.yaml --scheduler 'not an address' --out sw",
      {**SCENARIO, "w.yaml": sweep_text()}, 2, "scheduler"),
    C("sweep-resume-damaged-table", "sweep w.yaml --out sw",
      {**SCENARIO, "w.yaml": sweep_text(), "sw/sweep.parquet": "garbage"}, 0, ""),
    C("sweep-resume-damaged-point", "sweep w.yaml --out sw",
      {**SCENARIO, "w.yaml": sweep_text(), "sw": Copy("sweep"), "sw/points/*/summary.json": "{"},
      0, ""),
    # ---- plot ---------------------------------------------------------------------------
    C("plot-missing-folder", "plot nope", {}, 2, "nope"),
    C("plot-folder-is-file", "plot f", {"f": "x"}, 2, "f"),
    C("plot-empty-folder", "plot r", {"r": DIR}, 2, "r"),
    C("plot-summary-truncated", "plot r", {**RUN, "r/summary.json ": Truncate(40)}, 2, "summary.json"),
    C("plot-summary-empty", "plot r", {**RUN, "r/summary.json": ""}, 2, "summary.json"),
    C("plot-summary-garbage", "plot r", {**RUN, "r/summary.json": bytes(range(256))}, 2, "summary.json"),
    C("plot-summary-list", "plot r", {**RUN, "r/summary.json": "[1]"}, 2, "summary.json"),
    C("plot-summary-is-folder", "plot r", {**RUN, "r/summary.json": DIR}, 2,
      "summary.json"),
    C("plot-summary-unreadable", "plot r", {**RUN, "r/summary.json": UNREADABLE}, 2, "summary.json"),
    C("plot-samples-truncated", "plot r", {**RUN, "r/samples.parquet ": Truncate(-200)}, 2,
      "samples.parquet"),
    C("plot-samples-empty", "plot r", {**RUN, "r/samples.parquet": b""}, 2, "samples.parquet"),
    C("plot-samples-garbage", "plot r", {**RUN, "r/samples.parquet": "garbage"}, 2, "samples.parquet"),
    C("plot-samples-wrong-columns", "plot r", {**RUN, "r/samples.parquet": Parquet({"a": [1]})}, 2,
      "samples.parquet"),
    C("plot-samples-missing", "plot r", {**RUN, "r/samples.parquet": GONE}, 2, "r"),
    C("plot-contacts-garbage", "plot r", {**RUN, "r/contacts.parquet": "garbage"}, 2,
      "contacts.parquet"),
    C("plot-transmissions-garbage", "plot r --figure satellite-timeline",
      {**RUN, "r/transmissions.parquet": "garbage"}, 2, "transmissions.parquet"),
    C("plot-sweep-table-truncated", "plot w", {**SWEEP, "w/sweep.parquet ": Truncate(-100)}, 2,
      "sweep.parquet"),
    C("plot-sweep-table-empty", "plot w", {**SWEEP, "w/sweep.parquet": b""}, 2, "sweep.parquet"),
    C("plot-sweep-table-is-folder", "plot w", {**SWEEP, "w/sweep.parquet": DIR}, 2, "sweep.parquet"),
    C("plot-sweep-point-damaged", "plot w --out figs",
      {**SWEEP, "w/points/*/summary.json": "{", "w/points/*/samples.parquet": "x"}, 0, ""),
    C("plot-out-is-file", "plot r --out f", {**RUN, "f": "x"}, 2, "f"),
    C("plot-out-under-file", "plot r --out f/figs", {**RUN, "f": "x"}, 2, "f"),
    C("plot-out-read-only", "plot r --out {ro}/figs", RUN, 2, "figs"),
    C("plot-out-dev-full", "plot r --out /dev/full", RUN, 2, "/dev/full"),
    C("plot-figure-unknown", "plot r --figure fig99", RUN, 2, "fig99"),
    C("plot-figure-not-applicable", "plot r --figure fig9", RUN, 2, "fig9"),
    C("plot-figure-ok", "plot r --figure satellite-timeline --figure breakdown-e2e --out figs", RUN,
      0, ""),
    C("plot-figure-stem", "plot r --figure satellite_timeline", RUN, 2, "satellite_timeline"),
    C("plot-figure-none-applies", "plot r --figure fig9 --figure fig12", RUN, 2, "fig9 fig12"),
    C("plot-ok", "plot r --out figs", RUN, 0, ""),
    C("plot-sweep-ok", "plot w --out figs", SWEEP, 0, ""),
    # ---- report -------------------------------------------------------------------------
    C("report-missing-folder", "report nope", {}, 2, "nope"),
    C("report-empty-folder", "report r", {"r": DIR}, 2, "r"),
    C("report-summary-truncated", "report r", {**RUN, "r/summary.json ": Truncate(40)}, 2,
      "summary.json"),
    C("report-summary-garbage", "report r", {**RUN, "r/summary.json": "\x00\x01"}, 2, "summary.json"),
    C("report-summary-wrong-types", "report r --out o.html",
      {**RUN, "r/summary.json": '{"status": "x", "policy": 3, "trace": [1], "compression": "y"}'},
      2, "summary.json damaged"),
    C("plot-summary-wrong-types", "plot r", {**RUN, "r/summary.json": '{"horizon_s": "soon"}'}, 2,
      "summary.json horizon_s"),
    C("plot-summary-nan-horizon", "plot r", {**RUN, "r/summary.json": '{"horizon_s": NaN}'}, 2,
      "summary.json horizon_s"),
    C("report-samples-truncated", "report r", {**RUN, "r/samples.parquet ": Truncate(-200)}, 2,
      "samples.parquet"),
    C("report-samples-garbage", "report r", {**RUN, "r/samples.parquet": "garbage"}, 2,
      "samples.parquet"),
    C("report-scenario-binary", "report r --out o.html", {**RUN, "r/scenario.yaml": bytes(range(256))},
      0, ""),
    C("report-sweep-table-truncated", "report w", {**SWEEP, "w/sweep.parquet ": Truncate(-100)}, 2,
      "sweep.parquet"),
    C("report-sweep-point-damaged", "report w --out o.html",
      {**SWEEP, "w/points/*/summary.json": "{"}, 0, ""),
    C("report-out-is-folder", "report r --out d", {**RUN, "d": DIR}, 2, "d"),
    C("report-out-under-file", "report r --out f/o.html", {**RUN, "f": "x"}, 2, "f"),
    C("report-out-read-only", "report r --out {ro}/o.html", RUN, 2, "o.html"),
    C("report-out-dev-full", "report r --out /dev/full", RUN, 2, "/dev/full"),
    C("report-read-only-results", "report r --out o.html", {**RUN, "r ": Mode(0o555)}, 0, ""),
    C("report-ok", "report r --out o.html", RUN, 0, ""),
    # ---- contacts -----------------------------------------------------------------------
    C("contacts-tle-missing", "contacts --tle nope.tle --hours 1 --workers 1", {}, 2, "nope.tle"),
    C("contacts-tle-garbage", "contacts --tle c.tle --hours 1 --workers 1", {"c.tle": "garbage\n" * 3}, 2, "c.tle"),
    C("contacts-tle-binary", "contacts --tle c.tle --hours 1 --workers 1", {"c.tle": b"\xff\xfe\x00" * 100}, 2,
      "c.tle"),
    C("contacts-tle-unreadable", "contacts --tle c.tle --hours 1 --workers 1", {"c.tle": UNREADABLE}, 2, "c.tle"),
    C("contacts-unknown-catalog", "contacts --tle starlnk --hours 1 --workers 1", {}, 2, "starlnk"),
    C("contacts-walker-bad", "contacts --tle walker:abc --hours 1 --workers 1", {}, 2, "walker"),
    C("contacts-name-no-match", "contacts --tle c.tle --name zzz --hours 1 --workers 1", {"c.tle": eo_text()}, 2,
      "zzz"),
    C("contacts-station-bad-lat", "contacts --tle c.tle --station X:95:0 --hours 1 --workers 1",
      {"c.tle": eo_text()}, 2, "X:95:0"),
    C("contacts-station-nan", "contacts --tle c.tle --station X:nan:0 --hours 1 --workers 1", {"c.tle": eo_text()},
      2, "nan"),
    C("contacts-station-too-many-fields", "contacts --tle c.tle --station X:1:2:3:4:5 --hours 1 --workers 1",
      {"c.tle": eo_text()}, 2, "X:1:2:3:4:5"),
    C("contacts-station-empty", "contacts --tle c.tle --station '' --hours 1 --workers 1", {"c.tle": eo_text()}, 2,
      "station"),
    C("contacts-station-unknown", "contacts --tle c.tle --station Shanghia --hours 1 --workers 1",
      {"c.tle": eo_text()}, 2, "Shanghia"),
    C("contacts-station-huge", "contacts --tle c.tle --station " + "x" * 100_000 + " --hours 1 --workers 1",
      {"c.tle": eo_text()}, 2, "station"),
    C("contacts-stations-catalog-garbage", "contacts --tle c.tle --stations-catalog g.csv --station A "
      "--hours 1 --workers 1", {"c.tle": eo_text(), "g.csv": b"\x00\x01\x02"}, 2, "g.csv"),
    C("contacts-stations-catalog-folder", "contacts --tle c.tle --stations-catalog d --station A "
      "--hours 1 --workers 1", {"c.tle": eo_text(), "d": DIR}, 2, "d"),
    C("contacts-bad-start", "contacts --tle c.tle --start yesterday --hours 1 --workers 1", {"c.tle": eo_text()},
      2, "yesterday"),
    C("contacts-hours-zero", "contacts --tle c.tle --hours 0", {"c.tle": eo_text()}, 2, "hours"),
    C("contacts-hours-nan", "contacts --tle c.tle --hours nan", {"c.tle": eo_text()}, 2, "hours"),
    C("contacts-step-too-small", "contacts --tle c.tle --step 0.001 --hours 1 --workers 1", {"c.tle": eo_text()},
      2, "step"),
    C("contacts-min-elevation-out-of-range", "contacts --tle c.tle --min-elevation 95 --hours 1 --workers 1",
      {"c.tle": eo_text()}, 2, "min-elevation"),
    C("contacts-workers-zero", "contacts --tle c.tle --workers 0 --hours 1", {"c.tle": eo_text()}, 2,
      "workers"),
    C("contacts-out-bad-suffix", "contacts --tle c.tle --hours 1 --out w.txt", {"c.tle": eo_text()}, 2,
      "w.txt"),
    C("contacts-out-is-folder", "contacts --tle c.tle --hours 1 --out d.csv", {"c.tle": eo_text(),
                                                                             "d.csv": DIR}, 2, "d.csv"),
    C("contacts-out-under-file", "contacts --tle c.tle --hours 1 --out f/w.csv",
      {"c.tle": eo_text(), "f": "x"}, 2, "f"),
    C("contacts-out-read-only", "contacts --tle c.tle --hours 1 --out {ro}/w.csv", {"c.tle": eo_text()},
      2, "w.csv"),
    C("contacts-plot-bad-suffix", "contacts --tle c.tle --hours 1 --plot p.gif", {"c.tle": eo_text()},
      2, "p.gif"),
    C("contacts-plot-read-only", "contacts --tle c.tle --hours 1 --plot {ro}/p.png", {"c.tle": eo_text()},
      2, "p.png"),
    C("contacts-altitudes-garbage", "contacts --altitudes 500,abc --hours 1 --workers 1", {}, 2, "altitudes"),
    C("contacts-altitudes-nan", "contacts --altitudes nan --hours 1 --workers 1", {}, 2, "altitudes"),
    C("contacts-altitudes-negative", "contacts --altitudes -100 --planes 2 --per-plane 2 --hours 1 --workers 1",
      {}, 2, "altitude"),
    C("contacts-altitudes-huge", "contacts --altitudes 1e12 --planes 2 --per-plane 2 --hours 1 --workers 1", {},
      2, "altitude", process=True),
    C("contacts-inclination-out-of-range", "contacts --altitudes 500 --inclination 400 --hours 1 --workers 1", {},
      2, "inclination"),
    C("contacts-planes-huge", "contacts --altitudes 500 --planes 100000 --per-plane 100000 --hours 1 --workers 1",
      {}, 2, "planes", process=True),
    C("contacts-altitudes-with-tle", "contacts --altitudes 500 --tle eo --hours 1 --workers 1", {}, 2, "--tle"),
    C("contacts-cache-damaged", "contacts --tle c.tle --hours 1 --workers 1",
      {"c.tle": eo_text(), "@cache": Copy("cache"), "@cache/**/*": "garbage"}, 0, ""),
    C("contacts-ok", "contacts --tle c.tle --hours 1 --workers 1 --out w.csv", {"c.tle": eo_text()},
      0, ""),
    # ---- reproduce ----------------------------------------------------------------------
    C("reproduce-out-is-file", "reproduce --out f", {"f": "x"}, 2, "f"),
    C("reproduce-out-read-only", "reproduce --out {ro}/rep", {}, 2, "rep"),
    C("reproduce-figures-is-file", "reproduce --out rep --figures f", {"f": "x"}, 2, "f"),
    C("reproduce-workers-zero", "reproduce --workers 0", {}, 2, "workers"),
    C("reproduce-workers-text", "reproduce --workers many", {}, 2, "workers"),
    # ---- train confidence ---------------------------------------------------------------
    C("train-trace-missing", "train confidence --trace nope.parquet --out o.pt", {}, 2, "nope"),
    C("train-trace-unknown-name", "train confidence --trace ucm-lava --out o.pt", {}, 2, "ucm-lava"),
    C("train-trace-sidecar-garbage", "train confidence --trace t.parquet --out o.pt",
      {**TRACE, "t.json": "{"}, 2, "t.json"),
    C("train-trace-sidecar-unreadable", "train confidence --trace t.parquet --out o.pt",
      {**TRACE, "t.json": UNREADABLE}, 2, "t.json"),
    C("train-trace-parquet-truncated", "train confidence --trace t.parquet --out o.pt",
      {**TRACE, "t.parquet ": Truncate(-100)}, 2, "t.parquet"),
    C("train-fraction-zero", "train confidence --trace t.parquet --train-fraction 0", TRACE, 2,
      "train-fraction"),
    C("train-fraction-nan", "train confidence --trace t.parquet --train-fraction nan", TRACE, 2,
      "train-fraction"),
    C("train-rows-one", "train confidence --trace t.parquet --train-rows 1", TRACE, 2, "train-rows"),
    C("train-rows-too-many", "train confidence --trace t.parquet --train-rows 99999999 --out o.pt",
      TRACE, 2, "99999999", process=True),
    C("train-rows-and-fraction", "train confidence --trace t.parquet --train-rows 10 "
      "--train-fraction 0.1", TRACE, 2, "train-rows"),
    C("train-target-unknown", "train confidence --trace t.parquet --target bleu", TRACE, 2, "bleu"),
    C("train-variant-unknown", "train confidence --trace t.parquet --variant g2", TRACE, 2, "g2"),
    C("train-stages-zero", "train confidence --trace t.parquet --stages 0", TRACE, 2, "stages"),
    C("train-seed-negative", "train confidence --trace t.parquet --seed -1", TRACE, 2, "seed"),
    C("train-out-under-file", "train confidence --trace t.parquet --out f/o.pt", {**TRACE, "f": "x"},
      2, "f"),
    C("train-out-read-only", "train confidence --trace t.parquet --out {ro}/o.pt", TRACE, 2, "o.pt"),
    C("train-out-is-file-in-folder-position", "train confidence --trace t.parquet --out f/",
      {**TRACE, "f": "x"}, 2, "f"),
    C("train-ok", "train confidence --trace t.parquet --train-rows 40 --out o.pt", TRACE, 0, ""),
    # ---- traces list / convert / converters / synth / record / datasets -----------------
    C("traces-list-ok", "traces list", {}, 0, ""),
    C("traces-list-missing-folder", "traces list --folder nope", {}, 2, "nope"),
    C("traces-list-folder-is-file", "traces list --folder f", {"f": "x"}, 2, "f"),
    C("traces-list-damaged-sidecars", "traces list --folder tr",
      {"tr/a.parquet": "x", "tr/a.json": "{", "tr/b.parquet": "x", "tr/b.json": b"\xff",
       "tr/c.parquet": "x", "tr/c.json": "[]", "tr/d.parquet": "x", "tr/d.json": UNREADABLE,
       "tr/e.parquet": "x", "tr/e.json": DIR,
       "tr/f.parquet": "x", "tr/f.json": '{"name": [1], "models": 3, "n_samples": "many"}'}, 0, ""),
    C("traces-convert-unknown-source", "traces convert nosuch --input in --out out", {"in": DIR}, 2,
      "nosuch"),
    C("traces-convert-missing-input", "traces convert ucm-llava15-7b-vs-geochat-7b --input nope "
      "--out out", {}, 2, "nope"),
    C("traces-convert-empty-input", "traces convert ucm-llava15-7b-vs-geochat-7b --input in --out out",
      {"in": DIR}, 2, "in"),
    C("traces-convert-garbage-jsonl", "traces convert ucm-llava15-7b-vs-geochat-7b --input in --out out",
      {"in/UCmerced_llava-v1.5-7b.jsonl": "{bad\n", "in/UCmerced_llava-v1.6-vicuna-7b.jsonl": "{bad\n",
       "in/UCmerced_geochat_7b.jsonl": "{bad\n"}, 2, "jsonl"),
    C("traces-convert-binary-jsonl", "traces convert ucm-llava15-7b-vs-geochat-7b --input in --out out",
      {"in/UCmerced_llava-v1.5-7b.jsonl": b"\xff\x00" * 50,
       "in/UCmerced_llava-v1.6-vicuna-7b.jsonl": b"\xff\x00" * 50,
       "in/UCmerced_geochat_7b.jsonl": b"\xff\x00" * 50}, 2, "jsonl"),
    C("traces-convert-records-lack-fields", "traces convert ucm-llava15-7b-vs-geochat-7b --input in "
      "--out out", {"in/UCmerced_llava-v1.5-7b.jsonl": '{"a": 1}\n',
                    "in/UCmerced_llava-v1.6-vicuna-7b.jsonl": '{"a": 1}\n',
                    "in/UCmerced_geochat_7b.jsonl": '{"a": 1}\n'}, 2, "jsonl"),
    C("traces-convert-input-files-are-folders", "traces convert vqav2-qwen2vl-2b-vs-7b --input in "
      "--out out", {"in/VQAv2_Qwen2-VL-2B-Instruct.json": DIR,
                    "in/VQAv2_Qwen2-VL-7B-Instruct.json": DIR}, 2, "VQAv2"),
    C("traces-convert-json-wrong-shape", "traces convert vqav2-qwen2vl-2b-vs-7b --input in --out out",
      {"in/VQAv2_Qwen2-VL-2B-Instruct.json": '{"a": 1}',
       "in/VQAv2_Qwen2-VL-7B-Instruct.json": '"text"'}, 2, "VQAv2"),
    C("traces-convert-unreadable", "traces convert vqav2-qwen2vl-2b-vs-7b --input in --out out",
      {"in/VQAv2_Qwen2-VL-2B-Instruct.json": UNREADABLE,
       "in/VQAv2_Qwen2-VL-7B-Instruct.json": UNREADABLE}, 2, "VQAv2"),
    C("traces-convert-out-is-file", "traces convert ucm-llava15-7b-vs-geochat-7b --input in --out f",
      {"in": DIR, "f": "x"}, 2, "f"),
    C("traces-converters-ok", "traces converters", {}, 0, ""),
    C("traces-synth-out-is-file", "traces synth --samples 5 --out f", {"f": "x"}, 2, "f"),
    C("traces-synth-out-under-file", "traces synth --samples 5 --out f/tr", {"f": "x"}, 2, "f"),
    C("traces-synth-out-read-only", "traces synth --samples 5 --out {ro}/tr", {}, 2, "tr"),
    C("traces-synth-samples-zero", "traces synth --samples 0 --out tr", {}, 2, "samples"),
    C("traces-synth-samples-huge", "traces synth --samples 1000000000000 --out tr", {}, 2, "samples", process=True),
    C("traces-synth-seed-huge", "traces synth --samples 5 --seed 99999999999999999999 --out tr", {}, 2,
      "seed"),
    C("traces-synth-unknown-task", "traces synth --task poetry --out tr", {}, 2, "poetry"),
    C("traces-synth-ok", "traces synth --samples 5 --out tr", {}, 0, ""),
    C("traces-record-missing-model", "traces record --model-dir nope --dataset "
      "choice-scene-classification --out rec.parquet", {}, 2, "nope"),
    C("traces-record-unknown-dataset", "traces record --model-dir m --dataset nosuch --out rec.parquet",
      {"m": DIR}, 2, "nosuch"),
    C("traces-record-out-is-folder", "traces record --model-dir m --dataset "
      "choice-scene-classification --out d", {"m": DIR, "d": DIR}, 2, "d"),
    C("traces-record-out-under-file", "traces record --model-dir m --dataset "
      "choice-scene-classification --out f/rec.parquet", {"m": DIR, "f": "x"}, 2, "f"),
    C("traces-record-synthetic-name", "traces record --model-dir m --dataset "
      "choice-scene-classification --out synthetic-x.parquet", {"m": DIR}, 2, "synthetic"),
    C("traces-record-empty-model-dir", "traces record --model-dir m --dataset "
      "choice-scene-classification --out rec.parquet --limit 1", {"m": DIR}, 2, "m"),
    C("traces-record-garbage-model-config", "traces record --model-dir m --dataset "
      "choice-scene-classification --out rec.parquet --limit 1", {"m/config.json": "{oops"}, 2, "m"),
    C("traces-record-limit-zero", "traces record --model-dir m --dataset choice-scene-classification "
      "--out rec.parquet --limit 0", {"m": DIR}, 2, "limit"),
    C("traces-datasets-ok", "traces datasets", {}, 0, ""),
    # ---- catalogs, the group, and global options ----------------------------------------
    C("catalogs-ok", "catalogs", {}, 0, ""),
    C("catalogs-unexpected-argument", "catalogs extra", {}, 2, "extra"),
    C("catalogs-stdout-closed", "catalogs", {}, 2, "", process=True, stdout="closed"),
    C("unknown-command", "bogus", {}, 2, "bogus"),
    C("unknown-option", "run --bogus s.yaml", SCENARIO, 2, "--bogus"),
    C("missing-argument", "run", {}, 2, "scenario_file"),
    C("option-without-value", "run s.yaml --out", SCENARIO, 2, "--out"),
    C("nul-in-argument", "validate s.yaml --set name=a\0b", SCENARIO, 2, ""),
    C("verbose-run-ok", "-vv validate s.yaml", SCENARIO, 0, ""),
]


def _fill_owned() -> None:
    """Mark the cases that fail because of code owned by someone else right now."""
    # none left: every case passes
    for case_id, (owner, what) in {}.items():
        OWNED[case_id] = f"owned by {owner}: {what}"


_fill_owned()


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=OWNED[case.id])] if case.id in OWNED else []
    return pytest.param(case, id=case.id, marks=marks)


# --------------------------------------------------------------------------- fixtures


def _library_run(scenario_text: str, folder: Path) -> Path:
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    path = folder / "tiny.yaml"
    path.write_text(scenario_text)
    return Path(run_scenario(load_scenario(str(path), []), out_dir=str(folder / "runs")).folder)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> dict[str, Path]:
    """A finished run folder, a finished sweep folder and a populated cache (made once)."""
    root = tmp_path_factory.mktemp("hostile-fixtures")
    cache = root / "cache"
    saved = os.environ.get("SPACEVERSE_CACHE")
    os.environ["SPACEVERSE_CACHE"] = str(cache)
    try:
        run = _library_run(scen(time={"duration_h": 3, "drain_h": 3},
                                workload={"synthetic": {"samples": 20}}), root)
        from simulator.sweep import sweep_command

        (root / "s.yaml").write_text(scen(workload={"synthetic": {"samples": 10}}))
        (root / "w.yaml").write_text(sweep_text())
        _, sweep = sweep_command(str(root / "w.yaml"), workers=1, out_dir=str(root / "sweep"))
    finally:
        if saved is None:
            os.environ.pop("SPACEVERSE_CACHE", None)
        else:
            os.environ["SPACEVERSE_CACHE"] = saved
    return {"run": run, "sweep": Path(sweep), "cache": cache}


def _read_only_folder(tmp_path: Path) -> str:
    """A folder nobody can create anything in (root ignores modes: then ``/sys``)."""
    if ROOT:
        return "/sys"
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return str(folder)


def _targets(work: Path, cache: Path, key: str) -> list[Path]:
    """The paths a key names: one path, or every file a glob pattern matches."""
    key = key.rstrip()  # trailing spaces only make a second entry for the same path
    if key.startswith("@cache"):
        base, rest = cache, key[len("@cache"):].lstrip("/")
    else:
        base, rest = work, key
    if "*" in rest:
        found = sorted(p for p in base.glob(rest) if p.is_file())
        assert found, f"no file matches {key!r}"
        return found
    return [base / rest if rest else base]


def _copy(source, target: Path, fixtures: dict) -> None:
    src = fixtures[source] if isinstance(source, str) and source in fixtures else Path(source)
    if src.is_dir():
        shutil.copytree(src, target, dirs_exist_ok=True)
        return
    if not src.suffix:  # a trace or a checkpoint: both of its files
        for file in src.parent.glob(src.name + ".*"):
            shutil.copyfile(file, target.with_name(target.name + file.suffix))
        return
    shutil.copyfile(src, target)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def build(files: dict, work: Path, cache: Path, fixtures: dict) -> None:
    """Make the files of a case (see the module docstring)."""
    for key, content in files.items():
        for target in _targets(work, cache, key):
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Copy):
                _copy(content.source, target, fixtures)
            elif content is DIR:
                if not target.is_dir():
                    _remove(target)
                    target.mkdir()
            elif content is GONE:
                _remove(target)
            elif content is UNREADABLE:
                _remove(target)
                if ROOT:
                    target.symlink_to("/proc/self/mem")
                else:
                    target.write_text("secret")
                    target.chmod(0)
            elif isinstance(content, Truncate):
                size = target.stat().st_size
                os.truncate(target, content.size if content.size >= 0 else max(size + content.size, 0))
            elif isinstance(content, Link):
                target.symlink_to(content.target)
            elif isinstance(content, Parquet):
                pd.DataFrame(content.columns).to_parquet(target, index=False)
            elif isinstance(content, Mode):
                target.chmod(content.mode)
            elif isinstance(content, bytes):
                _remove(target)
                target.write_bytes(content)
            else:
                _remove(target)
                target.write_text(content, encoding="utf-8")


def tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (relative), hidden ones included; empty if absent."""
    if not folder.is_dir():
        return set()
    out = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), folder))
    return out


def _restore_modes(folder: Path) -> None:
    """Let pytest remove the case's folder afterwards (modes changed by the case)."""
    for dirpath, dirnames, _ in os.walk(folder):
        for name in dirnames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(0o755)


def _fill(text: str, places: dict) -> str:
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


def _run_in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        with pytest.raises(SystemExit) as exc:
            main(argv)
    finally:
        out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else code), out, err


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run_process(case: Case, argv: list[str], work: Path, env: dict) -> tuple[int, str, str]:
    stdout = subprocess.PIPE
    if case.stdout == "/dev/full":
        stdout = open("/dev/full", "wb")
    elif case.stdout == "closed":
        read_end, write_end = os.pipe()
        os.close(read_end)  # whatever the command prints meets a pipe nobody reads
        stdout = write_end
    try:
        proc = subprocess.run([sys.executable, "-m", "simulator", *argv], cwd=work, env=env,
                              stdout=stdout, stderr=subprocess.PIPE, timeout=TIME_LIMIT_S + 5,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as exc:  # killed: the time check reports it
        return -9, "", (exc.stderr or b"").decode(errors="replace")
    finally:
        if case.stdout == "/dev/full":
            stdout.close()
        elif case.stdout == "closed":
            os.close(stdout)
    out = proc.stdout.decode(errors="replace") if proc.stdout else ""
    return proc.returncode, out, proc.stderr.decode(errors="replace")


# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_input(case: Case, tmp_path, capsys, monkeypatch, fixtures, spaceverse_cache):
    work = tmp_path / "work"
    work.mkdir()
    cache = spaceverse_cache
    ro = _read_only_folder(tmp_path)
    build(case.files, work, cache, fixtures)
    places = {"ro": ro, "repo": str(REPO), "small": str(SMALL), "cache": str(cache)}
    argv = [_fill(a, places) for a in shlex.split(case.argv)]
    env = {k: _fill(v, places) for k, v in case.env.items()}
    home = tmp_path / "home"  # anything falling back to ~/.cache lands here, and is seen
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    env.setdefault("MPLCONFIGDIR", MPL_CONFIG)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if "SPACEVERSE_CACHE" in env and not Path(env["SPACEVERSE_CACHE"]).is_absolute():
        (work / env["SPACEVERSE_CACHE"]).write_text("not a folder")
    monkeypatch.chdir(work)
    before = tree(work)
    repo_results = tree(REPO / "results")
    full_is_device = stat.S_ISCHR(os.stat("/dev/full").st_mode)

    start = time.monotonic()
    try:
        if case.process:
            code, out, err = _run_process(case, argv, work, {**os.environ, **env})
        else:
            code, out, err = _run_in_process(argv, capsys)
    finally:
        elapsed = time.monotonic() - start
        after = tree(work)
        _restore_modes(tmp_path)

    shown = f"$ spaceverse {case.argv[:200]}\n--- stdout\n{out[-3000:]}\n--- stderr\n{err[-3000:]}"
    for word in FORBIDDEN:
        assert word not in out + err, shown
    assert code == case.code, shown
    assert elapsed <= TIME_LIMIT_S, f"took {elapsed:.1f} s\n{shown}"
    assert not {p for p in after - before if p.split(os.sep)[0] == "results"}, shown
    assert tree(REPO / "results") == repo_results, "the repository's results/ changed"
    assert not (home / ".cache" / "spaceverse").exists(), "a cache was written under HOME"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) == full_is_device, "/dev/full was replaced"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    if case.code == 0:
        assert not errors, shown
        return
    new = sorted(after - before)
    assert not new, f"a failing command left {new[:5]}\n{shown}"
    assert len(errors) == 1, shown
    others = [line for line in lines if not line.startswith(("error: ", "warning: "))]
    assert not others, shown
    for word in case.words.split():  # every word, each one of its |-separated forms
        assert any(w.lower() in errors[0].lower() for w in word.split("|")), \
            f"{word!r} not in the error\n{shown}"


def test_every_command_has_cases():
    """Each command of the CLI appears in at least one case."""
    commands = {"run", "validate", "compare", "schema", "sweep", "plot", "report", "contacts",
                "reproduce", "train", "traces", "catalogs"}
    used = {c.argv.split()[0] if not c.argv.startswith("-") else c.argv.split()[1] for c in CASES}
    assert commands <= used, commands - used
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"
