"""Byte-identical per-sample logs: a few shortened scenarios against committed references.

Every optimisation of the engine (:mod:`simulator.engine`) and of the world build must
leave ``samples.parquet`` unchanged, value for value and bit for bit for floats.  The
references under ``tests/data/reference/<name>.parquet`` were written by the code before
the engine's performance rework (issue 14) and are only ever regenerated when an
*input* of the engine changes on purpose (for example the contact search moving a
window by microseconds), never to absorb an engine change::

    python tests/test_reference_outputs.py            # check every case, print what differs
    python tests/test_reference_outputs.py --write    # (re)write the references

(``--write`` keeps each case's stored contact plan; delete ``<name>.contacts.parquet`` to
take the contact search's current one, which ``--write`` then stores.)

The contact plan of each case is pinned (``<name>.contacts.parquet``, the windows the
contact search gave when the references were written): the references test the engine and
the world build, not the contact search (``tests/test_contacts.py`` does), which may move a
window by microseconds when it changes.

The cases cover a constant link with TCP and two stations (ground-only, and Tabi, which
keeps some samples onboard), a measured throughput trace, an always-connected link, a
policy that decides during the run (reads the buffer, the contacts and the ground queue),
a finite buffer that overflows, a priority buffer, a link budget and an
inter-satellite relay.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "reference"
SCENARIOS = ROOT / "scenarios"

#: name -> (scenario file, overrides).  Each run is a few hundred samples.
CASES: dict[str, tuple[str, list[str]]] = {
    "small-ground-only": ("small.yaml", ["policy.allocation=ground-only"]),
    "small-tabi": ("small.yaml", ["policy.allocation=tabi"]),
    "trace-link": ("trace-link.yaml", ["time.duration_h=6", "time.drain_h=6",
                                       "workload.synthetic.samples=300"]),
    "always-connected": ("always-connected.yaml", ["time.duration_h=4", "time.drain_h=4",
                                                   "workload.synthetic.samples=300"]),
    "online-deadline-aware": ("online-policies.yaml", ["time.duration_h=8", "time.drain_h=8"]),
    "online-buffer-aware": ("online-policies.yaml", ["time.duration_h=8", "time.drain_h=8",
                                                     "policy.allocation=buffer-aware"]),
    "small-overflow-priority": ("online-policies.yaml", [
        "time.duration_h=8", "time.drain_h=8", "policy.allocation=ground-only",
        "buffer.discipline=priority", "buffer.capacity_mb=60"]),
    "budget-link": ("budget-link.yaml", ["time.duration_h=4", "time.drain_h=4",
                                         "workload.synthetic.samples=200"]),
    "isl-relay": ("isl-relay.yaml", ["time.duration_h=2", "time.drain_h=6"]),
}


def run_case(name: str, out_dir: Path, *, pinned: bool = True) -> pd.DataFrame:
    """Run case ``name``; with ``pinned``, on its stored contact plan (if it has one)."""
    import simulator.orbits.contacts as contacts
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    file, overrides = CASES[name]
    scenario = load_scenario(SCENARIOS / file, overrides + ["output.save_contacts=false"])
    stored = REFERENCE / f"{name}.contacts.parquet"
    search = contacts.cached_contacts
    if pinned and stored.exists():
        table = pd.read_parquet(stored)
        contacts.cached_contacts = lambda *args, **kwargs: table.copy()
    try:
        result = run_scenario(scenario, out_dir=out_dir)
    finally:
        contacts.cached_contacts = search
    return pd.read_parquet(result.folder / "samples.parquet")


def differences(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    """What differs between two sample logs, exactly (floats compared bit for bit)."""
    problems = []
    if list(got.columns) != list(want.columns):
        return [f"columns {list(got.columns)} != {list(want.columns)}"]
    if len(got) != len(want):
        return [f"{len(got)} rows != {len(want)} rows"]
    for col in want.columns:
        a, b = got[col].to_numpy(), want[col].to_numpy()
        if a.dtype != b.dtype:
            problems.append(f"{col}: dtype {a.dtype} != {b.dtype}")
            continue
        if a.dtype.kind == "f":
            same = a.view(np.uint64 if a.dtype.itemsize == 8 else np.uint32) == \
                b.view(np.uint64 if b.dtype.itemsize == 8 else np.uint32)
        else:
            same = np.array([x == y for x, y in zip(a.tolist(), b.tolist())], dtype=bool)
        if not same.all():
            k = int(np.flatnonzero(~same)[0])
            problems.append(f"{col}: {int((~same).sum())} row(s) differ, first row {k}: "
                            f"{a[k]!r} != {b[k]!r}")
    return problems


@pytest.mark.parametrize("name", sorted(CASES))
def test_samples_match_reference(name, tmp_path):
    want = pd.read_parquet(REFERENCE / f"{name}.parquet")
    got = run_case(name, tmp_path)
    assert differences(got, want) == []


def _store_contacts(name: str, path: Path) -> None:
    """Run case ``name`` with the contact search and store the plan it used (if any)."""
    import tempfile

    import simulator.orbits.contacts as contacts

    search, seen = contacts.cached_contacts, []

    def capture(*args, **kwargs):
        table = search(*args, **kwargs)
        seen.append(table.copy())
        return table

    contacts.cached_contacts = capture
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run_case(name, Path(tmp), pinned=False)
    finally:
        contacts.cached_contacts = search
    if seen:
        seen[-1].to_parquet(path)


def main(argv: list[str]) -> int:
    import os
    import tempfile

    write = "--write" in argv
    names = [a for a in argv if not a.startswith("--")] or sorted(CASES)
    REFERENCE.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SPACEVERSE_CACHE"] = str(Path(tmp) / "cache")
        for name in names:
            stored = REFERENCE / f"{name}.contacts.parquet"
            if write and not stored.exists():
                _store_contacts(name, stored)
            got = run_case(name, Path(tmp) / name)
            path = REFERENCE / f"{name}.parquet"
            if write:
                got.to_parquet(path, index=False)
                counts = got["status"].value_counts().to_dict()
                print(f"{name}: wrote {len(got)} rows {counts}")
                continue
            problems = differences(got, pd.read_parquet(path))
            failed += bool(problems)
            print(f"{name}: {'OK' if not problems else 'DIFFERS'}")
            for p in problems:
                print("   ", p)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
