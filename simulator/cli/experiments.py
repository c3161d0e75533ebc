"""``spaceverse compare``, ``sweep``, ``plot``, ``report`` and ``reproduce``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from .app import (_FigureChoice, _legend, _metric_cells, _out_file, _out_folder, _print_table,
                  _print_warnings, _progress, _say, cli, logger, table_output)

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
@table_output
def compare(scenario_file, policies, overrides, out_dir, same_compression, csv_path, make_plot,
            make_report, workers, no_resume):
    """Run several policies on one scenario (a sweep over policies); print accuracy,
    latency, offload, bytes and the Pareto verdict (Fig. 9).  Resumable."""
    from ..compare import DEFAULT_POLICIES, SHOWN, compare_policies, noise_warnings, verdicts
    from ..orbits.contacts import write_table

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
    _say("  pareto: on the front of accuracy_every_answer vs service_mean_s; "
               "pareto_under_load: of accuracy_all_samples vs in_contact_mean_s (the oracle "
               "is never a contender)")
    for sentence in verdicts(table):
        _say(sentence)
    messages = [m for cell in table["warnings"] for m in str(cell or "").split("; ") if m]
    _print_warnings(list(dict.fromkeys(messages + noise_warnings(table))))
    failed = table[table["status"] != "ok"]
    if csv_path:
        write_table(table, Path(csv_path))
        _say(f"wrote {csv_path}")
    _say(f"wrote {folder / 'sweep.parquet'}")
    if not failed.empty:
        first = failed.iloc[0]
        raise InputError(f"policy {first['policy']} {first['status']}"
                         + (f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""))
    _plot_and_report(folder, make_plot, make_report)


def _plot_and_report(folder: Path, make_plot: bool, make_report: bool) -> None:
    if make_plot:
        from ..plots import plot_results

        paths = plot_results(folder)
        for path in paths:
            _say(f"wrote {path}")
        if not paths:
            _say("no figure applies to these results")
    if make_report:
        from ..report import write_report

        _say(f"wrote {write_report(folder)}")


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
@table_output
def sweep(sweep_file, workers, scheduler, out_dir, overrides, no_resume, make_plot, make_report):
    """Run every point of a sweep file (grid or zip of scenario values); resumable."""
    from ..results import HEADLINE
    from ..sweep import axis_columns, load_sweep, sweep_command

    _out_folder(out_dir, "--out", "sweep")
    loaded = load_sweep(sweep_file, overrides)
    with _progress(len(loaded), "sweep points") as advance:
        done_so_far = [0]

        def progress(done, total_, key):
            if advance:
                advance(done - done_so_far[0])
            done_so_far[0] = done

        table, folder = sweep_command(loaded, workers=workers, scheduler=scheduler,
                                      out_dir=out_dir, progress=progress, resume=not no_resume,
                                      quiesce=getattr(advance, "paused", None))
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
    _say("  pareto: the point's policy setting is on the front of accuracy_every_answer "
               "vs service_mean_s among points with the same other axes (means over seeds)")
    _print_warnings([m for m in dict.fromkeys(
        part for cell in table["warnings"] for part in str(cell or "").split("; ") if part)])
    for row in failed.itertuples():
        click.echo(f"point {row.point} failed: {row.error}", err=True)
    _say(f"wrote {folder / 'sweep.parquet'}")
    _plot_and_report(folder, make_plot, make_report)


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Figure folder (default: RESULTS/figures).")
@click.option("--figure", "figures", multiple=True, type=_FigureChoice(),
              help="Only this figure (repeatable; default: every figure that applies).")
def plot(results, out_dir, figures):
    """Make the figures of a run or sweep folder from its saved results (no re-running)."""
    from ..plots import plot_results

    _out_folder(out_dir, "--out", "figures")
    paths = plot_results(Path(results), Path(out_dir) if out_dir else None,
                         figures=list(figures) or None)
    for path in paths:
        _say(f"wrote {path}")
    if not paths:
        _say("no figure applies to these results")


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="HTML file (default: RESULTS/report.html).")
def report(results, out):
    """Write a self-contained HTML report (scenario, tables, figures inline) for results."""
    from ..report import write_report

    _out_file(out, "--out", "report")
    _say(f"wrote {write_report(Path(results), Path(out) if out else None)}")


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
    from ..reproduce import SWEEPS, reproduce as run_all, table_markdown

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
                         figures_dir=Path(figures_dir) if figures_dir else None,
                         quiesce=getattr(advance, "paused", None))
    _say(table_markdown(result["table"]))
    _say(f"wrote {result['out'] / 'paper-vs-ours.md'} and {len(result['figures'])} figures")


