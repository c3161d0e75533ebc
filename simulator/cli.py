"""The ``spaceverse`` command line.

Every user mistake ends as one line on stderr (``error: ...``) and exit status 2;
warnings (stale TLE epochs, skipped records) go to stderr as ``warning: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from . import __version__
from .errors import InputError, SpaceverseError

logger = logging.getLogger("simulator")

DEFAULT_CATALOG = "starlink@2026-06-14"
#: Most satellites of one synthetic Walker shell (``contacts --altitudes``).
MAX_SHELL_SATELLITES = 20_000


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


def _cell(value, spec: str) -> str:
    """One table cell: ``spec`` applied to ``value``; a missing value (None, NaN) is ``-``."""
    import pandas as pd

    try:
        if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
            return "-"
    except (TypeError, ValueError):  # an array-like value: printed as it is
        pass
    try:
        return spec.format(value)
    except (TypeError, ValueError):
        return str(value)


def _print_table(title: str, frame, formats: dict, *, fit: bool = False) -> None:
    """``frame`` as a table, 160 columns wide; with ``fit``, as wide as its content needs
    (up to 320 columns) so that no header or cell is folded."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    width = 160
    if fit:
        cells = [[str(c)] + [_cell(v, formats.get(c, "{}")) for v in frame[c]]
                 for c in frame.columns]
        width = min(320, max(width, sum(max(len(t) for t in col) + 3 for col in cells) + 1))
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v, formats.get(c, "{}")) for c, v in zip(frame.columns, row)])
    Console(width=width).print(table)


def _out_file(path, option: str, what: str = "file", suffixes: tuple[str, ...] = ()) -> Path | None:
    """Check a file a command will write, before any work; one-line error if it cannot be.

    ``path`` must not be a folder, its nearest existing ancestor must be a folder (missing
    folders are created on writing) and, with ``suffixes``, it must end in one of them.
    """
    if path is None:
        return None
    from .report import check_output_file

    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{path}: expected a file ending in {' or '.join(suffixes)}",
                                 param_hint=option)
    try:
        return check_output_file(out, what)
    except SpaceverseError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _out_folder(path, option: str, what: str = "results") -> Path | None:
    """Check a folder a command will write into, before any work: it must be a folder or not
    exist yet, under an existing folder (missing ones in between are created)."""
    if path is None:
        return None
    from .report import probe_folder

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{path}: not a folder, cannot write the {what} there",
                                 param_hint=option)
    ancestor = out
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise click.BadParameter(f"{path}: {ancestor} is not a folder, cannot write the "
                                 f"{what} there", param_hint=option)
    problem = probe_folder(ancestor)
    if problem:
        raise click.BadParameter(f"{path}: cannot write the {what} there ({problem})",
                                 param_hint=option)
    return out


def _make_folder(path: Path, option: str, what: str = "results") -> Path:
    """Create the output folder ``path`` (and its parents); one line if that fails."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(f"{path}: cannot create the {what} folder "
                                 f"({exc.strerror or exc})", param_hint=option) from None
    return path


class _FigureChoice(click.Choice):
    """A figure name of :data:`simulator.plots.FIGURES`, listed only when needed (the figures
    package imports matplotlib, which the other commands do without)."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        from .plots import FIGURES

        return tuple(FIGURES)

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns; the names are FIGURES
        pass


class _FloatRange(click.FloatRange):
    """:class:`click.FloatRange` that also refuses NaN and infinities (which pass its bounds)."""

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _stdout_broken() -> bool:
    """Whether standard output can no longer be written (a closed pipe, a full device)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return True
    return False


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the flush at exit does not fail again."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (captured output): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _from_stdout(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while writing standard output (a local of one of the
    innermost frames is the stream, its buffer, or a console printing to it)."""
    streams = [s for s in (sys.stdout, sys.__stdout__) if s is not None]
    streams += [getattr(s, "buffer", None) for s in streams]
    streams = [s for s in streams if s is not None]
    tb, frames = exc.__traceback__, []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in frames[-4:]:
        for value in list(frame.f_locals.values()):
            if any(value is s or getattr(value, "file", None) is s for s in streams):
                return True
    return False


class _Cli(click.Group):
    """The command group: output that cannot be written (``spaceverse schema > /dev/full``,
    ``spaceverse catalogs | head -0``) is a one-line error, not a traceback.

    Commands defined in other modules (:attr:`lazy_commands`) are imported only when they
    are run or listed, so that ``spaceverse run`` does not import the viewer.
    """

    #: name -> "module:attribute" of a command imported on first use.
    lazy_commands = {"view": "simulator.view.command:view"}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None and name in self.lazy_commands:
            import importlib

            module, attribute = self.lazy_commands[name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, name)
        return command

    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
        except OSError as exc:
            if not (_from_stdout(exc) or _stdout_broken()):
                raise  # not standard output: whoever raised it says what it was
            _silence_stdout()
            raise InputError(f"standard output: cannot write ({exc.strerror or exc})") from None
        if _stdout_broken():
            _silence_stdout()
            raise InputError("standard output: cannot write the output (closed or full)")
        return result


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
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
    import math

    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise click.BadParameter(f"expected finite numbers, got {bad[0]:g} in {text!r}",
                                 param_hint=option)
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
@click.option("--min-elevation", type=_FloatRange(-5, 90, max_open=True),
              help="Elevation mask in degrees for every station (default: each station's own).")
@click.option("--start", help="ISO 8601 start (default: the newest TLE epoch, rounded up to the hour).")
@click.option("--hours", type=_FloatRange(min=0, min_open=True, max=24 * 366),
              default=24.0, show_default=True)
@click.option("--step", "step_s", type=_FloatRange(1, 600), default=60.0, show_default=True,
              help="Coarse grid step in seconds (accuracy does not depend on it).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the windows to FILE.csv or FILE.parquet.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a timeline figure (PNG/PDF).")
@click.option("--altitudes", help="Comma-separated altitudes (km): contact fraction vs altitude "
                                  "over Walker shells instead of a catalog.")
@click.option("--inclination", type=_FloatRange(0, 180), default=53.0, show_default=True,
              help="Walker-shell inclination for --altitudes (degrees).")
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

    _out_file(out, "--out", "contact windows", (".csv", ".parquet"))
    if plot:
        check_figure_path(plot)
        _out_file(plot, "--plot", "figure")
    if altitudes is not None and planes * per_plane > MAX_SHELL_SATELLITES:
        raise click.BadParameter(f"--planes {planes} x --per-plane {per_plane} = "
                                 f"{planes * per_plane} satellites; at most "
                                 f"{MAX_SHELL_SATELLITES} in a shell", param_hint="--planes")
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

    _out_folder(out_dir, "--out")
    scenario = load_scenario(scenario_file, overrides)

    @contextmanager
    def simulated_time(horizon_s):
        with _progress(int(horizon_s), "simulated seconds") as advance:
            yield (lambda dt: advance(dt)) if advance else None

    result = run_scenario(scenario, out_dir=out_dir, progress_factory=simulated_time)
    _print_summary(result.summary)
    _print_warnings(result.summary.get("warnings") or [])
    click.echo(f"wrote {result.folder}")


#: The rows of the table ``spaceverse run`` prints: metric names of simulator.results.METRICS.
RUN_SHOWN = ("accuracy_every_answer", "accuracy_all_samples", "accuracy_finished_samples",
             "service_mean_s", "service_p95_s", "in_contact_mean_s", "in_contact_p95_s",
             "end_to_end_mean_s", "offload_fraction", "bytes_sent")


def _print_summary(summary: dict) -> None:
    """A run's summary: every shown metric with its value and what it counts."""
    import pandas as pd

    from .results import METRICS, format_value, summary_value

    trace = summary.get("trace") or {}
    policy = summary.get("policy")
    name = policy.get("name") if isinstance(policy, dict) else policy
    title = (f"{summary.get('scenario')} — policy {name}, trace {trace.get('name')}"
             + (" (SYNTHETIC)" if summary.get("synthetic") else "")
             + f", preset {summary.get('preset', 'physical')}")
    status = summary.get("status") or {}
    pool = summary.get("train_samples")
    samples = format_value("samples", summary.get("samples"))
    if isinstance(pool, int) and not isinstance(pool, bool) and pool:
        samples += f" (+{pool:,} rows in the training pool)"
    rows = [{"metric": "samples", "value": samples, "what it counts": METRICS["samples"].what},
            {"metric": "status", "value": ", ".join(f"{k} {v:,}" for k, v in status.items()
                                                    if isinstance(v, int)),
             "what it counts": "where each sample ended: answered onboard, on the ground, "
                               "dropped (buffer full), unfinished when the run ended"}]
    for metric in RUN_SHOWN:
        rows.append({"metric": metric, "value": format_value(metric,
                                                             summary_value(summary, metric)),
                     "what it counts": METRICS[metric].what})
    _print_table(title, pd.DataFrame(rows), {})


def _print_warnings(warnings) -> None:
    """Degenerate results, one ``warning:`` line each on stderr."""
    for w in warnings:
        text = w.get("message", str(w)) if isinstance(w, dict) else str(w)
        click.echo(f"warning: {text}", err=True)


def _metric_cells(frame, names):
    """``frame`` with the metric columns ``names`` formatted as every table prints them."""
    from .results import format_value

    frame = frame.copy()
    for name in names:
        if name in frame.columns:
            frame[name] = [format_value(name, v) for v in frame[name]]
    return frame


def _legend(names) -> None:
    """What each metric column of the table above counts."""
    from .results import definition

    for name in names:
        click.echo(f"  {definition(name)}")


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--policies", help="Comma-separated policies (default: satellite-only, ground-only, "
                                 "tabi, ai-rg, spaceverse, oracle).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value for every policy.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Comparison folder (default: <output.dir>/compare/<scenario name>).")
@click.option("--same-compression", is_flag=True,
              help="Use the scenario's compression for every policy (default: only SpaceVerse "
                   "policies compress, as in the paper).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
              help="Also write the comparison table to FILE.csv.")
@click.option("--plot", "make_plot", is_flag=True, help="Also draw its figures (spaceverse plot).")
@click.option("--report", "make_report", is_flag=True,
              help="Also write its HTML report (spaceverse report).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes (one policy each).")
@click.option("--no-resume", is_flag=True, help="Recompute policies already in the folder.")
def compare(scenario_file, policies, overrides, out_dir, same_compression, csv_path, make_plot,
            make_report, workers, no_resume):
    """Run several policies on one scenario (a sweep over policies); print accuracy,
    latency, offload, bytes and the Pareto verdict (Fig. 9).  Resumable."""
    from .compare import DEFAULT_POLICIES, SHOWN, compare_policies, noise_warnings, verdicts
    from .orbits.contacts import write_table

    names = ([p.strip() for p in policies.split(",") if p.strip()] if policies is not None
             else list(DEFAULT_POLICIES))
    if not names:
        raise click.BadParameter(f"no policy in {policies!r}; expected comma-separated policy "
                                 "names", param_hint="--policies")
    _out_folder(out_dir, "--out", "comparison")
    _out_file(csv_path, "--csv", "comparison table", (".csv",))
    with _progress(len(names), "policies") as advance:
        def step(policy):
            logger.info("policy %s done", policy)
            if advance:
                advance(1)

        table = compare_policies(scenario_file, names, overrides=overrides, out_dir=out_dir,
                                 same_compression=same_compression, progress=step,
                                 workers=workers, resume=not no_resume)
    folder = Path(table.attrs["out_dir"])
    synthetic = bool(table["synthetic"].any())
    title = (f"{scenario_file}: policies compared" + (" — SYNTHETIC trace" if synthetic else "")
             + f" ({len(table.attrs.get('computed', []))} computed, "
               f"{len(table.attrs.get('cached', []))} read back)")
    metrics = [c for c in SHOWN if c not in ("policy", "pareto", "pareto_under_load", "mb_sent",
                                             "finished")]
    _print_table(title, _metric_cells(table[SHOWN], metrics), {"mb_sent": "{:.1f}"}, fit=True)
    _legend(metrics)
    click.echo("  pareto: on the front of accuracy_every_answer vs service_mean_s; "
               "pareto_under_load: of accuracy_all_samples vs in_contact_mean_s (the oracle "
               "is never a contender)")
    for sentence in verdicts(table):
        click.echo(sentence)
    messages = [m for cell in table["warnings"] for m in str(cell or "").split("; ") if m]
    _print_warnings(list(dict.fromkeys(messages + noise_warnings(table))))
    failed = table[table["status"] != "ok"]
    if csv_path:
        write_table(table, Path(csv_path))
        click.echo(f"wrote {csv_path}")
    click.echo(f"wrote {folder / 'sweep.parquet'}")
    if not failed.empty:
        first = failed.iloc[0]
        raise InputError(f"policy {first['policy']} {first['status']}"
                         + (f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""))
    _plot_and_report(folder, make_plot, make_report)


def _plot_and_report(folder: Path, make_plot: bool, make_report: bool) -> None:
    if make_plot:
        from .plots import plot_results

        paths = plot_results(folder)
        for path in paths:
            click.echo(f"wrote {path}")
        if not paths:
            click.echo("no figure applies to these results")
    if make_report:
        from .report import write_report

        click.echo(f"wrote {write_report(folder)}")


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
        from .report import write_output_file

        _out_file(out, "--out", "schema")
        write_output_file(Path(out), text.encode("utf-8"), "schema")
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
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value for every point (after the file's set, before "
                   "the axes), e.g. --set workload.samples=100.")
@click.option("--no-resume", is_flag=True, help="Recompute points already in the folder.")
@click.option("--plot", "make_plot", is_flag=True, help="Also draw its figures (spaceverse plot).")
@click.option("--report", "make_report", is_flag=True,
              help="Also write its HTML report (spaceverse report).")
def sweep(sweep_file, workers, scheduler, out_dir, overrides, no_resume, make_plot, make_report):
    """Run every point of a sweep file (grid or zip of scenario values); resumable."""
    from .results import HEADLINE
    from .sweep import axis_columns, load_sweep, sweep_command

    _out_folder(out_dir, "--out", "sweep")
    loaded = load_sweep(sweep_file, overrides)
    with _progress(len(loaded), "sweep points") as advance:
        done_so_far = [0]

        def progress(done, total_, key):
            if advance:
                advance(done - done_so_far[0])
            done_so_far[0] = done

        table, folder = sweep_command(loaded, workers=workers, scheduler=scheduler,
                                      out_dir=out_dir, progress=progress, resume=not no_resume)
    failed = table[table["status"] != "ok"]
    axes = [c for c in axis_columns(loaded.axes) if c in table.columns]
    seed = ["seed"] if "seed" in loaded.axes else []
    cols = list(dict.fromkeys(["point", *axes, *seed, "policy", "status", *HEADLINE, "pareto"]))
    shown = _metric_cells(table[[c for c in cols if c in table.columns]], HEADLINE)
    for axis in axes:  # long values (mappings, lists) cut to stay readable
        shown[axis] = [v if len(str(v)) <= 40 else str(v)[:37] + "..." for v in shown[axis]]
    _print_table(f"sweep {folder}: {len(table) - len(failed)} of {len(table)} points ok "
                 f"({len(table.attrs.get('computed', []))} computed)", shown, {}, fit=True)
    _legend(HEADLINE)
    click.echo("  pareto: the point's policy setting is on the front of accuracy_every_answer "
               "vs service_mean_s among points with the same other axes (means over seeds)")
    _print_warnings([m for m in dict.fromkeys(
        part for cell in table["warnings"] for part in str(cell or "").split("; ") if part)])
    for row in failed.itertuples():
        click.echo(f"point {row.point} failed: {row.error}", err=True)
    click.echo(f"wrote {folder / 'sweep.parquet'}")
    _plot_and_report(folder, make_plot, make_report)


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Figure folder (default: RESULTS/figures).")
@click.option("--figure", "figures", multiple=True, type=_FigureChoice(),
              help="Only this figure (repeatable; default: every figure that applies).")
def plot(results, out_dir, figures):
    """Make the figures of a run or sweep folder from its saved results (no re-running)."""
    from .plots import plot_results

    _out_folder(out_dir, "--out", "figures")
    paths = plot_results(Path(results), Path(out_dir) if out_dir else None,
                         figures=list(figures) or None)
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

    _out_file(out, "--out", "report")
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

    _out_folder(out_dir, "--out")
    _out_folder(figures_dir, "--figures", "figures")
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
@click.option("--train-fraction", type=_FloatRange(0, 1, min_open=True, max_open=True),
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
@click.option("--train-rows", type=click.IntRange(min=2),
              help="Train on this many rows instead of --train-fraction of the trace.")
@click.option("--target", type=click.Choice(["agreement", "minilm"]), default="agreement",
              show_default=True,
              help="Eq. 1 target: answer agreement, or the MiniLM similarity of the answers.")
@click.option("--out", type=click.Path(), help="Checkpoint path or folder "
                                               "(default: models/confidence/<trace>-<variant>.pt).")
@click.pass_context
def train_confidence(ctx, trace, train_fraction, seed, variant, stages, stage_tokens, train_rows,
                     target, out):
    """Train g~ with the loss of Eq. 1; write the checkpoint and its metadata."""
    from .policies.confidence import train_command

    if train_rows is not None and \
            ctx.get_parameter_source("train_fraction") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--train-rows and --train-fraction: give one of them")
    if out is not None:
        if out.endswith(("/", "\\")) or Path(out).is_dir():
            _out_folder(out, "--out", "checkpoint")
        else:
            _out_file(out, "--out", "checkpoint")
    path = train_command(trace, train_fraction, seed, out, points=stages,
                         stage_tokens=stage_tokens, variant=variant, train_rows=train_rows,
                         target=target)
    meta = _checkpoint_meta(Path(path).with_suffix(".json"))
    if meta is not None:
        metrics = meta.get("metrics")
        best = meta.get("best_val_loss",
                        metrics.get("best_val_loss") if isinstance(metrics, dict) else None)
        click.echo(f"trained on {meta.get('n_train', '?')} rows; best validation loss {best}")
    click.echo(f"wrote {path}")


def _checkpoint_meta(path: Path) -> dict | None:
    """The metadata written beside a checkpoint, or None (with a warning) if unreadable."""
    import json

    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("%s: cannot read the checkpoint metadata (%s)", path, exc)
        return None
    return meta if isinstance(meta, dict) else None


@cli.group()
def traces():
    """Inference traces: list, convert recorded predictions, record, synthesise."""


@traces.command("list")
@click.option("--folder", type=click.Path(file_okay=False), help="Another folder of traces.")
def traces_list(folder):
    """Every trace with its source, models, task, size, licence, real or synthetic."""
    import pandas as pd

    from .inference.traces import list_traces

    if folder is not None and not Path(folder).is_dir():
        raise click.BadParameter(f"{folder}: no such folder", param_hint="--folder")
    rows = list_traces(Path(folder) if folder else None)
    if not rows:
        click.echo("no traces found")
        return
    frame = pd.DataFrame(rows)
    frame["models"] = frame["models"].map(
        lambda m: f"{m.get('onboard')} / {m.get('ground')}" if isinstance(m, dict) else str(m))
    frame["kind"] = frame["synthetic"].map(lambda x: "SYNTHETIC" if x else "real")
    frame["MB"] = frame["path"].map(_size_mb)
    frame = frame.rename(columns={"n_samples": "samples"})
    cols = [c for c in ("name", "kind", "task", "samples", "MB", "models", "licence", "source")
            if c in frame.columns]
    _print_table("Traces", frame[cols], {"MB": "{:.2f}"})


def _size_mb(path) -> float:
    """Megabytes of a file (NaN when it cannot be read, e.g. removed meanwhile)."""
    try:
        return Path(path).stat().st_size / 1e6
    except OSError:
        return float("nan")


@traces.command("convert")
@click.argument("source")
@click.option("--input", "input_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with the original prediction files of that source.")
@click.option("--out", "out_dir", default="models/traces", show_default=True,
              type=click.Path(file_okay=False))
def traces_convert(source, input_dir, out_dir):
    """Convert recorded model outputs (SOURCE: see --help of `traces converters`) to a trace."""
    from .inference.converters import convert

    if not Path(input_dir).is_dir():
        raise click.BadParameter(f"{input_dir}: no such folder", param_hint="--input")
    _out_folder(out_dir, "--out", "trace")
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
@click.option("--samples", type=click.IntRange(min=1, max=10_000_000), default=1000,
              show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True)
@click.option("--out", "out_dir", default="models/traces", show_default=True,
              type=click.Path(file_okay=False))
def traces_synth(task, samples, seed, out_dir):
    """Write a seeded SYNTHETIC trace (its name says so)."""
    from .inference.synthetic import generate_synthetic
    from .inference.traces import write_trace

    folder = _out_folder(out_dir, "--out", "trace")
    trace = generate_synthetic(task=task, samples=samples, seed=seed)
    _make_folder(folder, "--out", "trace")
    path = write_trace(trace, folder / f"{trace.name}.parquet")
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

    for option, folder in (("--model-dir", model_dir), ("--ground-model-dir", ground_model_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise click.BadParameter(f"{folder}: no such model folder", param_hint=option)
    if "synthetic" in Path(out_file).stem.lower():
        raise click.BadParameter(f"{out_file}: 'synthetic' in a file name is reserved for "
                                 "synthetic traces; a recorded trace is real", param_hint="--out")
    target = Path(out_file)
    if target.suffix != ".parquet":
        target = target.with_name(target.name + ".parquet")
    _out_file(target, "--out", "trace")
    _out_file(target.with_suffix(".json"), "--out", "trace metadata")
    samples = load_image_set(dataset)[:limit]
    from .inference.transformers_backend import QwenVLBackend

    onboard = QwenVLBackend(model_dir, device=device, dtype=dtype, max_new_tokens=max_new_tokens)
    ground = (onboard if not ground_model_dir else
              QwenVLBackend(ground_model_dir, device=device, dtype=dtype,
                            max_new_tokens=max_new_tokens))
    items = [(s.sample_id, s.image, s.prompt, s.reference, s.task) for s in samples]
    trace = record_trace(onboard, ground, items, stage_tokens=stage_tokens, scorer=score,
                         name=Path(out_file).stem, source=f"recorded on {onboard.device_name} "
                                                          f"over {dataset}")
    _make_folder(target.parent, "--out", "trace")
    path = write_trace(trace, target)
    click.echo(f"wrote {path} ({len(trace.table)} samples)")


@traces.command("datasets")
def traces_datasets():
    """List the bundled image sets usable by `traces record`."""
    from .inference.images import list_image_sets

    for name, description in list_image_sets().items():
        click.echo(f"{name:32s} {description}")


# ---- spaceverse traces import: your own answers as a trace ---------------------------------


@traces.command("import")
@click.argument("source_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Trace to write, NAME.parquet (NAME.json beside it; default: beside FILE).")
@click.option("--task", help="Task of every row without a task cell (vqa, classification, yesno, "
                             "mcq, detection, caption).")
@click.option("--name", help="Trace name (default: the --out or FILE name).")
@click.option("--models", metavar="ONBOARD,GROUND", help="The two models' names (metadata).")
@click.option("--licence", help="Licence of the data (metadata; default: unspecified).")
@click.option("--provenance", help="Where the answers come from, e.g. a citation (metadata).")
def traces_import(source_file, out, task, name, models, licence, provenance):
    """Check a CSV or Parquet file of two models' answers and write it as a trace.

    The format is in README.md ("Inference: recorded traces"); every problem of the file is
    listed, one line each (FILE:LINE: column: what is wrong), before anything is written.
    """
    from .inference.trace_import import TraceImportError, import_trace, target_of

    pair = None
    if models is not None:
        pair = tuple(m.strip() for m in models.split(","))
        if len(pair) != 2 or not all(pair):
            raise click.BadParameter(f"{models!r}: expected two model names, ONBOARD,GROUND",
                                     param_hint="--models")
    if not Path(source_file).is_file():
        raise click.BadParameter(f"{source_file}: no such file", param_hint="FILE")
    try:
        target = target_of(Path(source_file), out, name)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    _out_file(target, "--out", "trace", (".parquet",))
    _out_file(target.with_suffix(".json"), "--out", "trace metadata")
    try:
        path, trace = import_trace(source_file, out=target, task=task, models=pair,
                                   licence=licence, description=provenance)
    except TraceImportError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        raise InputError(exc.summary) from None
    table, meta = trace.table, trace.meta
    click.echo(f"wrote {path} ({len(table)} samples, {', '.join(meta['tasks'])}; accuracy "
               f"onboard {table['onboard_score'].mean():.3f}, ground "
               f"{table['ground_score'].mean():.3f})")
    if meta.get("estimated"):
        click.echo(f"estimated: {', '.join(meta['estimated'])} (see {path.with_suffix('.json')})")
    absent = [c for c in meta["missing"] if c != "difficulty"]  # synthetic traces only
    click.echo(f"not given: {', '.join(absent) or 'nothing'}")
    if not licence:
        logger.warning("no --licence: the metadata says 'unspecified'")


# ---- spaceverse policies: every allocation policy and compressor, built-in and plugin ----


def _param_kind(spec: dict) -> str:
    kind = {"number": "number", "integer": "whole number", "boolean": "true/false",
            "text": "text", "numbers": "list of numbers", "path": "path", "any": "any",
            "choice": "one of " + ", ".join(spec.get("choices", []))}[spec["type"]]
    return f"{kind} {spec['bounds']}" if spec.get("bounds") else kind


@cli.command("policies")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def policies_command(as_json):
    """List every allocation policy and compressor (built-in and plugin) with its parameters."""
    import json

    from .policies.registry import catalogue, layout_schema

    data = catalogue()
    layout = {n: p.as_dict() for n, p in layout_schema().items()}
    if as_json:
        click.echo(json.dumps({**data, "layout": layout}, indent=2))
        return
    titles = {"allocation": "Allocation policies (policy.allocation, parameters policy.params)",
              "compression": "Compressors (policy.compression.method, parameters "
                             "policy.compression.params)"}
    for kind, title in titles.items():
        click.echo(title)
        for row in data[kind]:
            source = row["source"] if row["source"] == "built-in" else \
                f"plugin: {row['source']}, {row['entry_point']}"
            click.echo(f"  {row['name']}  [{source}]")
            if "error" in row:
                click.echo(f"      error: {row['error']}")
                continue
            if row.get("description"):
                click.echo(f"      {row['description']}")
            for pname, spec in row["params"].items():
                default = spec.get("default_text") or json.dumps(spec["default"])
                click.echo(f"      {pname} = {default}  ({_param_kind(spec)}) "
                           f"{spec['description']}".rstrip())
        if kind == "allocation":
            shown = ", ".join(f"{n} = {json.dumps(p['default'])}" for n, p in layout.items())
            click.echo(f"  every allocation policy also takes {shown} (the decision points)")
        click.echo("")


@cli.command()
def catalogs():
    """List the bundled TLE catalogs and ground-station networks."""
    from .orbits.stations import load_station_catalog, networks
    from .orbits.tle import list_catalogs

    for name, path in list_catalogs().items():
        click.echo(f"{name:28s} {path}")
    stations = load_station_catalog()
    click.echo(f"\nground stations: {len(stations)} in networks {', '.join(networks(stations))}")


@cli.group()
def runs():
    """The results index: list, show and compare finished runs and sweeps."""


@runs.command("list")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
def runs_list(folder):
    """Runs, sweeps and comparisons under FOLDER (default: results), newest first."""
    from .results import HEADLINE, default_root, list_results

    root = Path(folder) if folder else default_root()
    if not root.is_dir():
        raise click.BadParameter(f"{root}: no such results folder", param_hint="FOLDER")
    table = list_results(root)
    if table.empty:
        click.echo(f"no runs or sweeps under {root}")
        return
    _print_table(f"{root}: {len(table)} result(s), newest first", table.astype(str), {},
                 fit=True)
    _legend(HEADLINE)
    click.echo("  a sweep's metrics: the range over its finished points")


@runs.command("show")
@click.argument("run")
@click.option("--results", "root", type=click.Path(file_okay=False),
              help="Where to look for RUN given as an id (default: results).")
def runs_show(run, root):
    """A run's summary, every metric with what it counts (or a sweep's points)."""
    import pandas as pd

    from .results import default_root, resolve, show

    info = show(resolve(run, Path(root) if root else default_root()))
    _print_table("", pd.DataFrame(info["facts"], columns=["", info["kind"]]), {})
    _print_table("", info["table"].astype(str), {})
    _legend([m.name for m in info["definitions"]])
    _print_warnings(info["warnings"])


@runs.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--results", "root", type=click.Path(file_okay=False),
              help="Where to look for runs given as ids (default: results).")
def runs_diff(run_a, run_b, root):
    """What differs between two runs: their resolved scenarios, then their metrics."""
    from .results import default_root, diff, resolve

    base = Path(root) if root else default_root()
    a, b = resolve(run_a, base), resolve(run_b, base)
    result = diff(a, b)
    click.echo(f"A: {a}\nB: {b}")
    if result["scenario"].empty:
        click.echo("scenario: no difference")
    else:
        _print_table("scenario differences", result["scenario"], {})
    if result["metrics"].empty:
        click.echo("metrics: no difference")
    else:
        _print_table("metric differences (B - A)", result["metrics"], {})
        _legend([m.name for m in result["definitions"]])


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line and exit 2 for any user mistake.

    A real interrupt -- Ctrl-C (SIGINT) or SIGTERM -- prints "interrupted" and exits
    130.  While the command runs, SIGTERM raises :class:`KeyboardInterrupt` like
    Ctrl-C does, so ``kill PID`` unwinds the same way (temporary folders removed,
    sweep workers stopped).  Nothing else prints "interrupted": click also turns an
    :class:`EOFError` into an abort, but one reaching here is a bug, not an
    interrupt, so it is raised again as itself.
    """
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    args = sys.argv[1:] if argv is None else list(argv)
    if not args:  # bare `spaceverse`: the help text, not an error squashed into one line
        args = ["--help"]
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if in_main_thread else None
    try:
        code = cli.main(args=args, prog_name="spaceverse", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, KeyboardInterrupt):
            raise cause from None
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
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    sys.exit(code if isinstance(code, int) else 0)
