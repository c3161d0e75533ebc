"""Benchmark: a CPU-bound sweep with 1 worker and with 2 local worker processes.

    python benchmarks/sweep.py          # 8 points (target: speed-up >= 1.8x on 2 cores)
    python benchmarks/sweep.py --points 4 --samples 50000

The sweep runs the default scenario (the paper's 10 satellites of the 570 km shell,
one Shanghai station, 110.67 Mbps) with a different seed per point; every sample is
offloaded (ground-only, no compression: the most simulation events per sample, and
no per-process model or calibration set-up), so each point is several seconds of
pure simulation.  The contact plan (the same for every seed) is computed once before
timing, into a temporary cache, so both runs do exactly the same work.  Each run
writes to a fresh temporary folder (nothing is resumed); the two tables are checked
to be identical (except wall time) and the wall times and the speed-up are printed.

Each repetition runs the sweep with 1 worker (in this process), with 2 forked workers
(what a Linux process with one thread and the command line get) and with 2 spawned
workers (what macOS, Windows or a notebook gets: each worker imports the package
again), in an order that rotates between repetitions so that a machine getting slower
or faster does not favour one of them; min and median over repetitions are printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

ROOT = Path(__file__).resolve().parent.parent


def sweep_file(folder: Path, points: int, samples: int) -> Path:
    path = folder / "bench-sweep.yaml"
    seeds = ", ".join(str(s) for s in range(1, points + 1))
    path.write_text(
        "name: bench-sweep\n"
        f"base: {ROOT / 'scenarios' / 'default.yaml'}\n"
        "set:\n"
        "  - workload.rate_per_satellite_h=null\n"
        "  - workload.arrival=uniform\n"
        f"  - workload.samples={samples}\n"
        f"  - workload.synthetic.samples={samples}\n"
        "  - workload.train_fraction=0\n"
        "  - policy.allocation=ground-only\n"
        "  - policy.params={}\n"
        "  - policy.compression.method=none\n"
        "  - policy.compression.params={}\n"
        "  - output.save_contacts=false\n"
        f"axes:\n  seed: [{seeds}]\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--samples", type=int, default=150_000,
                        help="samples per point (default 150000: a few seconds each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions of the three runs (default 3)")
    parser.add_argument("--fixed-points", type=int, default=20,
                        help="points of 10 samples each, to measure the fixed cost of a point")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="spaceverse-sweep-bench-") as tmp:
        tmp = Path(tmp)
        os.environ["SPACEVERSE_CACHE"] = str(tmp / "cache")  # inherited by the workers
        import pandas as pd

        from simulator.sweep import load_sweep, run_sweep

        sweep = load_sweep(sweep_file(tmp, args.points, args.samples))
        begin = time.perf_counter()
        # Pre-warm the on-disk caches (contact plan, parsed catalogue) in another process,
        # so that neither run starts with this process's in-memory caches already filled.
        subprocess.run([sys.executable, "-c", "import sys; from simulator.sweep import "
                        "load_sweep; from simulator.engine.world import build_world; "
                        "build_world(load_sweep(sys.argv[1]).points()[0].scenario)",
                        str(tmp / "bench-sweep.yaml")], check=True, cwd=ROOT)
        print(f"sweep: {len(sweep)} points of scenarios/default.yaml (seeds 1..{args.points}), "
              f"{args.samples} synthetic samples each, ground-only; {os.cpu_count()} CPU(s)")
        print(f"contact cache pre-warmed in {time.perf_counter() - begin:.1f} s")

        from simulator.sweep import executors

        forked = executors.start_method
        runs = [("1 worker", 1, forked), (f"{args.workers} workers, forked", args.workers,
                                          lambda: "fork"),
                (f"{args.workers} workers, spawned", args.workers, lambda: "spawn")]
        walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        reference = None
        for rep in range(args.repeat):
            order = runs[rep % len(runs):] + runs[:rep % len(runs)]
            for name, workers, method in order:
                executors.start_method = method
                begin = time.perf_counter()
                frame = run_sweep(sweep, out_dir=tmp / f"out-{rep}-{workers}-{method()}",
                                  workers=workers, resume=False)
                walls[name].append(time.perf_counter() - begin)
                executors.start_method = forked
                assert (frame["status"] == "ok").all(), frame.loc[frame["status"] != "ok",
                                                                 "error"]
                if reference is None:
                    reference = frame.drop(columns=["wall_s"])
                pd.testing.assert_frame_equal(reference, frame.drop(columns=["wall_s"]))
                print(f"repetition {rep + 1}, {name}: {walls[name][-1]:6.2f} s wall "
                      f"(points {frame['wall_s'].mean():.2f} s each on average)")
        one = walls[runs[0][0]]
        for name, _, _ in runs[1:]:
            ratios = [a / b for a, b in zip(one, walls[name])]
            print(f"speed-up, {name} against 1: min {min(ratios):.2f}x, median "
                  f"{statistics.median(ratios):.2f}x over {len(ratios)} repetition(s) "
                  f"({', '.join(f'{r:.2f}' for r in ratios)}); issue 14 target >= 1.8x "
                  f"on 2 cores")
        print("tables identical except wall_s in every run")

        # The fixed cost of a point: a sweep of tiny points (10 samples), one worker.
        (tmp / "tiny").mkdir()
        (tmp / "warm").mkdir()
        tiny = load_sweep(sweep_file(tmp / "tiny", args.fixed_points, 10))
        run_sweep(load_sweep(sweep_file(tmp / "warm", 1, 10)), out_dir=tmp / "warm-out",
                  workers=1, resume=False)   # contact plan and imports warm
        begin = time.perf_counter()
        frame = run_sweep(tiny, out_dir=tmp / "tiny-out", workers=1, resume=False)
        wall = time.perf_counter() - begin
        per = frame["wall_s"].to_numpy(float)
        print(f"fixed cost of a point ({args.fixed_points} points of 10 samples, 1 worker): "
              f"{wall / len(frame):.3f} s of sweep wall time per point; a point's own run "
              f"min {per.min():.3f} s, median {statistics.median(per):.3f} s "
              f"(issue 14 target <= 0.1 s)")


if __name__ == "__main__":
    main()
