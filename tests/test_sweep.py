"""Sweeps: expansion, validation errors, failing points, executors, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from simulator.config import load_scenario, scenario_hash
from simulator.errors import InputError
from simulator.sweep import (COLUMNS, SweepError, load_sweep, run_point, run_sweep,
                             sweep_command)

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios" / "small.yaml"
TINY = ["workload.synthetic.samples=60", "time.duration_h=1", "time.drain_h=2"]


def write_sweep(folder: Path, body: str, name: str = "sweep.yaml", base: str | None = None) -> Path:
    """A sweep file whose base is scenarios/small.yaml (unless ``base`` is given)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(body).strip() + "\n"
    if base is None:
        text = f"base: {SMALL}\n" + text
    path.write_text(text)
    return path


TINY_SET = f"set: [{', '.join(TINY)}]"


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["wall_s", "run_dir"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# expansion
# ---------------------------------------------------------------------------

def test_grid_expansion_keys_and_scenarios(tmp_path):
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "base.yaml").write_text(SMALL.read_text())
    path = write_sweep(tmp_path / "sweeps", f"""
        name: Grid Test
        base: ../scen/base.yaml
        {TINY_SET}
        axes:
          policy.allocation: [ground-only, satellite-only]
          seed: [1, 2]
          policy.params.tau: [[0.5, 0.4]]
    """, base="given")
    sweep = load_sweep(path)
    points = sweep.points()
    assert sweep.name == "Grid Test" and sweep.mode == "grid" and len(sweep) == 4
    assert sweep.default_out_dir() == Path("results/sweeps/grid-test")
    assert [p.index for p in points] == [0, 1, 2, 3]
    assert [(p.values["policy.allocation"], p.values["seed"]) for p in points] == [
        ("ground-only", 1), ("ground-only", 2), ("satellite-only", 1), ("satellite-only", 2)]
    assert points[0].values["policy.params.tau"] == [0.5, 0.4]
    assert points[1].overrides == TINY + ["policy.allocation=ground-only", "seed=2",
                                          "policy.params.tau=[0.5, 0.4]"]
    base = tmp_path / "scen" / "base.yaml"
    for p in points:
        assert p.key == scenario_hash(p.scenario)
        assert p.scenario.output.run_id == p.key
        assert p.scenario == load_scenario(base, p.overrides).model_copy(
            update={"output": p.scenario.output})
        assert p.scenario.policy.params == {"tau": [0.5, 0.4]}
        assert p.scenario.workload.synthetic.samples == 60
    assert len({p.key for p in points}) == 4
    assert [p.key for p in load_sweep(path).points()] == [p.key for p in points]  # stable


def test_zip_expansion_and_mapping_set(tmp_path):
    path = write_sweep(tmp_path, """
        mode: zip
        set: {workload.synthetic.samples: 60, time.duration_h: 1}
        axes:
          seed: [1, 2, 3]
          link.rate_mbps: [50, 100, 150.5]
    """)
    sweep = load_sweep(path)
    assert sweep.name == "sweep" and sweep.set == ["workload.synthetic.samples=60",
                                                   "time.duration_h=1"]
    got = [(p.scenario.seed, p.scenario.link.rate_mbps) for p in sweep.points()]
    assert got == [(1, 50.0), (2, 100.0), (3, 150.5)]
    assert all(p.scenario.time.duration_h == 1 for p in sweep.points())


# ---------------------------------------------------------------------------
# validation errors: one line, FILE:LINE: field: message
# ---------------------------------------------------------------------------

def error_of(tmp_path, body, base=None) -> str:
    path = write_sweep(tmp_path, body, base=base)
    with pytest.raises(InputError) as info:
        load_sweep(path)
    assert isinstance(info.value, SweepError)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message.replace(str(tmp_path) + os.sep, "")


def test_unknown_key_did_you_mean(tmp_path):
    assert error_of(tmp_path, """
        mode: grid
        axis:
          seed: [1]
    """) == ("sweep.yaml:1: axes: required field is missing; "
             "sweep.yaml:3: axis: unknown key (did you mean 'axes'?)")


def test_bad_axis_value_names_axis_and_value(tmp_path):
    message = error_of(tmp_path, """
        axes:
          policy.allocation: [ground-only]
          seed: [1, -1]
          link.rate_mbps: [fast]
    """)
    assert message == ("sweep.yaml:4: axes.seed[1]: must be >= 0, got -1; "
                       "sweep.yaml:5: axes.link.rate_mbps[0]: expected a number, got 'fast'")


def test_unknown_axis_path(tmp_path):
    message = error_of(tmp_path, """
        axes:
          polcy.allocation: [ground-only, tabi]
    """)
    assert message == ("sweep.yaml:3: axes.polcy.allocation: polcy: unknown key "
                       "(did you mean 'policy'?)")


def test_zip_unequal_lengths_and_empty_axis(tmp_path):
    assert error_of(tmp_path, """
        mode: zip
        axes:
          seed: [1, 2, 3]
          link.rate_mbps: [50, 100]
    """).startswith("sweep.yaml:5: axes.link.rate_mbps: has 2 value(s) but seed has 3; zip mode")
    assert error_of(tmp_path, """
        axes:
          seed: []
    """) == "sweep.yaml:3: axes.seed: has no values (an axis needs at least one)"


def test_missing_base_and_duplicate_points(tmp_path):
    assert error_of(tmp_path, """
        base: ../no-such.yaml
        axes: {seed: [1]}
    """, base="given").startswith("sweep.yaml:1: base: no such scenario file '../no-such.yaml'")
    assert "are the same scenario" in error_of(tmp_path, """
        axes:
          seed: [1, 1]
    """)


def test_bad_set_item_points_at_set(tmp_path):
    assert error_of(tmp_path, """
        set: ["workload.train_fraction=2"]
        axes: {seed: [1, 2]}
    """) == "sweep.yaml:2: set[0]: must be < 1, got 2"


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------

def test_failing_point_is_recorded_and_retried(tmp_path, monkeypatch):
    path = write_sweep(tmp_path, f"""
        name: fails
        {TINY_SET}
        axes:
          policy.allocation: [ground-only, no-such-policy, satellite-only]
    """)
    monkeypatch.chdir(tmp_path)
    seen = []
    frame, out = sweep_command(path, workers=1, scheduler=None, out_dir=None,
                               progress=lambda done, total, key: seen.append((done, total, key)))
    assert out == Path("results/sweeps/fails")
    assert [d for d, _, _ in seen] == [1, 2, 3] and {t for _, t, _ in seen} == {3}
    assert frame["status"].tolist() == ["ok", "failed", "ok"]
    error = frame.loc[1, "error"]
    assert error.startswith(f"{path}:5: axes.policy.allocation[1]: unknown policy "
                            "'no-such-policy'") and "\n" not in error
    assert frame.loc[0, "error"] == "" and frame.loc[1, "run_dir"] == ""
    assert pd.isna(frame.loc[1, "accuracy_every_answer"]) and pd.isna(frame.loc[1, "samples"])
    assert list(frame.columns) == COLUMNS[:5] + ["policy.allocation"] + COLUMNS[5:]
    ok = frame.loc[0]
    assert ok["policy"] == "ground-only" and ok["samples"] == 60 and ok["offloaded"] == 60
    assert ok["synthetic"] and ok["trace"].startswith("synthetic") and ok["satellites"] == 3
    assert ok["compression_ratio"] == 1.0 and ok["wall_s"] > 0
    summary = json.loads((out / ok["run_dir"] / "summary.json").read_text())
    for name in ("accuracy_finished_samples", "accuracy_all_samples", "accuracy_every_answer"):
        assert ok[name] == summary[name]  # one name for one metric, table and summary alike
    assert ok["finished"] == summary["status"]["onboard"] + summary["status"]["ground"]
    assert ok["training_pool_rows"] == summary["train_samples"] and ok["warnings"] == ""
    assert pd.isna(ok["onboard_only_latency_mean_s"]) and frame.loc[2, "offloaded"] == 0
    assert frame.loc[2, "onboard_only_latency_mean_s"] > 0 and pd.isna(frame.loc[2, "tx_s_mean"])
    assert (out / "sweep.yaml").exists() and pd.read_parquet(out / "sweep.parquet").equals(frame)
    assert load_sweep(out / "sweep.yaml").points()[0].key == frame.loc[0, "key"]
    # Resume: the finished points are read back, the failed one is tried again.
    again = run_sweep(load_sweep(path), out_dir=out)
    assert again.attrs["computed"] == [] and again.attrs["failed"] == [frame.loc[1, "key"]]
    assert sorted(again.attrs["cached"]) == sorted(frame.loc[[0, 2], "key"])
    assert again["wall_s"].isna().tolist() == [True, False, True]
    pd.testing.assert_frame_equal(comparable(again), comparable(frame))


def test_run_point_returns_plain_data(tmp_path):
    from simulator.config import dump_resolved

    point = load_sweep(write_sweep(tmp_path, f"{TINY_SET}\naxes: {{seed: [4]}}")).points()[0]
    result = run_point(dump_resolved(point.scenario), str(SMALL.parent), str(tmp_path / "p"),
                       point.key)
    assert result["ok"] and result["key"] == point.key and result["summary"]["seed"] == 4
    assert (tmp_path / "p" / point.key / "summary.json").exists()
    bad = run_point(dump_resolved(point.scenario), None, str(tmp_path / "p"), "0" * 12)
    assert not bad["ok"] and "reads back with hash" in bad["error"]


def policies_by_seeds(tmp_path: Path, name: str) -> Path:
    """A 2 x 2 sweep of tiny points (two policies, two seeds)."""
    return write_sweep(tmp_path, f"""
        name: {name}
        {TINY_SET}
        axes:
          policy.allocation: [ground-only, satellite-only]
          seed: [1, 2]
    """)


def assert_same_points(a: Path, b: Path) -> None:
    """Two sweep folders hold the same table (but wall times and run folders) and the
    same per-sample logs."""
    table = pd.read_parquet(a / "sweep.parquet")
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(b / "sweep.parquet")),
                                  comparable(table))
    for key in table["key"]:
        pd.testing.assert_frame_equal(pd.read_parquet(a / "points" / key / "samples.parquet"),
                                      pd.read_parquet(b / "points" / key / "samples.parquet"))


def test_dask_cluster_and_local_processes_give_identical_tables(tmp_path):
    """The same sweep on a Dask LocalCluster and on 2 local processes: identical rows."""
    from distributed import LocalCluster

    sweep = load_sweep(policies_by_seeds(tmp_path, "executors"))
    local = run_sweep(sweep, out_dir=tmp_path / "local", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = run_sweep(sweep, out_dir=tmp_path / "dask", scheduler=cluster)
    assert local["status"].tolist() == ["ok"] * 4 and len(dask.attrs["computed"]) == 4
    assert local["wall_s"].notna().all() and dask["wall_s"].notna().all()
    assert_same_points(tmp_path / "local", tmp_path / "dask")


def test_forked_and_spawned_workers_give_identical_tables(tmp_path):
    """Local workers are forked where that is safe (a fresh single-threaded process on
    Linux) and spawned otherwise: both give the rows and logs of one worker."""
    path = policies_by_seeds(tmp_path, "starts")
    code = textwrap.dedent(f"""
        import sys
        from simulator.sweep import executors, run_sweep
        method = executors.start_method()
        run_sweep({str(path)!r}, out_dir={str(tmp_path / "fork")!r}, workers=2)
        executors.start_method = lambda: "spawn"
        run_sweep({str(path)!r}, out_dir={str(tmp_path / "spawn")!r}, workers=2)
        run_sweep({str(path)!r}, out_dir={str(tmp_path / "one")!r}, workers=1)
        print(method)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    expected = "fork" if sys.platform.startswith("linux") else "spawn"
    assert done.stdout.split() == [expected]
    one = pd.read_parquet(tmp_path / "one" / "sweep.parquet")
    assert one["status"].tolist() == ["ok"] * 4
    for how in ("fork", "spawn"):
        assert_same_points(tmp_path / "one", tmp_path / how)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forking: Linux only")
def test_sweep_command_at_a_terminal_forks_its_workers(tmp_path):
    """At a terminal the command shows a rich progress bar, whose refresh thread is
    stopped while the workers start (the bar is hidden meanwhile): they are forked,
    and the sweep completes."""
    import pty
    import select

    path = policies_by_seeds(tmp_path, "terminal")
    out = tmp_path / "out"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "-v", "sweep", str(path),
                             "--workers", "2", "--out", str(out)], cwd=ROOT,
                            stdin=slave, stdout=slave, stderr=slave,
                            env=dict(os.environ, COLUMNS="120", TERM="xterm"))
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal's other side is closed: the command ended
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, text
    assert "2 local worker process(es), forked" in text, text
    table = pd.read_parquet(out / "sweep.parquet")
    assert table["status"].tolist() == ["ok"] * 4


def test_workers_are_spawned_where_forking_is_unsafe(monkeypatch):
    import threading

    from simulator.sweep import executors

    if not sys.platform.startswith("linux"):
        assert executors.start_method() == "spawn"
        return
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert executors.start_method() in ("fork", "spawn")  # pytest may run threads
    monkeypatch.setitem(sys.modules, "torch", object())
    assert executors.start_method() == "spawn"         # torch's pools do not survive a fork
    monkeypatch.delitem(sys.modules, "torch")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert executors.start_method() == "spawn"     # a lock may be held by that thread
    finally:
        stop.set()
        thread.join()


def finished_points(out: Path) -> list[Path]:
    """summary.json of finished points; a run folder being written is a hidden temporary
    folder (it may already hold its summary.json) until it is renamed into place."""
    return [p for p in (out / "points").glob("*/summary.json")
            if not p.parent.name.startswith(".")]


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    path = write_sweep(tmp_path, f"""
        name: killed
        {TINY_SET}
        axes:
          seed: [1, 2, 3, 4, 5, 6]
    """)
    out = tmp_path / "out"
    code = (f"from simulator.sweep import run_sweep\n"
            f"run_sweep({str(path)!r}, out_dir={str(out)!r}, workers=1)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not finished_points(out):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no point finished within 60 s"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = {p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns)
                   for p in finished_points(out)}
    assert done_before
    if (out / "sweep.parquet").exists():  # it may not be written yet; if it is, it is complete
        partial = pd.read_parquet(out / "sweep.parquet")
        assert set(partial["key"]) <= set(done_before) and (partial["status"] == "ok").all()

    sweep = load_sweep(path)
    resumed = run_sweep(sweep, out_dir=out, workers=1)
    keys = {p.key for p in sweep.points()}
    assert set(resumed.attrs["cached"]) == set(done_before)
    assert set(resumed.attrs["computed"]) == keys - set(done_before)  # nothing run twice
    assert resumed["status"].tolist() == ["ok"] * 6
    for key, stamp in done_before.items():
        summary = out / "points" / key / "summary.json"
        assert (summary.stat().st_ino, summary.stat().st_mtime_ns) == stamp
    assert {p.name for p in (out / "points").iterdir() if not p.name.startswith(".")} == keys
    # Nothing lost: the resumed table equals an uninterrupted run's.
    fresh = run_sweep(sweep, out_dir=tmp_path / "fresh", workers=1)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(fresh))
