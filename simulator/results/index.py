"""The results index: which runs and sweeps a folder holds, one of them, two side by side.

Backs ``spaceverse runs list [FOLDER]`` (:func:`list_results`: runs, sweeps and
compare folders, newest first, with their headline metrics), ``spaceverse runs
show RUN`` (:func:`show`: a run's every metric with its definition, or a sweep's
points) and ``spaceverse runs diff RUN_A RUN_B`` (:func:`diff`: what differs in
their resolved scenarios and in their metrics).  ``RUN`` is a folder, or an id
under the results folder: a path as ``runs list`` prints it, a run folder's name
(a sweep point's key) or a unique prefix of one (:func:`resolve`).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .degenerate import policy_name, warnings_for
from .metrics import HEADLINE, METRIC_LIST, METRICS, format_value, summary_value
from .runs import SCENARIO_FILE, SUMMARY_FILE, is_run_folder, read_summary, run_metrics
from .sweeps import (POINTS_DIR, SWEEP_FILE, SWEEP_TABLE, is_sweep_folder, read_sweep_table,
                     sweep_axes, sweep_kind)

logger = logging.getLogger("simulator.results")

#: How deep :func:`find_results` looks below the folder it is given.
MAX_DEPTH = 6
#: Most entries :func:`find_results` collects (a huge tree is cut, with a warning).
MAX_ENTRIES = 10_000
#: Columns of :func:`list_results`.
LIST_COLUMNS = ["id", "kind", "scenario", "policy", "samples", *HEADLINE, "warnings", "date"]


@dataclass
class Entry:
    """One run, sweep or compare folder found under a results folder."""

    path: Path
    id: str
    kind: str  # run, sweep, compare, damaged
    date: datetime
    scenario: str = ""
    policy: str = ""
    samples: str = ""
    metrics: dict = field(default_factory=dict)
    warnings: int = 0


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return datetime.fromtimestamp(0, UTC)


def _walk(root: Path):
    """Run and sweep folders under ``root`` (not inside them), depth-limited, hidden
    folders (temporary ones of writers) and figure folders skipped."""
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        if is_sweep_folder(folder) or is_run_folder(folder):
            yield folder
            continue
        if depth >= MAX_DEPTH:
            continue
        try:
            children = sorted((p for p in folder.iterdir()
                               if p.is_dir() and not p.is_symlink()
                               and not p.name.startswith(".") and p.name != "figures"),
                              reverse=True)
        except OSError as exc:
            logger.warning("%s: cannot list (%s)", folder, exc.strerror or exc)
            continue
        stack += [(c, depth + 1) for c in children]


def _join(values, limit: int = 60) -> str:
    text = ", ".join(dict.fromkeys(str(v) for v in values if isinstance(v, str) and v))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _range(values: pd.Series, name: str) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if not len(values):
        return "-"
    low, high = float(values.min()), float(values.max())
    if math.isclose(low, high, rel_tol=1e-12, abs_tol=1e-15):
        return format_value(name, low)
    return f"{format_value(name, low)} – {format_value(name, high)}"


def _run_entry(folder: Path, ident: str) -> Entry:
    summary = read_summary(folder)
    entry = Entry(folder, ident, "run", _mtime(folder / SUMMARY_FILE),
                  scenario=str(summary.get("scenario") or ""), policy=policy_name(summary))
    samples = summary.get("samples")
    entry.samples = format_value("samples", samples)
    pool = summary.get("train_samples")
    if isinstance(pool, int) and not isinstance(pool, bool) and pool:
        entry.samples += f" (+{pool:,} training pool)"
    entry.metrics = {m: format_value(m, summary_value(summary, m)) for m in HEADLINE}
    entry.warnings = len(warnings_for(summary))
    return entry


def _sweep_entry(folder: Path, ident: str) -> Entry:
    table = read_sweep_table(folder)
    entry = Entry(folder, ident, sweep_kind(folder), _mtime(folder / SWEEP_TABLE))
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    entry.policy = _join(table["policy"]) if "policy" in table.columns else ""
    points = len(table)
    samples = _range(ok["samples"], "samples") if "samples" in ok.columns else "-"
    entry.samples = f"{points} points × {samples}" if len(ok) else f"{points} points"
    if len(ok) < points:
        entry.samples += f" ({points - len(ok)} failed)"
    entry.metrics = {m: _range(ok[m], m) if m in ok.columns else "-" for m in HEADLINE}
    entry.warnings = len(warnings_for(table))
    for run_dir in ok.get("run_dir", pd.Series(dtype=object)):
        summary = folder / str(run_dir) / SUMMARY_FILE
        if summary.is_file():
            try:
                entry.scenario = str(read_summary(folder / str(run_dir)).get("scenario") or "")
            except InputError:
                continue
            break
    return entry


def find_results(root) -> list[Entry]:
    """Every run, sweep and compare folder under ``root`` (``root`` itself when it is
    one), newest first.  A damaged folder is an entry of kind ``damaged``."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such results folder")
    entries: list[Entry] = []
    for folder in _walk(root):
        ident = folder.relative_to(root).as_posix() if folder != root else folder.name
        try:
            entries.append(_sweep_entry(folder, ident) if is_sweep_folder(folder)
                           else _run_entry(folder, ident))
        except InputError as exc:
            entries.append(Entry(folder, ident, "damaged", _mtime(folder), scenario=str(exc)))
        if len(entries) >= MAX_ENTRIES:
            logger.warning("%s: more than %d results; the rest left out", root, MAX_ENTRIES)
            break
    entries.sort(key=lambda e: (e.date, e.id), reverse=True)
    return entries


def list_results(root) -> pd.DataFrame:
    """One row per run, sweep and compare folder under ``root``, newest first:
    :data:`LIST_COLUMNS` (metrics of a sweep: the range over its finished points)."""
    rows = [{"id": e.id, "kind": e.kind, "scenario": e.scenario, "policy": e.policy,
             "samples": e.samples, **{m: e.metrics.get(m, "") for m in HEADLINE},
             "warnings": e.warnings if e.kind != "damaged" else "",
             "date": e.date.strftime("%Y-%m-%d %H:%M")} for e in find_results(root)]
    return pd.DataFrame(rows, columns=LIST_COLUMNS)


# ---------------------------------------------------------------------------
# one result


def _candidates(root: Path) -> list[tuple[str, Path]]:
    """(id, folder) of every run and sweep under ``root``, and of every sweep point."""
    out = []
    for folder in _walk(root):
        ident = folder.relative_to(root).as_posix() if folder != root else folder.name
        out.append((ident, folder))
        points = folder / POINTS_DIR
        if is_sweep_folder(folder) and points.is_dir():
            for point in sorted(points.iterdir()):
                if not point.name.startswith(".") and is_run_folder(point):
                    out.append((f"{ident}/{POINTS_DIR}/{point.name}", point))
    return out


def resolve(ref: str, root="results") -> Path:
    """The folder ``ref`` names: a path to a run or sweep folder, or an id under ``root``
    (as ``runs list`` prints it, a folder's name, or a unique prefix of either)."""
    path = Path(ref)
    if path.is_dir():
        if is_run_folder(path) or is_sweep_folder(path):
            return path
        raise InputError(f"{ref}: not a run folder ({SUMMARY_FILE}, samples.parquet) or a "
                         f"sweep folder ({SWEEP_TABLE})")
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{ref}: no such folder, and no results folder {root} to look in")
    found = _candidates(root)
    for test in (lambda i, f: i == ref or f.name == ref,
                 lambda i, f: i.startswith(ref) or f.name.startswith(ref)):
        matches = list(dict.fromkeys(f for i, f in found if test(i, f)))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(str(m.relative_to(root)) for m in matches[:5])
            more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
            raise InputError(f"{ref}: names {len(matches)} results under {root} ({shown}{more}); "
                             f"give more of the id")
    raise InputError(f"{ref}: no such run or sweep under {root} (spaceverse runs list "
                     f"{root} shows them)")


def _scenario_facts(summary: dict) -> list[tuple[str, str]]:
    policy = summary.get("policy")
    params = ", ".join(f"{k}={v}" for k, v in policy.items() if k != "name") \
        if isinstance(policy, dict) else ""
    trace = summary.get("trace") if isinstance(summary.get("trace"), dict) else {}
    comp = summary.get("compression")
    pool = summary.get("train_samples")
    facts = [("scenario", summary.get("scenario")), ("run id", summary.get("run_id")),
             ("policy", policy_name(summary) + (f" ({params})" if params else "")),
             ("compression", comp.get("method") if isinstance(comp, dict) else comp),
             ("trace", f"{trace.get('name')}" + (" (SYNTHETIC)" if summary.get("synthetic")
                                                 else "")),
             ("preset", summary.get("preset")), ("seed", summary.get("seed")),
             ("samples", f"{format_value('samples', summary.get('samples'))} simulated"
              + (f"; {pool:,} rows held apart as the training pool (never simulated)"
                 if isinstance(pool, int) and pool else "")),
             ("status", ", ".join(f"{k} {v:,}" for k, v in (summary.get("status") or {}).items()
                                  if isinstance(v, int))),
             ("written by", f"spaceverse {summary.get('version')}")]
    return [(k, str(v)) for k, v in facts if v not in (None, "", "None")]


def show(folder) -> dict:
    """What ``runs show`` prints: ``kind``, ``facts`` ((label, text) pairs), ``table``
    (a run: every metric with value, unit and definition; a sweep: one row per point)
    and ``warnings``."""
    folder = Path(folder)
    if is_sweep_folder(folder):
        table = read_sweep_table(folder)
        axes = sweep_axes(table)
        shown = ["point", *axes, "seed", "policy", "status", *HEADLINE, "pareto"]
        points = table[[c for c in dict.fromkeys(shown) if c in table.columns]].copy()
        for m in HEADLINE:
            if m in points.columns:
                points[m] = [format_value(m, v) for v in points[m]]
        ok = int((table["status"] == "ok").sum()) if "status" in table.columns else len(table)
        facts = [("folder", str(folder)), ("kind", sweep_kind(folder)),
                 ("points", f"{len(table)} ({ok} finished)"),
                 ("swept axes", ", ".join(axes) or "none")]
        return {"kind": sweep_kind(folder), "facts": facts, "table": points,
                "definitions": [METRICS[m] for m in HEADLINE],
                "warnings": warnings_for(table)}
    if not is_run_folder(folder):
        raise InputError(f"{folder}: not a run folder ({SUMMARY_FILE}, samples.parquet) or a "
                         f"sweep folder ({SWEEP_TABLE})")
    summary = read_summary(folder)
    values = run_metrics(folder)
    table = pd.DataFrame([{"metric": m.name, "value": format_value(m.name, values.get(m.name)),
                           "unit": m.unit, "what it counts": m.what} for m in METRIC_LIST])
    return {"kind": "run", "facts": [("folder", str(folder))] + _scenario_facts(summary),
            "table": table, "definitions": [], "warnings": warnings_for(summary)}


# ---------------------------------------------------------------------------
# two results


def _flatten(data, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(data, dict) and data:
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    else:
        text = data if isinstance(data, str) else json.dumps(data, default=str, sort_keys=True)
        out[prefix.rstrip(".")] = text
    return out


def _scenario(folder: Path) -> dict:
    import yaml

    path = folder / SCENARIO_FILE
    try:
        if path.stat().st_size > (1 << 20):
            raise InputError(f"{path}: over 1 MB, not a scenario this tool wrote")
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such resolved scenario") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())[:120]
        raise InputError(f"{path}: damaged scenario, not YAML ({reason})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: damaged scenario: expected a mapping")
    return data


def diff(a, b) -> dict:
    """What differs between two run folders: ``scenario`` (field, A, B: every field of
    the resolved scenarios that differs, ``output`` left out) and ``metrics`` (metric,
    A, B, B - A, relative: every metric that differs)."""
    a, b = Path(a), Path(b)
    for folder in (a, b):
        if not is_run_folder(folder):
            raise InputError(f"{folder}: not a run folder ({SUMMARY_FILE}, samples.parquet); "
                             "runs diff compares two runs (a sweep point is one)")
    fa, fb = _flatten(_scenario(a)), _flatten(_scenario(b))
    fields = [k for k in dict.fromkeys([*fa, *fb]) if not k.startswith("output.")]
    scenario = pd.DataFrame([{"field": k, "A": fa.get(k, "(absent)"), "B": fb.get(k, "(absent)")}
                             for k in fields if fa.get(k) != fb.get(k)],
                            columns=["field", "A", "B"])
    ma, mb = run_metrics(a), run_metrics(b)
    rows = []
    for m in METRIC_LIST:
        va, vb = ma.get(m.name), mb.get(m.name)
        xa, xb = _number(va), _number(vb)
        if (xa is None and xb is None) or (xa is not None and xb is not None and xa == xb):
            continue
        change = xb - xa if xa is not None and xb is not None else None
        relative = (f"{100 * change / abs(xa):+.1f} %" if change is not None and xa
                    else "-")
        rows.append({"metric": m.name, "A": format_value(m.name, va),
                     "B": format_value(m.name, vb),
                     "B - A": _signed(m.name, change), "relative": relative})
    metrics = pd.DataFrame(rows, columns=["metric", "A", "B", "B - A", "relative"])
    return {"a": a, "b": b, "scenario": scenario, "metrics": metrics,
            "definitions": [METRICS[r["metric"]] for r in rows]}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _signed(name: str, change: float | None) -> str:
    if change is None:
        return "-"
    text = format_value(name, abs(change))
    unit = METRICS[name].unit if name in METRICS else ""
    if unit.startswith("fraction"):
        text = text.replace(" %", " points")
    return ("+" if change >= 0 else "-") + text


def default_root() -> Path:
    """The results folder ``runs`` looks in by default: ``results`` (of the working folder)."""
    return Path("results")
