"""Benchmark: the event-driven simulation with 100,000 samples over 10 satellites.

    python benchmarks/simulate.py              # 100,000 samples (issue 3 target: <= 60 s)
    python benchmarks/simulate.py --samples 20000

Runs the default scenario (the paper's 10 satellites of the 570 km shell, one
Shanghai station, 110.67 Mbps) with the cached backend on a synthetic VQA trace,
every sample offloaded (ground-only: the most events per sample), and prints

* wall time of building the world, of the event loop and of the per-sample log;
* SimPy events per second of the event loop;
* the same count of events in a bare SimPy loop (processes yielding timeouts),
  measured in the same run, and the ratio of the two (target >= 0.25).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import simpy  # noqa: E402

from simulator.config import load_scenario  # noqa: E402
from simulator.engine.simulation import Simulation  # noqa: E402
from simulator.engine.world import build_world, sample_log  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def bare_simpy(events: int, processes: int = 10) -> float:
    """Seconds for ``events`` timeout events spread over ``processes`` processes."""
    env = simpy.Environment()
    per = events // processes

    def proc(env):
        for _ in range(per):
            yield env.timeout(1.0)

    for _ in range(processes):
        env.process(proc(env))
    begin = time.perf_counter()
    env.run()
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--policy", default="ground-only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")

    scenario = load_scenario(ROOT / "scenarios" / "default.yaml", [
        f"workload.synthetic.samples={args.samples}", f"policy.allocation={args.policy}",
        "policy.params={}", "policy.compression.method=none", "policy.compression.params={}",
        "workload.train_fraction=0"])
    begin = time.perf_counter()
    world = build_world(scenario)
    built = time.perf_counter() - begin
    begin = time.perf_counter()
    out = Simulation(world.sample_inputs, world.network).run()
    loop = time.perf_counter() - begin
    begin = time.perf_counter()
    samples = sample_log(world, out)
    logged = time.perf_counter() - begin
    total = built + loop + logged
    events = out.events
    rate = events / loop
    bare = bare_simpy(events)
    bare_rate = events / bare
    status = samples["status"].value_counts().to_dict()
    print(f"scenario default: {len(world.orbits)} satellites, {len(world.stations)} station(s), "
          f"{args.samples} samples (synthetic trace), policy {args.policy}")
    print(f"build world          : {built:6.2f} s (contact plan from cache if present)")
    print(f"event loop           : {loop:6.2f} s, {events:,} events, {rate:,.0f} events/s")
    print(f"per-sample log       : {logged:6.2f} s")
    print(f"total                : {total:6.2f} s (target <= 60 s)")
    print(f"bare SimPy, same events: {bare:6.2f} s, {bare_rate:,.0f} events/s")
    print(f"ratio to bare SimPy  : {rate / bare_rate:.2f} (target >= 0.25)")
    print(f"outcome              : {status}")


if __name__ == "__main__":
    main()
