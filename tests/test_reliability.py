"""Reliability under hostile conditions: kills, signals, broken caches, umasks, rounding.

* A re-run never loses a finished result: a process killed between any two
  filesystem steps of :func:`simulator.results.write_run` leaves the old or the new
  complete result at ``results/<run-id>``, and the next command removes what it left.
* SIGTERM is an interrupt like Ctrl-C ("interrupted", exit 130, no half folder);
  nothing else prints "interrupted".
* Caches are best effort: a cache folder that cannot be made, read or written, or a
  damaged entry, is one warning, never the end of the run.
* Written files follow the umask; FIFO waits are exactly zero when nothing waits.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import fileio
from simulator.cli import main
from simulator.engine.simulation import Simulation
from simulator.errors import InputError
from simulator.results import write_run

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios" / "small.yaml"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def env_for_subprocess(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def like_a_terminal() -> None:
    """``preexec_fn`` of a child this file interrupts with SIGINT: Ctrl-C handled as at a
    terminal, even when the suite itself runs as a background job (a shell starts those
    with SIGINT ignored, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def payload(tag: str, n: int) -> dict:
    samples = pd.DataFrame({"sample_id": [f"{tag}-{i}" for i in range(n)],
                            "x": np.arange(n, dtype=float)})
    return {"samples": samples, "summary": {"tag": tag, "samples": n},
            "scenario_yaml": f"tag: {tag}\n", "tables": {"transmissions": samples.head(2)}}


def result_tag(folder: Path) -> str | None:
    """``tag`` of the complete result at ``folder``; None if absent, "broken" if not whole."""
    if not folder.exists():
        return None
    try:
        summary = json.loads((folder / "summary.json").read_text())
        samples = pd.read_parquet(folder / "samples.parquet")
        tag = summary["tag"]
        assert summary["samples"] == len(samples)
        assert samples["sample_id"].str.startswith(f"{tag}-").all()
        assert (folder / "scenario.yaml").read_text() == f"tag: {tag}\n"
        return tag
    except Exception:  # noqa: BLE001
        return "broken"


# ---------------------------------------------------------------------------
# 1 + 8: write_run under faults and kills
# ---------------------------------------------------------------------------

#: Every filesystem step write_run may take (os-level calls made inside shutil.rmtree
#: and Path.mkdir count too, so a kill can also land in the middle of those).
STEP_NAMES = [("os", "mkdir"), ("os", "rename"), ("os", "replace"), ("os", "unlink"),
              ("os", "rmdir"), ("shutil", "rmtree"), ("fileio", "rename_exchange"),
              ("pd.DataFrame", "to_parquet"), ("Path", "write_text")]

KILL_DRIVER = r'''
import json, os, shutil, sys, traceback
from pathlib import Path
import numpy as np
import pandas as pd
from simulator import fileio
from simulator.results import write_run

root, mode = Path(sys.argv[1]), sys.argv[2]
owners = {"os": os, "shutil": shutil, "fileio": fileio, "pd.DataFrame": pd.DataFrame,
          "Path": Path}
steps = [tuple(s) for s in json.loads(sys.argv[3])]
if mode == "fallback":  # a system or file system without an atomic exchange
    fileio.rename_exchange = lambda a, b: False

def payload(tag, n):
    samples = pd.DataFrame({"sample_id": [f"{tag}-{i}" for i in range(n)],
                            "x": np.arange(n, dtype=float)})
    return {"samples": samples, "summary": {"tag": tag, "samples": n},
            "scenario_yaml": f"tag: {tag}\n", "tables": {"transmissions": samples.head(2)}}

def result_tag(folder):
    if not folder.exists():
        return None
    try:
        summary = json.loads((folder / "summary.json").read_text())
        samples = pd.read_parquet(folder / "samples.parquet")
        tag = summary["tag"]
        assert summary["samples"] == len(samples)
        assert samples["sample_id"].str.startswith(f"{tag}-").all()
        return tag
    except Exception:
        return "broken"

def hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))

def kill_at(k):
    count = [0]
    for owner_name, name in steps:
        owner = owners[owner_name]
        real = getattr(owner, name)
        def step(*args, _real=real, **kwargs):
            count[0] += 1
            if count[0] == k:
                os._exit(9)  # killed between step k-1 and step k
            return _real(*args, **kwargs)
        setattr(owner, name, step)

target = root / "run-1"
report = []
for k in range(1, 400):
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    write_run(target, **payload("old", 3))
    pid = os.fork()
    if pid == 0:
        try:
            kill_at(k)
            write_run(target, **payload("new", 5))
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(3)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    at_kill, left = result_tag(target), hidden(root)
    aside = [n for n in left if ".old-" in n]
    aside_tag = result_tag(root / aside[0]) if aside else None
    write_run(root / "run-2", **payload("other", 2))  # the next command
    report.append({"k": k, "code": code, "at_kill": at_kill, "left": left,
                   "aside_tag": aside_tag, "after": result_tag(target),
                   "left_after": hidden(root)})
    if code != 9:
        break
print(json.dumps(report))
'''


@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_a_rerun_killed_between_any_two_steps_never_loses_the_result(tmp_path, mode):
    if mode == "exchange" and not _exchange_supported(tmp_path):
        pytest.skip("no atomic rename exchange on this system")
    driver = tmp_path / "driver.py"
    driver.write_text(KILL_DRIVER)
    proc = subprocess.run([sys.executable, str(driver), str(tmp_path / "results"), mode,
                           json.dumps(STEP_NAMES)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env_for_subprocess())
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report[-1]["code"] == 0, report[-1]   # the last one ran to completion
    kills = report[:-1]
    assert len(kills) >= 10, "too few filesystem steps were interrupted"
    for r in report:
        where = f"killed before step {r['k']}: {r}"
        if mode == "exchange":
            # at every instant one complete result is at the final name
            assert r["at_kill"] in ("old", "new"), where
        else:
            # the old one stepped aside only for the instant between two renames
            assert r["at_kill"] in ("old", "new") or (r["at_kill"] is None
                                                      and r["aside_tag"] == "old"), where
        # the next command removes the leftovers (and puts an old result back)
        assert r["after"] in ("old", "new"), where
        if r["at_kill"] == "new":
            assert r["after"] == "new", where
        assert r["left_after"] == [], where
    assert {r["at_kill"] for r in kills} >= {"old", "new"}
    assert any(r["left"] for r in kills), "no kill left anything behind to clean"
    if mode == "fallback":
        assert any(r["at_kill"] is None for r in kills)


def _exchange_supported(folder: Path) -> bool:
    a, b = folder / "xa", folder / "xb"
    a.mkdir()
    b.mkdir()
    try:
        return fileio.rename_exchange(a, b)
    finally:
        shutil.rmtree(a)
        shutil.rmtree(b)


class _Fault(Exception):
    pass


@contextmanager
def fault_at(monkeypatch, k: int, exc: BaseException):
    """Make the ``k``-th filesystem step raise ``exc`` (once); yields the step count."""
    owners = {"os": os, "shutil": shutil, "fileio": fileio, "pd.DataFrame": pd.DataFrame,
              "Path": Path}
    count = [0]
    with monkeypatch.context() as patch:
        for owner_name, name in STEP_NAMES:
            owner = owners[owner_name]
            real = getattr(owner, name)

            def step(*args, _real=real, **kwargs):
                count[0] += 1
                if count[0] == k:
                    raise exc
                return _real(*args, **kwargs)

            patch.setattr(owner, name, step)
        yield count


@pytest.mark.parametrize("exc", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt()],
                         ids=["oserror", "interrupt"])
def test_a_rerun_failing_at_any_step_keeps_a_complete_result(tmp_path, monkeypatch, exc):
    root = tmp_path / "results"
    target = root / "run-1"
    for k in range(1, 400):
        shutil.rmtree(root, ignore_errors=True)
        write_run(target, **payload("old", 3))
        with fault_at(monkeypatch, k, exc) as count:
            try:
                write_run(target, **payload("new", 5))
            except (InputError, KeyboardInterrupt, OSError):
                pass
        assert result_tag(target) in ("old", "new"), k
        # a failed write tidies up after itself, except when the fault hits that cleanup
        write_run(target, **payload("next", 4))  # the next command of this process
        assert result_tag(target) == "next" and hidden(root) == [], k
        if count[0] < k:
            break
    else:
        pytest.fail("the write never finished without a fault")
    assert k > 10


def test_rerun_replaces_in_one_exchange(tmp_path, monkeypatch):
    if not _exchange_supported(tmp_path):
        pytest.skip("no atomic rename exchange on this system")
    calls = []
    real = fileio.rename_exchange
    monkeypatch.setattr(fileio, "rename_exchange", lambda a, b: calls.append(1) or real(a, b))
    target = tmp_path / "run"
    write_run(target, **payload("old", 3))
    assert calls == []  # the first write is one plain rename
    inode = (target / "summary.json").stat().st_ino
    write_run(target, **payload("new", 4))
    assert calls == [1]
    assert result_tag(target) == "new" and (target / "summary.json").stat().st_ino != inode
    assert hidden(tmp_path) == []


def test_leftovers_of_dead_processes_are_cleaned_and_others_kept(tmp_path, caplog):
    dead, alive = dead_pid(), os.getppid()
    write_run(tmp_path / "kept", **payload("kept", 2))
    # a dead writer's half-built folder, old-style and new-style names
    for name in (f".a.tmp-{dead}", f".b.tmp-{dead}@{fileio.host_tag()}",
                 f".c.parquet.tmp-{dead}@{fileio.host_tag()}.abc123.parquet",
                 f".d.{dead}.a1b2c3.tmp.parquet"):
        (tmp_path / name).mkdir() if "parquet" not in name else (tmp_path / name).write_text("x")
    # an old result stepped aside by a writer killed before the new one went in ...
    write_run(tmp_path / "lost", **payload("old", 2))
    os.rename(tmp_path / "lost", tmp_path / f".lost.old-{dead}")
    # ... and one whose final name was filled after all
    write_run(tmp_path / "kept2", **payload("new", 2))
    shutil.copytree(tmp_path / "kept2", tmp_path / f".kept2.old-{dead}")
    # not ours to touch: a live process, another machine, other hidden names
    keep = [f".e.tmp-{alive}", f".f.tmp-{dead}@some-other-host", ".git", ".g.tmp-x"]
    for name in keep:
        (tmp_path / name).mkdir()
    with caplog.at_level(logging.WARNING, logger="simulator"):
        write_run(tmp_path / "next", **payload("next", 1))  # any command writing results
    assert hidden(tmp_path) == sorted(keep)
    assert result_tag(tmp_path / "lost") == "old" and "restored" in caplog.text
    assert result_tag(tmp_path / "kept2") == "new" and result_tag(tmp_path / "kept") == "kept"


def test_sweep_cleans_leftovers_of_dead_processes_on_start(tmp_path):
    from simulator.sweep import run_sweep

    dead = dead_pid()
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(f"base: {SMALL}\nset: [workload.synthetic.samples=20, "
                          f"time.duration_h=1, time.drain_h=1]\naxes:\n  seed: [1]\n")
    out = tmp_path / "out"
    (out / "points" / f".deadbeef.tmp-{dead}").mkdir(parents=True)
    (out / f".sweep.parquet.tmp-{dead}@{fileio.host_tag()}.a1b2c3.parquet").write_text("x")
    run_sweep(sweep_file, out_dir=out)
    assert hidden(out) == [] and hidden(out / "points") == []


# ---------------------------------------------------------------------------
# 1: signals
# ---------------------------------------------------------------------------

SIGNAL_DRIVER = r'''
import sys, time
from pathlib import Path
ready, phase = Path(sys.argv[1]), sys.argv[2]
if phase == "write":  # stop inside write_run, with the new folder half built
    import simulator.results as results
    real = results.write_run_files
    def slow(folder, **kwargs):
        real(folder, **kwargs)
        ready.write_text("writing")
        time.sleep(60)
    results.write_run_files = slow
else:  # stop inside the simulation
    import simulator.engine.world as world
    def slow_run(*args, **kwargs):
        ready.write_text("simulating")
        time.sleep(60)
    world.run_world = slow_run
from simulator.cli import main
main(sys.argv[3:])
'''


def _signal_run(tmp_path, phase: str, out: Path, signum=signal.SIGTERM):
    driver, ready = tmp_path / "driver.py", tmp_path / f"ready-{phase}"
    driver.write_text(SIGNAL_DRIVER)
    proc = subprocess.Popen([sys.executable, str(driver), str(ready), phase, "run", str(SMALL),
                             "--out", str(out)], cwd=ROOT, env=env_for_subprocess(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=like_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@pytest.mark.parametrize("phase", ["simulate", "write"])
def test_sigterm_ends_a_run_as_interrupted_without_half_folders(tmp_path, phase, capsys):
    out = tmp_path / "results"
    old = None
    if phase == "write":  # a finished earlier result must survive the interrupted re-run
        with pytest.raises(SystemExit) as exc:
            main(["run", str(SMALL), "--out", str(out)])
        assert exc.value.code == 0
        [old] = out.iterdir()
        old_sha = hashlib.sha256((old / "samples.parquet").read_bytes()).hexdigest()
    code, err = _signal_run(tmp_path, phase, out)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err
    if old is None:
        assert not out.exists() or list(out.iterdir()) == []
    else:
        assert [p.name for p in out.iterdir()] == [old.name]  # nothing hidden left
        assert hashlib.sha256((old / "samples.parquet").read_bytes()).hexdigest() == old_sha


def test_sigint_still_ends_a_run_as_interrupted(tmp_path):
    code, err = _signal_run(tmp_path, "simulate", tmp_path / "results", signal.SIGINT)
    assert code == 130 and "interrupted" in err and "Traceback" not in err


def test_only_a_real_interrupt_prints_interrupted(monkeypatch, capsys):
    import simulator.cli as cli_module

    def raise_(exc):
        def command(*args, **kwargs):
            raise exc
        return command

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli_module.cli, "main", raise_(KeyboardInterrupt()))
    with pytest.raises(SystemExit) as stop:
        main(["run", "x.yaml"])
    assert stop.value.code == 130 and "interrupted" in capsys.readouterr().err
    # click turns EOFError into an abort too; that is a bug, not an interrupt
    import click

    def eof(*args, **kwargs):
        try:
            raise EOFError("Ran out of input")
        except EOFError as error:
            raise click.exceptions.Abort() from error

    monkeypatch.setattr(cli_module.cli, "main", eof)
    with pytest.raises(EOFError):
        main(["run", "x.yaml"])
    assert "interrupted" not in capsys.readouterr().err
    # the SIGTERM handler is only installed while a command runs
    assert signal.getsignal(signal.SIGTERM) == before


# ---------------------------------------------------------------------------
# 7: a sweep interrupted with local workers
# ---------------------------------------------------------------------------

def test_sigint_to_a_sweep_returns_promptly_with_finished_rows_and_no_workers(tmp_path):
    psutil = pytest.importorskip("psutil")
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(textwrap.dedent(f"""\
        name: signals
        base: {SMALL}
        set: [workload.synthetic.samples=30000, time.duration_h=6, time.drain_h=2]
        axes:
          seed: [1, 2, 3, 4, 5, 6]
    """))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "sweep", str(sweep_file),
                             "--workers", "2", "--out", str(out)], cwd=ROOT,
                            env=env_for_subprocess(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=like_a_terminal)
    try:
        deadline = time.monotonic() + 180
        while not list((out / "points").glob("[!.]*/summary.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no point finished in time"
            time.sleep(0.02)
        time.sleep(0.3)
        # forked here (a single-threaded parent on Linux) or spawned: its children either way
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert workers
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)  # the parent only: it must stop its workers
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert took <= 2.0, f"the sweep took {took:.1f} s to return after SIGINT"
    gone, alive = psutil.wait_procs(workers, timeout=2)
    assert not alive, "worker processes left running"
    finished = {p.parent.name for p in (out / "points").glob("[!.]*/summary.json")}
    table = pd.read_parquet(out / "sweep.parquet")
    assert set(table["key"]) == finished and (table["status"] == "ok").all()


# ---------------------------------------------------------------------------
# 2 + 5: caches are best effort; warnings survive the cache
# ---------------------------------------------------------------------------

def _run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _blocked_cache(tmp_path) -> Path:
    """A cache path that cannot be created, even by root: a file is in the way."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return blocker / "cache"


@pytest.mark.parametrize("how", ["uncreatable", "home", "entry-is-a-folder", "read-only"])
def test_run_goes_on_without_a_usable_cache(tmp_path, monkeypatch, capsys, how):
    if how == "uncreatable":
        monkeypatch.setenv("SPACEVERSE_CACHE", str(_blocked_cache(tmp_path)))
    elif how == "home":  # no SPACEVERSE_CACHE: ~/.cache cannot be made
        monkeypatch.delenv("SPACEVERSE_CACHE")
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(_blocked_cache(tmp_path)))
    elif how == "entry-is-a-folder":  # every cache file name is taken by a folder
        cache = tmp_path / "cache"
        monkeypatch.setenv("SPACEVERSE_CACHE", str(cache))
        real = fileio.temp_name

        def blocked(path, kind="tmp", *, unique=False):
            name = real(path, kind, unique=unique)
            if str(path).startswith(str(cache)):
                Path(path).mkdir(parents=True, exist_ok=True)
            return name
        monkeypatch.setattr(fileio, "temp_name", blocked)
    else:
        if IS_ROOT:
            pytest.skip("root ignores file permissions")
        cache = tmp_path / "cache"
        (cache / "contacts").mkdir(parents=True)
        (cache / "policies").mkdir()
        for folder in (cache, cache / "contacts", cache / "policies"):
            folder.chmod(0o555)
        monkeypatch.setenv("SPACEVERSE_CACHE", str(cache))
    code, out, err = _run_cli(capsys, "run", str(SMALL), "--out", str(tmp_path / "results"))
    assert code == 0, err
    assert "Traceback" not in err and "wrote" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings and all("cache" in w for w in warnings), err
    assert len(warnings) == len(set(warnings)) <= 3


def test_contacts_command_goes_on_without_a_usable_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPACEVERSE_CACHE", str(_blocked_cache(tmp_path)))
    code, out, err = _run_cli(capsys, "contacts", "--tle", "walker:550:53:4:5", "--hours", "2",
                              "--out", str(tmp_path / "w.parquet"))
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [
        line for line in err.splitlines() if "cache" in line]
    assert len(pd.read_parquet(tmp_path / "w.parquet")) > 0


def _decayed_and_healthy():
    from sgp4.api import Satrec

    l1 = "1 25544U 98067A   26165.50000000  .00016717  00000-0  10270-3 0  9990"
    l2 = "2 25544  51.6400 208.9163 0006317  69.9862  25.2906 15.50000000    07"
    decayed = l2[:52] + "17.50000000" + l2[63:]  # below the Earth's surface: SGP4 error
    return [("HEALTHY", 1, Satrec.twoline2rv(l1, l2)),
            ("DECAYED", 2, Satrec.twoline2rv(l1.replace("25544", "25545"),
                                             decayed.replace("25544", "25545")))]


@pytest.mark.parametrize("workers", [1, 2])
def test_propagation_warnings_are_replayed_from_the_cache(tmp_path, caplog, workers):
    from simulator.orbits.contacts import cached_contacts
    from simulator.orbits.stations import GroundStation

    import pyarrow.parquet as pq

    sats = _decayed_and_healthy()
    station = GroundStation("S", 10.0, 20.0, min_elevation_deg=5.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    tables = []
    for attempt in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            tables.append(cached_contacts(sats, [station], start, 86400, cache_dir=tmp_path,
                                          workers=workers, min_parallel_samples=0))
        dropped = [r.getMessage() for r in caplog.records if "DECAYED" in r.getMessage()]
        if attempt == 0 and workers > 1:
            # logged by a worker process (its own handlers); the entry keeps it
            [entry] = tmp_path.glob("*.parquet")
            stored = json.loads(pq.read_schema(entry).metadata[b"spaceverse.contacts"])
            dropped = [w for w in stored["warnings"] if "DECAYED" in w]
        assert len(dropped) == 1 and "could not be propagated" in dropped[0]
    assert len(list(tmp_path.glob("*.parquet"))) == 1
    assert len(tables[0]) > 0
    pd.testing.assert_frame_equal(tables[0], tables[1])


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "wrong-columns",
                                    "no-stored-warnings"])
def test_a_damaged_contact_cache_entry_is_recomputed(tmp_path, caplog, damage):
    from simulator.orbits.contacts import cached_contacts
    from simulator.orbits.stations import GroundStation

    sats = _decayed_and_healthy()[:1]
    station = GroundStation("S", 10.0, 20.0, min_elevation_deg=5.0)
    start = datetime(2026, 6, 14, 12, tzinfo=timezone.utc)
    good = cached_contacts(sats, [station], start, 7200, cache_dir=tmp_path)
    [entry] = tmp_path.glob("*.parquet")
    data = entry.read_bytes()
    entry.write_bytes({"empty": b"", "garbage": b"\x00garbage" * 100,
                       "truncated": data[:len(data) // 2]}.get(damage, data))
    if damage == "wrong-columns":
        from simulator.orbits.contacts import _write_cache_entry

        _write_cache_entry(good.drop(columns="station"), [], entry)
    elif damage == "no-stored-warnings":  # an entry written by an earlier version
        good.to_parquet(entry)
    with caplog.at_level(logging.INFO):
        again = cached_contacts(sats, [station], start, 7200, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(good, again)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == (0 if damage == "no-stored-warnings" else 1)
    # and the entry is whole again
    with caplog.at_level(logging.INFO):
        caplog.clear()
        cached_contacts(sats, [station], start, 7200, cache_dir=tmp_path)
    assert "from cache" in caplog.text and not [r for r in caplog.records
                                                if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------
# 3: damaged confidence networks
# ---------------------------------------------------------------------------

def _tiny_network():
    from simulator.policies import confidence as c

    spec = c.FeatureSpec(variant="progressive", points=2, stage_tokens=4,
                         base_kind="image-size", feature_dim=0, answer_kind="final-answer")
    net = c.ConfidenceNet([len(c.IMAGE_FACTS), 6], hidden=4)
    return c.TrainedConfidence(net=net, spec=spec, metrics={}, meta={})


DAMAGES = {
    "empty-pt": ("pt", b""),
    "garbage-pt": ("pt", b"\x80\x04garbage\x00" * 50),
    "truncated-pt": ("pt", None),
    "zip-not-torch": ("pt", b"PK\x03\x04" + b"\x00" * 64),
    "empty-json": ("json", b""),
    "garbage-json": ("json", b"{not json"),
    "list-json": ("json", b"[]"),
    "latin1-json": ("json", b"\xff\xfe\xfa"),
    "missing-keys-json": ("json", b"{}"),
}


def _damage(stem: Path, kind: str) -> None:
    which, data = DAMAGES[kind]
    path = stem.with_name(stem.name + f".{which}")
    if data is None:
        data = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(data)


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_loading_a_damaged_network_is_one_line_naming_the_file(tmp_path, kind):
    from simulator.policies import confidence as c

    stem = tmp_path / "net"
    _tiny_network().save(stem)
    c.TrainedConfidence.load(stem)  # whole: fine
    _damage(stem, kind)
    with pytest.raises(InputError) as info:
        c.TrainedConfidence.load(stem)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "net.") in message


@pytest.mark.parametrize("kind", ["empty-pt", "garbage-pt", "truncated-pt", "garbage-json"])
def test_a_damaged_user_checkpoint_ends_the_run_with_one_line(tmp_path, capsys, kind):
    stem = tmp_path / "ckpt"
    _tiny_network().save(stem)
    _damage(stem, kind)
    code, _, err = _run_cli(capsys, "run", str(SMALL), "--out", str(tmp_path / "results"),
                            "--set", "policy.allocation=spaceverse",
                            "--set", f"policy.params.checkpoint={stem}.pt")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(stem) in lines[0]
    assert "interrupted" not in err


@pytest.fixture(scope="module")
def policy_trace():
    from simulator.inference.synthetic import generate_synthetic

    return generate_synthetic("classification", samples=300, seed=2, train_samples=0).table


def _policy_context(trace, cache_dir):
    from simulator.policies.allocation import PolicyContext

    return PolicyContext(trace.iloc[150:].reset_index(drop=True), 2, 2,
                         np.random.default_rng(0), train=trace.iloc[:150].reset_index(drop=True),
                         trace_meta={"name": "synthetic-test"}, cache_dir=cache_dir)


@pytest.mark.parametrize("kind", sorted(DAMAGES) + ["pt-only"])
def test_a_damaged_cached_network_is_a_warning_and_trained_again(tmp_path, caplog,
                                                                  policy_trace, kind):
    import simulator.policies.spaceverse  # noqa: F401 - registers the policies
    from simulator.policies.allocation import get_policy

    ctx = _policy_context(policy_trace, tmp_path)
    policy = get_policy("spaceverse", {"seed": 1, "epochs": 2})
    _, notes = policy.network(ctx)
    assert notes["source"] == "trained"
    [pt] = tmp_path.glob("confidence-*.pt")
    stem = pt.with_suffix("")
    if kind == "pt-only":
        stem.with_name(stem.name + ".json").unlink()
    else:
        _damage(stem, kind)
    with caplog.at_level(logging.WARNING):
        _, notes = get_policy("spaceverse", {"seed": 1, "epochs": 2}).network(ctx)
    assert notes["source"] == "trained"
    warned = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING and "cache" in r.getMessage()]
    assert len(warned) == 1, warned
    _, notes = get_policy("spaceverse", {"seed": 1, "epochs": 2}).network(ctx)
    assert notes["source"] == "cache"  # repaired


def test_an_unwritable_policy_cache_is_one_warning(tmp_path, caplog, policy_trace):
    import simulator.policies.spaceverse  # noqa: F401
    from simulator.policies.allocation import get_policy

    cache = tmp_path / "policies"
    cache.mkdir()
    ctx = _policy_context(policy_trace, cache)
    key = get_policy("spaceverse", {"seed": 3, "epochs": 2})
    # make every file name of the entry a folder, so nothing can be written there
    _, notes = key.network(_policy_context(policy_trace, tmp_path / "probe"))
    for f in (tmp_path / "probe").iterdir():
        (cache / f.name).mkdir()
    with caplog.at_level(logging.WARNING):
        _, notes = get_policy("spaceverse", {"seed": 3, "epochs": 2}).network(ctx)
    assert notes["source"] == "trained"
    warned = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING and "cache" in r.getMessage()]
    assert len(warned) == 1, warned


# ---------------------------------------------------------------------------
# 4: file modes follow the umask
# ---------------------------------------------------------------------------

@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027])
def test_written_files_follow_the_umask(tmp_path, mask):
    from simulator.orbits.contacts import _write_cache_entry

    with umask(mask):
        run = write_run(tmp_path / "results" / "run", **payload("x", 3))
        atomic = fileio.write_atomic(tmp_path / "figures" / "a.txt", lambda p: p.write_text("a"))
        _tiny_network().save(tmp_path / "checkpoints" / "net")   # train confidence, policy cache
        (tmp_path / "cache").mkdir()
        _write_cache_entry(pd.DataFrame({"a": [1]}), [], tmp_path / "cache" / "e.parquet")
    files = [*run.iterdir(), atomic, tmp_path / "checkpoints" / "net.pt",
             tmp_path / "checkpoints" / "net.json", tmp_path / "cache" / "e.parquet"]
    for f in files:
        assert _mode(f) == 0o666 & ~mask, f"{f}: {oct(_mode(f))}"
    for d in (run, run.parent, tmp_path / "checkpoints", tmp_path / "figures"):
        assert _mode(d) == 0o777 & ~mask, f"{d}: {oct(_mode(d))}"


def test_synthetic_traces_follow_the_umask(tmp_path, capsys):
    with umask(0o022):
        code, _, err = _run_cli(capsys, "traces", "synth", "--samples", "20", "--out",
                                str(tmp_path))
    assert code == 0, err
    for f in tmp_path.iterdir():
        assert _mode(f) == 0o644, f"{f}: {oct(_mode(f))}"


# ---------------------------------------------------------------------------
# 6: FIFO waits are exactly zero when nothing waits
# ---------------------------------------------------------------------------

def _recursion(capture, work):
    start, end, previous = [], [], -np.inf
    for c, w in zip(capture.tolist(), work.tolist()):
        s = c if c > previous else previous
        previous = s + w
        start.append(s)
        end.append(previous)
    return np.array(start), np.array(end)


def test_fifo_waits_are_exact_on_a_large_random_case():
    rng = np.random.default_rng(7)
    n = 200_000
    capture = np.sort(rng.uniform(0, 0.9 * n, n)) + 86_400.0
    work = rng.exponential(0.8, n)
    start, end = Simulation.fifo_schedule(capture, work, 1)
    want_start, want_end = _recursion(capture, work)
    no_wait = want_start == capture
    assert 0.05 * n < no_wait.sum() < 0.95 * n  # both kinds are well represented
    assert (start >= capture).all()
    assert ((start - capture)[no_wait] == 0).all()
    assert ((start - capture)[~no_wait] > 0).all()
    assert np.array_equal(end, start + work)
    assert np.array_equal(start, want_start) and np.array_equal(end, want_end)
    # the same end times as the closed form, to its rounding
    total = np.cumsum(work)
    closed = total + np.maximum.accumulate(capture - (total - work))
    assert np.abs(end - closed).max() < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_fifo_exact_with_ties_and_long_queues(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(600, 5000))
    # captures and work on a 0.1 s grid: many exact ties between a capture and an end
    capture = np.sort(rng.integers(0, n // 2, n)).astype(float) * 0.1
    work = rng.integers(0, 4, n) * 0.1
    if seed == 0:
        work[:] = 3.0  # one busy period for everything
    start, end = Simulation.fifo_schedule(capture, work, 1)
    want_start, want_end = _recursion(capture, work)
    assert np.array_equal(start, want_start) and np.array_equal(end, want_end)
    assert (start >= capture).all() and np.array_equal(end, start + work)


def test_fifo_several_slots_and_empty():
    start, end = Simulation.fifo_schedule(np.array([0., 1., 2.]), np.array([5., 5., 1.]), 2)
    assert start.tolist() == [0.0, 1.0, 5.0] and end.tolist() == [5.0, 6.0, 6.0]
    start, end = Simulation.fifo_schedule(np.array([]), np.array([]), 1)
    assert len(start) == len(end) == 0
