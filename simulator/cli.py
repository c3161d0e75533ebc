"""The ``spaceverse`` command line.

Every user mistake ends as one line on stderr (``error: ...``) and exit status 2;
warnings (stale TLE epochs, skipped records) go to stderr as ``warning: ...``.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from . import __version__
from .errors import SpaceverseError

logger = logging.getLogger("simulator")

DEFAULT_CATALOG = "starlink@2026-06-14"


class _LineFormatter(logging.Formatter):
    def format(self, record):
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    root = logging.getLogger("simulator")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    root.propagate = False


@contextmanager
def _progress(total: int, label: str, enabled: bool = True):
    """A rich progress bar (on stderr) that the caller advances by counts."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _print_table(title: str, frame, formats: dict) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        table.add_column(col, justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[formats.get(c, "{}").format(v) for c, v in zip(frame.columns, row)])
    Console(width=160).print(table)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="spaceverse")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """spaceverse: satellite-ground VLM inference in LEO constellations."""
    _setup_logging(verbose)


def _float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}",
                                 param_hint=option) from None
    if not values:
        raise click.BadParameter("expected at least one number", param_hint=option)
    return values


@cli.command()
@click.option("--tle", "constellation",
              help="Named catalog, TLE file, or walker:ALT:INC:PLANES:PER_PLANE[:F] "
                   f"[default: {DEFAULT_CATALOG}].")
@click.option("--name", "names", multiple=True,
              help="Keep satellites whose name matches (glob or substring); repeatable.")
@click.option("--station", "stations", multiple=True,
              help="NAME:LAT:LON[:ALT_M], a catalog station name, or network:NET; repeatable. "
                   "Default: Shanghai (the paper's station).")
@click.option("--stations-catalog", type=click.Path(dir_okay=False),
              help="Ground-station CSV used for names (default: the bundled catalog).")
@click.option("--min-elevation", type=click.FloatRange(-5, 90, max_open=True),
              help="Elevation mask in degrees for every station (default: each station's own).")
@click.option("--start", help="ISO 8601 start (default: the newest TLE epoch, rounded up to the hour).")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True, max=24 * 366),
              default=24.0, show_default=True)
@click.option("--step", "step_s", type=click.FloatRange(1, 600), default=60.0, show_default=True,
              help="Coarse grid step in seconds (accuracy does not depend on it).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the windows to FILE.csv or FILE.parquet.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a timeline figure (PNG/PDF).")
@click.option("--altitudes", help="Comma-separated altitudes (km): contact fraction vs altitude "
                                  "over Walker shells instead of a catalog.")
@click.option("--inclination", type=float, default=53.0, show_default=True,
              help="Walker-shell inclination for --altitudes.")
@click.option("--planes", type=click.IntRange(min=1), default=24, show_default=True)
@click.option("--per-plane", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--lenient", is_flag=True, help="Skip bad TLE records with a warning.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--no-cache", is_flag=True, help="Recompute even if a cached result exists.")
def contacts(constellation, names, stations, stations_catalog, min_elevation, start, hours,
             step_s, out, plot, altitudes, inclination, planes, per_plane, lenient, workers,
             no_cache):
    """Contact windows between satellites and ground stations."""
    from .orbits import contact_stats
    from .orbits.contacts import cached_contacts, write_table
    from .orbits.frames import as_utc
    from .orbits.stations import resolve_stations

    from .plots import check_figure_path

    if out and Path(out).suffix not in (".csv", ".parquet"):
        raise click.BadParameter(f"{out}: expected a file ending in .csv or .parquet",
                                 param_hint="--out")
    if plot:
        check_figure_path(plot)
    if altitudes is not None:
        clash = [opt for opt, value in (("--tle", constellation), ("--name", names),
                                         ("--start", start), ("--lenient", lenient),
                                         ("--no-cache", no_cache)) if value]
        if clash:
            raise click.UsageError(f"{', '.join(clash)}: not used with --altitudes "
                                   "(it builds synthetic Walker shells)")
    station_list = resolve_stations(list(stations) or ["Shanghai"], catalog_path=stations_catalog,
                                    min_elevation_deg=min_elevation)
    duration_s = hours * 3600.0
    if altitudes is not None:
        alts = _float_list(altitudes, "--altitudes")
        with _progress(len(alts), "altitudes") as advance:
            table = contact_stats.contact_fraction_by_altitude(
                alts, station_list, inclination_deg=inclination, planes=planes,
                per_plane=per_plane, duration_s=duration_s, step_s=step_s, workers=workers,
                progress=advance)
        _print_table(f"Contact fraction vs altitude (synthetic Walker shells, {planes}x{per_plane}, "
                     f"{inclination:g} deg; stations: {', '.join(s.name for s in station_list)})",
                     table.drop(columns="synthetic"),
                     {"mean_contact_fraction": "{:.2%}", "overhead_pass_fraction": "{:.2%}",
                      "pass_fraction_of_period": "{:.2%}",
                      "mean_pass_s": "{:.1f}", "passes_per_sat_day": "{:.2f}",
                      "altitude_km": "{:g}"})
        if out:
            write_table(table, Path(out))
            click.echo(f"wrote {out}")
        if plot:
            from .plots import contact_fraction_vs_altitude

            contact_fraction_vs_altitude(table, plot, title=(
                f"Synthetic Walker shells ({inclination:g} deg), "
                f"mask {max(s.min_elevation_deg for s in station_list):g} deg"))
            click.echo(f"wrote {plot}")
        return

    from .orbits.constellations import load_constellation
    from .orbits.tle import epoch_warnings

    const = load_constellation(constellation or DEFAULT_CATALOG, names=list(names) or None, lenient=lenient)
    t0 = as_utc(start) if start else const.default_start
    if const.catalog is not None:
        epoch_warnings(const.catalog, t0)
    n = len(const.orbits)
    with _progress(n, f"{n} satellites x {len(station_list)} stations") as advance:
        windows = cached_contacts(const.orbits, station_list, t0, duration_s, step_s=step_s,
                                  workers=workers, refresh=no_cache, progress=advance)
    summary = contact_stats.per_station(windows, duration_s, n)
    end = t0 + timedelta(seconds=duration_s)
    _print_table(f"{const.label}: {n} satellites, {t0:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, "
                 f"{len(windows)} passes", summary,
                 {"mean_pass_s": "{:.1f}", "mean_sat_contact_fraction": "{:.3%}",
                  "coverage_fraction": "{:.1%}"})
    missing = [s.name for s in station_list if s.name not in set(summary["station"])]
    if missing:
        click.echo(f"no passes at: {', '.join(missing)}")
    if out:
        write_table(windows, Path(out))
        click.echo(f"wrote {out}")
    if plot:
        from .plots import contact_timeline

        title = f"{const.label}: contact windows"
        if const.synthetic:
            title += " (synthetic constellation)"
        contact_timeline(windows, plot, duration_s=duration_s, title=title)
        click.echo(f"wrote {plot}")


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Results folder (default: the scenario's output.dir).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value, e.g. --set seed=3 --set link.rate_mbps=50.")
def run(scenario_file, out_dir, overrides):
    """Simulate a scenario; write results/<run-id>/ and print a summary."""
    from .config import load_scenario
    from .engine.world import run_scenario

    scenario = load_scenario(scenario_file, overrides)

    @contextmanager
    def simulated_time(horizon_s):
        with _progress(int(horizon_s), "simulated seconds") as advance:
            yield (lambda dt: advance(dt)) if advance else None

    result = run_scenario(scenario, out_dir=out_dir, progress_factory=simulated_time)
    _print_summary(result.summary)
    click.echo(f"wrote {result.folder}")


def _fmt(value, spec="{:.3f}"):
    return "-" if value is None else spec.format(value)


def _print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    trace = summary.get("trace", {})
    title = (f"{summary.get('scenario')} — policy {summary['policy']['name']}, "
             f"trace {trace.get('name')}" + (" (SYNTHETIC)" if summary.get("synthetic") else "")
             + f", preset {summary.get('preset', 'physical')}")
    table = Table(title=title, title_justify="left")
    for col in ("samples", "accuracy", "offload", "service mean s", "service p95 s",
                "in-contact mean s", "in-contact p95 s", "end-to-end mean s", "MB sent",
                "onboard", "ground", "dropped", "unfinished"):
        table.add_column(col, justify="right")
    ic, e2e, st = summary["in_contact_latency_s"], summary["end_to_end_latency_s"], summary["status"]
    sv = summary.get("service_latency_s") or {"mean": None, "p95": None}
    table.add_row(str(summary["samples"]), _fmt(summary["accuracy"], "{:.2%}"),
                  _fmt(summary["offload_fraction"], "{:.1%}"), _fmt(sv["mean"], "{:.2f}"),
                  _fmt(sv["p95"], "{:.2f}"), _fmt(ic["mean"], "{:.2f}"),
                  _fmt(ic["p95"], "{:.2f}"), _fmt(e2e["mean"], "{:.1f}"),
                  _fmt(summary["bytes_sent"] / 1e6, "{:.1f}"),
                  str(st["onboard"]), str(st["ground"]), str(st["dropped"]), str(st["unfinished"]))
    table.caption = ("service = each sample alone (the paper's per-sample latency); in-contact and "
                     "end-to-end = under this run's load")
    Console(width=200).print(table)


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--policies", help="Comma-separated policies (default: satellite-only, ground-only, "
                                 "tabi, ai-rg, spaceverse, oracle).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value for every policy.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Results folder (default: the scenario's output.dir).")
@click.option("--same-compression", is_flag=True,
              help="Use the scenario's compression for every policy (default: only SpaceVerse "
                   "policies compress, as in the paper).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
              help="Also write the comparison table to FILE.csv.")
def compare(scenario_file, policies, overrides, out_dir, same_compression, csv_path):
    """Run several policies on one scenario; print accuracy, latency, offload, bytes (Fig. 9)."""
    from .compare import DEFAULT_POLICIES, compare_policies, verdict
    from .orbits.contacts import write_table

    names = ([p.strip() for p in policies.split(",") if p.strip()] if policies
             else list(DEFAULT_POLICIES))
    with _progress(len(names), "policies") as advance:
        def step(policy):
            logger.info("policy %s done", policy)
            if advance:
                advance(1)

        table = compare_policies(scenario_file, names, overrides=overrides, out_dir=out_dir,
                                 same_compression=same_compression, progress=step)
    synthetic = bool(table["synthetic"].any())
    title = (f"{scenario_file}: policies compared (accuracy over all samples; latencies of "
             f"finished samples)" + (" — SYNTHETIC trace" if synthetic else ""))
    _print_table(title, table.drop(columns=["run", "synthetic"]),
                 {"accuracy": "{:.2%}", "in_contact_mean_s": "{:.2f}", "in_contact_p95_s": "{:.2f}",
                  "end_to_end_mean_s": "{:.0f}", "offload_fraction": "{:.1%}", "mb_sent": "{:.1f}"})
    click.echo(verdict(table))
    if csv_path:
        write_table(table, Path(csv_path))
        click.echo(f"wrote {csv_path}")


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def validate(scenario_file, overrides):
    """Check a scenario file (schema, catalogs, stations, policies, models) without running."""
    from .config import load_scenario
    from .engine.world import check_scenario

    scenario = load_scenario(scenario_file, overrides)
    facts = check_scenario(scenario)
    click.echo(f"{scenario_file}: valid — " + ", ".join(f"{k} {v}" for k, v in facts.items()))


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
def schema(out):
    """Print the JSON Schema of scenario files (for editors)."""
    import json

    from .config import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if out:
        Path(out).write_text(text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes.")
@click.option("--scheduler", help="Address of a Dask distributed scheduler (tcp://host:8786); "
                                  "the workers must see the output folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Sweep folder (default: results/sweeps/<name>).")
@click.option("--no-resume", is_flag=True, help="Recompute points already in the folder.")
def sweep(sweep_file, workers, scheduler, out_dir, no_resume):
    """Run every point of a sweep file (grid or zip of scenario values); resumable."""
    from .sweep import load_sweep, sweep_command

    total = len(load_sweep(sweep_file))
    with _progress(total, "sweep points") as advance:
        done_so_far = [0]

        def progress(done, total_, key):
            if advance:
                advance(done - done_so_far[0])
            done_so_far[0] = done

        table, folder = sweep_command(sweep_file, workers=workers, scheduler=scheduler,
                                      out_dir=out_dir, progress=progress, resume=not no_resume)
    failed = table[table["status"] != "ok"]
    cols = [c for c in ("point", "policy", "seed", "status", "accuracy_all", "in_contact_mean_s",
                        "offload_fraction") if c in table.columns]
    _print_table(f"sweep {folder}: {len(table) - len(failed)} of {len(table)} points ok",
                 table[cols], {"accuracy_all": "{:.2%}", "in_contact_mean_s": "{:.2f}",
                               "offload_fraction": "{:.1%}"})
    for row in failed.itertuples():
        click.echo(f"point {row.point} failed: {row.error}", err=True)
    click.echo(f"wrote {folder / 'sweep.parquet'}")


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Figure folder (default: RESULTS/figures).")
def plot(results, out_dir):
    """Make the figures of a run or sweep folder from its saved results (no re-running)."""
    from .plots import plot_results

    paths = plot_results(Path(results), Path(out_dir) if out_dir else None)
    for path in paths:
        click.echo(f"wrote {path}")
    if not paths:
        click.echo("no figure applies to these results")


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="HTML file (default: RESULTS/report.html).")
def report(results, out):
    """Write a self-contained HTML report (scenario, tables, figures inline) for results."""
    from .report import write_report

    click.echo(f"wrote {write_report(Path(results), Path(out) if out else None)}")


@cli.command()
@click.option("--full", is_flag=True, help="Paper-size synthetic workloads (slow).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--scheduler", help="Dask scheduler address for the sweeps.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Results folder (default: results/reproduce).")
@click.option("--figures", "figures_dir", type=click.Path(file_okay=False),
              help="Also copy the PNG figures and the table here (e.g. scenarios/paper/figures).")
def reproduce(full, workers, scheduler, out_dir, figures_dir):
    """Run the paper's sweeps, make every figure and the paper-vs-ours table."""
    from .reproduce import SWEEPS, reproduce as run_all, table_markdown

    with _progress(len(SWEEPS), "paper sweeps") as advance:
        finished = set()

        def progress(name, done, total):
            if done == total and name not in finished:
                finished.add(name)
                if advance:
                    advance(1)

        result = run_all(out_dir=Path(out_dir) if out_dir else None, full=full, workers=workers,
                         scheduler=scheduler, progress=progress,
                         figures_dir=Path(figures_dir) if figures_dir else None)
    click.echo(table_markdown(result["table"]))
    click.echo(f"wrote {result['out'] / 'paper-vs-ours.md'} and {len(result['figures'])} figures")


@cli.group()
def train():
    """Train learning policies (the progressive confidence network)."""


@train.command("confidence")
@click.option("--trace", required=True, help="Trace name or .parquet path.")
@click.option("--train-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True, help="Share of the trace rows to train on (§3.1).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Seed of the split and the network (a scenario with this seed holds out "
                   "the same rows).")
@click.option("--variant", type=click.Choice(["progressive", "g", "g-prime"]),
              default="progressive", show_default=True,
              help="g~ (progressive), or the ablations g (image features) and g' (full answer).")
@click.option("--stages", type=click.IntRange(min=1), default=2, show_default=True, help="I.")
@click.option("--stage-tokens", type=click.IntRange(min=1), default=16, show_default=True,
              help="N_t.")
@click.option("--out", type=click.Path(), help="Checkpoint path or folder "
                                               "(default: models/confidence/<trace>-<variant>.pt).")
def train_confidence(trace, train_fraction, seed, variant, stages, stage_tokens, out):
    """Train g~ with the loss of Eq. 1; write the checkpoint and its metadata."""
    import json

    from .policies.confidence import train_command

    path = train_command(trace, train_fraction, seed, out, points=stages,
                         stage_tokens=stage_tokens, variant=variant)
    meta_path = Path(path).with_suffix(".json")
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        best = meta.get("best_val_loss", meta.get("metrics", {}).get("best_val_loss"))
        click.echo(f"trained on {meta.get('n_train', '?')} rows; best validation loss {best}")
    click.echo(f"wrote {path}")


@cli.group()
def traces():
    """Inference traces: list, convert recorded predictions, record, synthesise."""


@traces.command("list")
@click.option("--folder", type=click.Path(file_okay=False), help="Another folder of traces.")
def traces_list(folder):
    """Every trace with its source, models, task, size, licence, real or synthetic."""
    import pandas as pd

    from .inference.traces import list_traces

    rows = list_traces(Path(folder) if folder else None)
    if not rows:
        click.echo("no traces found")
        return
    frame = pd.DataFrame(rows)
    frame["models"] = frame["models"].map(
        lambda m: f"{m.get('onboard')} / {m.get('ground')}" if isinstance(m, dict) else str(m))
    frame["kind"] = frame["synthetic"].map(lambda x: "SYNTHETIC" if x else "real")
    frame["MB"] = frame["path"].map(lambda p: Path(p).stat().st_size / 1e6)
    frame = frame.rename(columns={"n_samples": "samples"})
    cols = [c for c in ("name", "kind", "task", "samples", "MB", "models", "licence", "source")
            if c in frame.columns]
    _print_table("Traces", frame[cols], {"MB": "{:.2f}"})


@traces.command("convert")
@click.argument("source")
@click.option("--input", "input_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with the original prediction files of that source.")
@click.option("--out", "out_dir", default="models/traces", show_default=True,
              type=click.Path(file_okay=False))
def traces_convert(source, input_dir, out_dir):
    """Convert recorded model outputs (SOURCE: see --help of `traces converters`) to a trace."""
    from .inference.converters import convert

    for path in convert(source, Path(input_dir), Path(out_dir)):
        click.echo(f"wrote {path}")


@traces.command("converters")
def traces_converters():
    """List the converters of recorded predictions and the files each expects."""
    from .inference.converters import CONVERTERS

    for name, entry in CONVERTERS.items():
        description = entry[1] if isinstance(entry, tuple) and len(entry) > 1 else ""
        click.echo(f"{name:36s} {description}")


@traces.command("synth")
@click.option("--task", type=click.Choice(["vqa", "classification", "detection", "mixed"]),
              default="vqa", show_default=True)
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", "out_dir", default="models/traces", show_default=True,
              type=click.Path(file_okay=False))
def traces_synth(task, samples, seed, out_dir):
    """Write a seeded SYNTHETIC trace (its name says so)."""
    from .inference.synthetic import generate_synthetic
    from .inference.traces import write_trace

    trace = generate_synthetic(task=task, samples=samples, seed=seed)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = write_trace(trace, Path(out_dir) / f"{trace.name}.parquet")
    click.echo(f"wrote {path} (synthetic)")


@traces.command("record")
@click.option("--model-dir", required=True, type=click.Path(file_okay=False),
              help="Onboard VLM (Qwen2-VL family) saved with save_pretrained.")
@click.option("--ground-model-dir", type=click.Path(file_okay=False),
              help="Ground VLM (default: the same as --model-dir).")
@click.option("--dataset", required=True, help="A bundled image set (see `traces datasets`).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Trace file to write (.parquet; a .json sidecar is written beside it).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32",
              show_default=True)
@click.option("--stage-tokens", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples.")
def traces_record(model_dir, ground_model_dir, dataset, out_file, device, dtype, stage_tokens,
                  max_new_tokens, limit):
    """Run real models over a dataset and record a trace the cached backend replays."""
    from .inference.images import load_image_set
    from .inference.metrics import score
    from .inference.record import record_trace
    from .inference.traces import write_trace
    from .inference.transformers_backend import QwenVLBackend

    samples = load_image_set(dataset)[:limit]
    onboard = QwenVLBackend(model_dir, device=device, dtype=dtype, max_new_tokens=max_new_tokens)
    ground = (onboard if not ground_model_dir else
              QwenVLBackend(ground_model_dir, device=device, dtype=dtype,
                            max_new_tokens=max_new_tokens))
    items = [(s.sample_id, s.image, s.prompt, s.reference, s.task) for s in samples]
    trace = record_trace(onboard, ground, items, stage_tokens=stage_tokens, scorer=score,
                         name=Path(out_file).stem, source=f"recorded on {onboard.device_name} "
                                                          f"over {dataset}")
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    path = write_trace(trace, Path(out_file))
    click.echo(f"wrote {path} ({len(trace.table)} samples)")


@traces.command("datasets")
def traces_datasets():
    """List the bundled image sets usable by `traces record`."""
    from .inference.images import list_image_sets

    for name, description in list_image_sets().items():
        click.echo(f"{name:32s} {description}")


@cli.command()
def catalogs():
    """List the bundled TLE catalogs and ground-station networks."""
    from .orbits.stations import load_station_catalog, networks
    from .orbits.tle import list_catalogs

    for name, path in list_catalogs().items():
        click.echo(f"{name:28s} {path}")
    stations = load_station_catalog()
    click.echo(f"\nground stations: {len(stations)} in networks {', '.join(networks(stations))}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line and exit 2 for any user mistake."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:  # bare `spaceverse`: the help text, not an error squashed into one line
        args = ["--help"]
    try:
        code = cli.main(args=args, prog_name="spaceverse", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        code = 130
    except click.ClickException as exc:
        message = exc.format_message().replace("\n", " ")
        click.echo(f"error: {message}", err=True)
        code = 2
    except SpaceverseError as exc:
        click.echo(f"error: {exc}", err=True)
        code = 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
