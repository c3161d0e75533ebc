"""``spaceverse runs list / show / diff``: the results index."""

from __future__ import annotations

from pathlib import Path

import click

from .app import _legend, _print_table, _print_warnings, _say, cli, table_output


@cli.group()
def runs():
    """The results index: list, show and compare finished runs and sweeps."""


@runs.command("list")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@table_output
def runs_list(folder):
    """Runs, sweeps and comparisons under FOLDER (default: results), newest first."""
    from ..results import HEADLINE, default_root, list_results

    root = Path(folder) if folder else default_root()
    if not root.is_dir():
        raise click.BadParameter(f"{root}: no such results folder", param_hint="FOLDER")
    table = list_results(root)
    if table.empty:
        _say(f"no runs or sweeps under {root}")
        return
    _print_table(f"{root}: {len(table)} result(s), newest first", table.astype(str), {},
                 fit=True)
    _legend(HEADLINE)
    _say("  a sweep's metrics: the range over its finished points")


@runs.command("show")
@click.argument("run")
@click.option("--results", "root", type=click.Path(file_okay=False),
              help="Where to look for RUN given as an id (default: results).")
@table_output
def runs_show(run, root):
    """A run's summary, every metric with what it counts (or a sweep's points)."""
    import pandas as pd

    from ..results import default_root, resolve, show

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
@table_output
def runs_diff(run_a, run_b, root):
    """What differs between two runs: their resolved scenarios, then their metrics."""
    from ..results import default_root, diff, resolve

    base = Path(root) if root else default_root()
    a, b = resolve(run_a, base), resolve(run_b, base)
    result = diff(a, b)
    _say(f"A: {a}\nB: {b}")
    if result["scenario"].empty:
        _say("scenario: no difference")
    else:
        _print_table("scenario differences", result["scenario"], {})
    if result["metrics"].empty:
        _say("metrics: no difference")
    else:
        _print_table("metric differences (B - A)", result["metrics"], {})
        _legend([m.name for m in result["definitions"]])


