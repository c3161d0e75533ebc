"""Which runs a results folder holds: one run, a sweep, or a set of compared runs.

* a **run folder** (``summary.json`` and ``samples.parquet``) is shown alone;
* a **sweep folder** (``sweep.parquet`` and ``points/<key>/``) shows one point's run
  (``point``: its key, or a unique prefix of it; the first finished point by default)
  and the latency CDF of every finished point;
* a **compare folder** (run folders side by side, as ``spaceverse compare --out``
  writes them) shows the first run (or ``point``: a run folder's name) and every run
  in the CDF.

CDF curves are one per policy (the allocation, with the compression method when one
policy appears with several); points of one policy (seeds, say) are pooled.  When
every point has the same policy, the curves are one per value of the swept axes
other than the seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError


@dataclass
class Results:
    """A results folder resolved: what kind, the run shown, the runs of the CDF."""

    kind: str  # "run", "sweep" or "compare"
    root: Path
    run: Path  # the run folder the globe, map and timeline show
    point: str | None = None  # its key (sweep) or folder name (compare)
    curves: dict[str, list[Path]] = field(default_factory=dict)  # CDF label -> run folders


def is_run(folder: Path) -> bool:
    return (folder / "summary.json").is_file() and (folder / "samples.parquet").is_file()


def read_summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder.name}/summary.json: cannot read it ({exc})") from None


def policy_label(summary: dict) -> tuple[str, str]:
    """``(allocation, compression method)`` of a run summary."""
    policy = summary.get("policy") or {}
    compression = summary.get("compression") or {}
    name = policy.get("name") if isinstance(policy, dict) else str(policy)
    method = compression.get("method") if isinstance(compression, dict) else str(compression)
    return str(name or "?"), str(method or "none")


def _labels(runs: list[Path], axes: list[dict] | None = None) -> dict[str, list[Path]]:
    """CDF labels (see the module docstring) of ``runs``; ``axes[k]`` are run k's swept
    values (seed left out), when known."""
    pairs = [policy_label(read_summary(r)) for r in runs]
    names = {name for name, _ in pairs}
    several = {n for n in names if len({m for p, m in pairs if p == n}) > 1}
    labels = [f"{n} + {m}" if n in several else n for n, m in pairs]
    if len(set(labels)) == 1 and axes and len({json.dumps(a, sort_keys=True, default=str)
                                               for a in axes}) > 1:
        labels = [", ".join(f"{k}={v}" for k, v in a.items()) or labels[0] for a in axes]
    curves: dict[str, list[Path]] = {}
    for label, run in zip(labels, runs):
        curves.setdefault(label, []).append(run)
    return curves


def _pick(names: list[str], point: str | None, what: str) -> int:
    if point is None:
        return 0
    exact = [k for k, n in enumerate(names) if n == point]
    found = exact or [k for k, n in enumerate(names) if n.startswith(point)]
    if len(found) == 1:
        return found[0]
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    reason = "matches several" if found else "matches none"
    raise InputError(f"--point {point!r} {reason} of the {what} ({shown})")


def _sweep(root: Path, point: str | None) -> Results:
    from ..sweep import COLUMNS

    try:
        table = pd.read_parquet(root / "sweep.parquet")
    except Exception as exc:  # noqa: BLE001 - any unreadable table is one message
        raise InputError(f"{root.name}/sweep.parquet: cannot read it ({exc})") from None
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    axis_columns = [c for c in table.columns if c not in COLUMNS]
    runs, keys, axes = [], [], []
    for _, row in ok.iterrows():
        folder = root / str(row.get("run_dir") or f"points/{row['key']}")
        if is_run(folder):
            runs.append(folder)
            keys.append(str(row["key"]))
            axes.append({c: row[c] for c in axis_columns if pd.notna(row[c])})
    if not runs:
        raise InputError(f"{root.name}: the sweep has no finished point with a run folder")
    k = _pick(keys, point, "sweep's finished points")
    return Results("sweep", root, runs[k], keys[k], _labels(runs, axes))


def resolve(path, point: str | None = None) -> Results:
    """The :class:`Results` of a run, sweep or compare folder (module docstring)."""
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root}: no such results folder")
    if (root / "sweep.parquet").is_file():
        return _sweep(root, point)
    if is_run(root):
        if point is not None:
            raise InputError(f"--point {point!r}: {root.name} is a run folder, not a sweep")
        return Results("run", root, root, None, _labels([root]))
    runs = sorted(p for p in root.iterdir() if p.is_dir() and is_run(p))
    if not runs:
        raise InputError(f"{root}: not a run folder (summary.json, samples.parquet), a sweep "
                         "folder (sweep.parquet) or a folder of run folders")
    k = _pick([r.name for r in runs], point, "runs in the folder")
    return Results("compare", root, runs[k], runs[k].name, _labels(runs))
