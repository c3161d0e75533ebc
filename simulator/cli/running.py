"""``spaceverse run``, ``validate`` and ``schema``: one scenario."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click

from .app import (_out_file, _out_folder, _print_summary, _print_warnings, _progress, _say, cli,
                  table_output)


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Results folder (default: the scenario's output.dir).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value, e.g. --set seed=3 --set link.rate_mbps=50.")
@table_output
def run(scenario_file, out_dir, overrides):
    """Simulate a scenario; write results/<run-id>/ and print a summary."""
    from ..config import load_scenario
    from ..engine.world import run_scenario

    _out_folder(out_dir, "--out")
    scenario = load_scenario(scenario_file, overrides)

    @contextmanager
    def simulated_time(horizon_s):
        with _progress(int(horizon_s), "simulated seconds") as advance:
            yield (lambda dt: advance(dt)) if advance else None

    result = run_scenario(scenario, out_dir=out_dir, progress_factory=simulated_time)
    _print_summary(result.summary)
    _print_warnings(result.summary.get("warnings") or [])
    _say(f"wrote {result.folder}")


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@table_output
def validate(scenario_file, overrides):
    """Check a scenario file (schema, catalogs, stations, policies, models) without running."""
    from ..config import load_scenario
    from ..engine.world import check_scenario

    scenario = load_scenario(scenario_file, overrides)
    facts = check_scenario(scenario)
    _say(f"{scenario_file}: valid — " + ", ".join(f"{k} {v}" for k, v in facts.items()))


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
def schema(out):
    """Print the JSON Schema of scenario files (for editors)."""
    import json

    from ..config import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if out:
        from ..report import write_output_file

        _out_file(out, "--out", "schema")
        write_output_file(Path(out), text.encode("utf-8"), "schema")
        _say(f"wrote {out}")
    else:
        _say(text, nl=False)


