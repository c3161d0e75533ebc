"""The public Python API: scenarios, contacts, runs, sweeps and results as pandas frames.

Everything the ``spaceverse`` command does, for notebooks and scripts::

    from simulator import api as sv

    scenario = sv.load_scenario("scenarios/small.yaml", set=["seed=2"])
    scenario = sv.override(scenario, "policy.allocation=ground-only")
    windows = sv.contacts(scenario)              # one row per contact window
    run = sv.run(scenario, out_dir="results")   # simulate and write results/<run id>/
    run.summary["accuracy_every_answer"], run.samples["service_latency_s"].mean()

The names below are the public surface; the modules behind them (``config``,
``engine``, ``results``, ``sweep``, ``compare``, ``policies``) may move.  Every
function raises :class:`~simulator.errors.InputError` with the same one-line
messages as the command line (``FILE:LINE: field.path: what is wrong``).

=====================  ===============================================================
``load_scenario``      a scenario from a YAML file (``set``: overrides like ``--set``)
``scenario``           a scenario from a dict (as a YAML file would hold it)
``override``           a copy with ``KEY=VALUE`` overrides applied
``validate``           check a scenario without running it (facts, or an error)
``contacts``           its contact windows (DataFrame)
``run``                simulate it and write the run folder (:class:`Run`)
``sweep``              run a sweep file (DataFrame, one row per point)
``compare``            every policy on one scenario (DataFrame, one row per policy)
``load_run``           a run folder back (:class:`Run`)
``load_sweep``         a sweep or compare folder's table back (DataFrame)
``policies``           the allocation policies and compressors (names, parameters)
``metrics``            every metric's name, what it counts and its unit (DataFrame)
=====================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from .errors import InputError

__all__ = ["Run", "load_scenario", "scenario", "override", "validate", "contacts", "run",
           "sweep", "compare", "load_run", "load_sweep", "policies", "metrics"]


@dataclass
class Run:
    """A finished run: its folder, ``summary.json`` as a dict and ``samples.parquet``."""

    folder: Path
    summary: dict
    samples: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        """Another table of the run folder: ``contacts``, ``transmissions``, ``hops``."""
        from .results import read_table_file

        return read_table_file(self.folder / f"{name}.parquet", f"{name} table")


def load_scenario(path: str | Path, set: Sequence[str] = ()):  # noqa: A002 - like --set
    """A validated scenario from a YAML file, ``set`` overrides applied (like ``--set``)."""
    from .config import load_scenario as _load

    return _load(path, list(set))


def scenario(data: Mapping[str, Any], set: Sequence[str] = (),  # noqa: A002
             source: str = "<dict>"):
    """A validated scenario from a mapping shaped like a scenario file.

    >>> s = scenario({"name": "demo", "seed": 3, "policy": {"allocation": "ground-only"}})
    >>> s.seed, s.policy.allocation
    (3, 'ground-only')
    """
    import yaml

    from .config import parse_scenario

    if not isinstance(data, Mapping):
        raise InputError(f"{source}: expected a mapping of scenario fields, got "
                         f"{type(data).__name__}")
    text = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)
    return parse_scenario(text, source=source, overrides=list(set))


def override(scenario_obj, *overrides: str):
    """A copy of ``scenario_obj`` with ``KEY=VALUE`` overrides applied (like ``--set``)."""
    from .config import apply_overrides

    return apply_overrides(scenario_obj, list(overrides))


def validate(scenario_obj) -> dict:
    """Check everything a run would check without running it; a few facts for the user."""
    from .engine.world import check_scenario

    return check_scenario(scenario_obj)


def contacts(scenario_obj, *, hours: float | None = None) -> pd.DataFrame:
    """The contact windows of a scenario's satellites and stations (one row per window),
    over its duration plus drain (or ``hours``)."""
    from .engine.world import constellation_of
    from .orbits.contacts import cached_contacts

    orbits, stations, start = constellation_of(scenario_obj)
    t = scenario_obj.time
    horizon = (hours if hours is not None else t.duration_h + t.drain_h) * 3600.0
    return cached_contacts(orbits, stations, start, horizon, step_s=t.contact_step_s)


def run(scenario_obj, *, out_dir: str | Path | None = None) -> Run:
    """Simulate a scenario and write its run folder (``<out_dir>/<run id>/``)."""
    from .engine.world import run_scenario

    result = run_scenario(scenario_obj, out_dir=out_dir)
    return Run(Path(result.folder), result.summary, result.samples)


def sweep(path: str | Path, *, out_dir: str | Path | None = None, workers: int = 1,
          set: Sequence[str] = (), scheduler: Any = None) -> pd.DataFrame:  # noqa: A002
    """Run a sweep file; the ``sweep.parquet`` table (finished points are read back)."""
    from .sweep import load_sweep as _load_sweep, run_sweep

    loaded = _load_sweep(path, overrides=list(set))
    return run_sweep(loaded, out_dir=out_dir, workers=workers, scheduler=scheduler)


def compare(path: str | Path, policies: Sequence[str] | None = None, *,
            out_dir: str | Path | None = None, set: Sequence[str] = (),  # noqa: A002
            workers: int = 1) -> pd.DataFrame:
    """Every policy on one scenario file: one row per policy (the paper's Fig. 9)."""
    from .compare import DEFAULT_POLICIES, compare_policies

    return compare_policies(path, list(policies or DEFAULT_POLICIES), overrides=list(set),
                            out_dir=out_dir, workers=workers)


def load_run(folder: str | Path) -> Run:
    """A run folder written earlier (one-line errors for a damaged one)."""
    from .results import read_samples, read_summary

    folder = Path(folder)
    return Run(folder, read_summary(folder), read_samples(folder))


def load_sweep(folder: str | Path) -> pd.DataFrame:
    """A sweep or compare folder's ``sweep.parquet`` (metric names as today's)."""
    from .results import read_sweep_table

    return read_sweep_table(Path(folder))


def policies() -> pd.DataFrame:
    """Allocation policies and compressors: kind, name, one line, parameters."""
    from .policies import registry

    rows = []
    for kind, entries in registry.catalogue().items():
        for entry in entries:
            rows.append({"kind": kind, "name": entry["name"], "source": entry["source"],
                         "description": entry.get("description", entry.get("error", "")),
                         "params": entry.get("params", {})})
    return pd.DataFrame(rows)


def metrics() -> pd.DataFrame:
    """Every metric: name, what it counts, unit."""
    from .results import METRIC_LIST

    return pd.DataFrame([{"name": m.name, "what": m.what, "unit": m.unit}
                         for m in METRIC_LIST])
