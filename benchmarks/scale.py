"""Benchmark: how a run's time and memory grow with satellites, stations, hours and samples.

    python benchmarks/scale.py              # the sweep (long: the largest points take minutes)
    python benchmarks/scale.py --quick      # a smoke test of the same machinery (~1 minute)
    python benchmarks/scale.py --axes samples --max-samples 1000000

One axis at a time around a base point, each point a whole run (``run_scenario``: the
world, the simulation, the per-sample log and the results folder) in a fresh
subprocess, so that its peak resident memory is its own:

========== ============================================== ===========================
axis       values                                         base
========== ============================================== ===========================
satellites 10, 100, 1,000, 3,000, 10,544 (the whole        1,000
           2026-06-14 Starlink catalogue, spread subsets)
stations   1, 10, 36, 100 (catalogue stations: KSAT, NEN,   36 (KSAT)
           Leaf, Atlas, AWS, SSC, Viasat, in that order)
hours      24, 48, 96, 168 (simulated: captures in the      48
           first half, the second half drains)
samples    10k, 100k, 1M, 10M (spread evenly)               100,000
========== ============================================== ===========================

Every point offloads every sample (ground-only, raw images, no compression: the most
work per sample) over TCP on a 110.67 Mbps link, the paper's compute, one seed.
Per point: wall time of the contact search (``contacts``: cached across points with
the same satellites, stations and hours, and marked so), of the rest of building the
world (``build``), of the event loop (``engine``; ``ranges``: the part of it spent
sampling slant ranges of the contact windows that carry a transfer), of the per-sample
log (``log``) and of writing the results folder (``write``); the SimPy events; the
peak resident memory of the process (``peak_rss_mb``: ``ru_maxrss``; the contact
search's worker processes, if any, are not included).

Writes ``benchmarks/results/scale.csv`` (one row per point, the base point once per
axis) and ``benchmarks/results/scale.png`` (log-log: time and memory per axis).
``--skip-over-s`` leaves out points whose estimate (from the points before it on the
same axis) exceeds that many seconds; skipped points are listed in the CSV with
``status = skipped``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATALOG = "starlink@2026-06-14"
CATALOG_SIZE = 10_544
START = "2026-06-14T00:00:00Z"
NETWORKS = ("ksat", "nen", "leaf", "atlas", "aws", "ssc", "viasat")

BASE = {"satellites": 1000, "stations": 36, "hours": 48, "samples": 100_000}
AXES = {"satellites": [10, 100, 1000, 3000, CATALOG_SIZE],
        "stations": [1, 10, 36, 100],
        "hours": [24, 48, 96, 168],
        "samples": [10_000, 100_000, 1_000_000, 10_000_000]}
QUICK_BASE = {"satellites": 20, "stations": 3, "hours": 12, "samples": 2000}
QUICK_AXES = {"satellites": [5, 20, 60], "stations": [1, 3, 10], "hours": [6, 12, 24],
              "samples": [500, 2000, 8000]}

FIELDS = ["axis", "satellites", "stations", "hours", "samples", "status", "contacts_s",
          "contacts_cached", "build_s", "engine_s", "ranges_s", "log_s", "write_s", "total_s",
          "peak_rss_mb", "events", "windows", "transmitted", "note"]


def station_names(count: int) -> list[str]:
    """The first ``count`` stations of the packaged catalogue, network by network."""
    from simulator.orbits.stations import load_station_catalog

    catalog = load_station_catalog()
    names = [s.name for net in NETWORKS for s in catalog if s.network == net]
    if count > len(names):
        raise SystemExit(f"only {len(names)} stations in the networks {NETWORKS}")
    return names[:count]


def overrides(point: dict) -> list[str]:
    hours = float(point["hours"])
    stations = json.dumps([{"name": n} for n in station_names(point["stations"])])
    return [
        f"time.start={START}", f"time.duration_h={hours / 2:g}", f"time.drain_h={hours / 2:g}",
        f"constellation.catalog={CATALOG}",
        f"constellation.select={{count: {int(point['satellites'])}, strategy: spread}}",
        f"ground_stations={stations}",
        "workload.rate_per_satellite_h=null", "workload.arrival=uniform",
        f"workload.synthetic.samples={int(point['samples'])}",
        f"workload.samples={int(point['samples'])}",
        "workload.train_fraction=0", "policy.allocation=ground-only", "policy.params={}",
        "policy.compression.method=none", "policy.compression.params={}",
    ]


def run_point(point: dict, out_dir: Path) -> dict:
    """One whole run, timed phase by phase (in this process)."""
    import logging

    from simulator.config import load_scenario
    from simulator.engine import simulation, world

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s")
    times = {"contacts_s": 0.0, "engine_s": 0.0, "log_s": 0.0, "write_s": 0.0, "build_s": 0.0}
    facts = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name] += time.perf_counter() - begin
        return wrapper

    plan_fn, build_fn, log_fn = world.contact_plan, world.build_world, world.sample_log
    cache = Path(os.environ["SPACEVERSE_CACHE"]) / "contacts"
    before = set(cache.glob("*.parquet")) if cache.exists() else set()

    def contact_plan(*args, **kwargs):
        plan = timed("contacts_s", plan_fn)(*args, **kwargs)
        facts["windows"] = int(sum(len(w) for w in plan.windows))
        return plan

    run = simulation.Simulation.run

    def engine(self, *args, **kwargs):
        out = timed("engine_s", run)(self, *args, **kwargs)
        facts["events"] = out.events
        ranges = getattr(getattr(self.net.propagation_s, "range_km", None), "__self__", None)
        facts["ranges_s"] = getattr(ranges, "sampling_s", 0.0)
        return out

    world.contact_plan = contact_plan
    world.build_world = timed("build_s", build_fn)
    world.sample_log = timed("log_s", log_fn)
    simulation.Simulation.run = engine
    import simulator.results as results
    write_fn = results.write_run
    results.write_run = timed("write_s", write_fn)
    scenario = load_scenario(ROOT / "scenarios" / "default.yaml", overrides(point))
    begin = time.perf_counter()
    result = world.run_scenario(scenario, out_dir=out_dir)
    total = time.perf_counter() - begin
    after = set(cache.glob("*.parquet")) if cache.exists() else set()
    status = result.samples["status"]
    # ranges sampled during the per-sample log (service latency) count there, not here
    row = {**point, "status": "ok", "contacts_cached": not (after - before),
           "contacts_s": times["contacts_s"],
           "build_s": times["build_s"] - times["contacts_s"],
           "engine_s": times["engine_s"], "ranges_s": facts.get("ranges_s", 0.0),
           "log_s": times["log_s"], "write_s": times["write_s"], "total_s": total,
           "events": facts.get("events"), "windows": facts.get("windows"),
           "transmitted": int((status == "ground").sum()),
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    return row


def child(point: dict, out_dir: Path, timeout_s: float) -> dict:
    """Run one point in a fresh interpreter; its row (or why it failed)."""
    cmd = [sys.executable, __file__, "--point", json.dumps(point), "--out-dir", str(out_dir)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {**point, "status": "timeout", "note": f"over {timeout_s:g} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return {**point, "status": "failed", "note": tail[0][:200]}


def plan_points(base: dict, axes: dict) -> list[tuple[str, dict]]:
    return [(axis, {**base, axis: value}) for axis, values in axes.items() for value in values]


def estimate(done: list[dict], axis: str, value: float) -> float | None:
    """Seconds for the next point on ``axis``: a power law through the last two."""
    import math

    ok = [r for r in done if r["axis"] == axis and r["status"] == "ok"]
    if len(ok) < 2:
        return None
    a, b = ok[-2], ok[-1]
    if a[axis] == b[axis] or a["total_s"] <= 0 or b["total_s"] <= 0:
        return None
    slope = math.log(b["total_s"] / a["total_s"]) / math.log(b[axis] / a[axis])
    return b["total_s"] * (value / b[axis]) ** max(slope, 1.0)


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = [a for a in ("satellites", "stations", "hours", "samples")
                  if any(r["axis"] == a for r in rows)]
    fig, grid = plt.subplots(2, len(axes_names), figsize=(4.2 * len(axes_names), 7.5),
                             squeeze=False)
    parts = [("contacts_s", "contacts"), ("build_s", "build"), ("engine_s", "engine"),
             ("log_s", "per-sample log"), ("write_s", "writing"), ("total_s", "total")]
    for col, axis in enumerate(axes_names):
        pts = sorted((r for r in rows if r["axis"] == axis and r["status"] == "ok"),
                     key=lambda r: r[axis])
        x = [r[axis] for r in pts]
        top, bottom = grid[0][col], grid[1][col]
        for key, label in parts:
            y = [max(float(r[key]), 1e-3) for r in pts]
            style = {"lw": 2.5, "color": "black"} if key == "total_s" else {"marker": "o"}
            top.plot(x, y, label=label, **style)
        bottom.plot(x, [r["peak_rss_mb"] for r in pts], marker="o", color="tab:red")
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_xticks(x, [f"{v:,.0f}" if v < 1e6 else f"{v / 1e6:g}M" for v in x])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.tick_params(axis="x", labelsize=8)
        skipped = [r[axis] for r in rows if r["axis"] == axis and r["status"] != "ok"]
        title = axis + (f" (not run: {', '.join(f'{v:,}' for v in skipped)})" if skipped else "")
        top.set_title(title, fontsize=10)
        bottom.set_xlabel(axis)
        if col == 0:
            top.set_ylabel("wall time (s)")
            bottom.set_ylabel("peak RSS (MB)")
    grid[0][0].legend(fontsize=8)
    base = BASE if any(r.get("axis") == "satellites" and r["satellites"] == BASE["satellites"]
                       for r in rows) else QUICK_BASE
    cached = sum(str(r.get("contacts_cached")) == "True" for r in rows if r["status"] == "ok")
    fig.suptitle("spaceverse run, one axis at a time around the base point "
                 + ", ".join(f"{k} {v:,}" for k, v in base.items())
                 + f" (SYNTHETIC trace, ground-only, TCP, one process per point; contact plan "
                 f"from the cache "
                 f"for {cached} of {sum(r['status'] == 'ok' for r in rows)} points)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small points: a smoke test")
    parser.add_argument("--axes", default="satellites,stations,hours,samples")
    parser.add_argument("--max-samples", type=int, default=None,
                        help="leave out sample counts above this")
    parser.add_argument("--skip-over-s", type=float, default=900.0,
                        help="leave out points estimated to take longer (default 900 s)")
    parser.add_argument("--timeout-s", type=float, default=2400.0)
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--cache", default=None,
                        help="contact cache folder (default: a folder under /tmp kept between "
                             "runs of this benchmark)")
    parser.add_argument("--point", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.point:  # a child: one run, one JSON line
        row = run_point(json.loads(args.point), Path(args.out_dir))
        print(json.dumps(row))
        return

    import tempfile

    os.environ["SPACEVERSE_CACHE"] = args.cache or str(
        Path(tempfile.gettempdir()) / ("spaceverse-scale-cache" + ("-quick" if args.quick else "")))
    base, axes = (QUICK_BASE, QUICK_AXES) if args.quick else (BASE, AXES)
    wanted = [a.strip() for a in args.axes.split(",") if a.strip()]
    axes = {a: [v for v in axes[a] if a != "samples" or args.max_samples is None
                or v <= args.max_samples] for a in wanted}
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    name = "scale-quick" if args.quick else "scale"
    rows: list[dict] = []
    print(f"{len(plan_points(base, axes))} points, base {base}; contact cache "
          f"{os.environ['SPACEVERSE_CACHE']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="spaceverse-scale-") as tmp:
        for axis, point in plan_points(base, axes):
            guess = estimate(rows, axis, point[axis])
            if guess is not None and guess > args.skip_over_s:
                rows.append({"axis": axis, **point, "status": "skipped",
                             "note": f"estimated {guess:,.0f} s > --skip-over-s"})
                print(f"{axis:>10} = {point[axis]:>10,}: skipped (estimated {guess:,.0f} s)",
                      flush=True)
                continue
            row = {"axis": axis, **child(point, Path(tmp) / f"{axis}-{point[axis]}",
                                         args.timeout_s)}
            rows.append(row)
            if row["status"] == "ok":
                print(f"{axis:>10} = {point[axis]:>10,}: total {row['total_s']:7.1f} s "
                      f"(contacts {row['contacts_s']:6.1f}{'*' if row['contacts_cached'] else ' '}"
                      f" build {row['build_s']:6.1f} engine {row['engine_s']:6.1f} "
                      f"[ranges {row['ranges_s']:5.1f}] log {row['log_s']:5.1f} "
                      f"write {row['write_s']:5.1f}), peak {row['peak_rss_mb']:7.0f} MB",
                      flush=True)
            else:
                print(f"{axis:>10} = {point[axis]:>10,}: {row['status']} {row.get('note', '')}",
                      flush=True)
            with open(results / f"{name}.csv", "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
                writer.writeheader()
                for r in rows:
                    writer.writerow({k: (f"{v:.3f}" if isinstance(v, float) else v)
                                     for k, v in r.items() if k in FIELDS})
    figure(rows, results / f"{name}.png")
    print(f"wrote {results / (name + '.csv')} and {results / (name + '.png')} "
          f"(* = contact plan from the cache)")


if __name__ == "__main__":
    main()
