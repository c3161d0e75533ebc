"""A self-contained HTML report of a run folder or a sweep folder.

The page needs nothing outside itself: figures are inlined as base64 PNG
(``<img src="data:image/png;base64,...">``), the style sheet is inline, there
are no scripts, web fonts or links to fetch.  It shows

* a SYNTHETIC banner when any result comes from a synthetic trace (and a
  MODELLED ACCURACY banner when accuracies come from a compression accuracy
  model rather than recorded answers);
* the warnings about degenerate results (:mod:`simulator.results.degenerate`);
* the summary tables (every metric of a run, named and defined as in
  :data:`simulator.results.METRICS`; ``sweep.parquet`` of a sweep, with means and
  standard deviations over seeds per policy) and the metric definitions;
* every figure (made with :func:`simulator.plots.plot_results` if the folder
  has no ``figures/`` yet);
* the resolved scenario YAML (escaped), the trace's provenance (source,
  licence, models) and the package version.

:func:`write_report` backs ``spaceverse report RESULTS``.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .fileio import write_atomic

logger = logging.getLogger(__name__)

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:1.6em}
.meta{color:#555;font-size:.9em}
.banner{padding:.6em 1em;margin:1em 0;font-weight:bold;border-radius:4px}
.synthetic{background:#fde2e1;border:2px solid #d62728;color:#8b1a1a}
.modelled{background:#fff4d6;border:2px solid #e6a100;color:#6b4d00}
.warn{background:#eef3fb;border:2px solid #4a72b0;color:#1f3b66;font-weight:normal}
.warn ul{margin:.3em 0 0 1.2em;padding:0}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{color:#a00}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.8em;overflow-x:auto;font-size:.8em}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#444}
details{margin:.6em 0}summary{cursor:pointer;color:#333}
.wide{overflow-x:auto}
"""

#: Captions of the figures that :func:`simulator.plots.plot_results` writes.
CAPTIONS = {
    "latency_breakdown": "Mean latency per stage, end to end (including the wait for a contact "
                         "window); the transmission and waiting shares are annotated.",
    "latency_breakdown_in_contact": "Mean latency per stage while in contact (the paper's "
                                    "Fig. 4b view); the transmission share is annotated.",
    "satellite_timeline": "The busiest satellite: contact windows per station with each transfer, "
                          "downlink-buffer occupancy, and captures answered onboard or offloaded.",
    "contact_timeline": "Contact windows of every satellite with every ground station.",
    "fig4a_contact_fraction": "Share of time in contact against shell altitude (paper Fig. 4a).",
    "fig4b_latency_breakdown": "Mean service latency per stage per policy: each sample alone, "
                               "no queueing, no wait for contact (paper Fig. 4b).",
    "latency_breakdown_service": "Mean service latency per stage (each sample alone: the "
                                 "paper's per-sample latency).",
    "latency_breakdown_e2e": "Mean latency per stage per policy under the run's load, end to end "
                             "(including the wait for a contact window).",
    "fig4b_latency_breakdown_in_contact": "Mean latency per stage per policy in contact "
                                          "(paper Fig. 4b).",
    "fig9_accuracy_latency": "Accuracy (every sample answered) against mean service latency per "
                             "policy, means over seeds with standard-deviation bars; dashed: "
                             "Pareto front of the non-oracle policies (paper Fig. 9).",
    "fig9_accuracy_e2e_latency": "As Fig. 9 under the run's load: accuracy of the finished "
                                 "samples against the end-to-end latency (including the wait for "
                                 "contact).",
    "fig10_accuracy_vs_offloaded": "Accuracy against the number of offloaded samples "
                                   "(paper Fig. 10).",
    "fig11_ablation": "Progressive confidence network ablation: g, g' and g~ against Tabi's "
                      "threshold curve (paper Fig. 11).",
    "fig12_compression": "Accuracy against the compression ratio per compression method "
                         "(paper Fig. 12).",
    "e2e_latency_vs_altitude": "End-to-end latency including the wait for contact against shell "
                               "altitude.",
}

#: Facts of a run shown above its metrics: summary.json key -> label.
_RUN_FACTS = [
    ("policy", "policy"), ("compression", "compression"), ("trace", "trace"),
    ("samples", "samples simulated"), ("train_samples", "training pool (rows, never simulated)"),
    ("status", "status counts"), ("wait_contact_s_mean_offloaded",
                                  "mean wait for contact, offloaded (s)"),
    ("transmission_s", "transmission time, total (s)"),
    ("seed", "seed"), ("start_utc", "start (UTC)"), ("horizon_s", "horizon (s)"),
    ("preset", "model preset"), ("synthetic", "synthetic trace"),
    ("score_modelled", "modelled accuracy"), ("version", "written by spaceverse"),
]

#: Columns of the every-point table of a sweep report (after its axes).
_SWEEP_SHOWN = ["status", "policy", "compression", "trace", "accuracy_every_answer",
                "accuracy_all_samples", "accuracy_finished_samples", "service_mean_s",
                "in_contact_mean_s", "in_contact_p95_s", "end_to_end_mean_s", "offload_fraction",
                "offloaded", "compression_ratio", "pareto", "synthetic", "score_modelled",
                "warnings", "error"]
#: Metrics averaged over seeds in a sweep report.
_SWEEP_MEANS = ["accuracy_every_answer", "accuracy_all_samples", "accuracy_finished_samples",
                "service_mean_s", "in_contact_mean_s", "end_to_end_mean_s", "offload_fraction",
                "compression_ratio"]


# --------------------------------------------------------------------------- formatting


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value) -> str:
    """A compact, escaped cell."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        if v != 0 and (abs(v) >= 1e9 or abs(v) < 1e-3):
            return f"{v:.3e}"
        if abs(v) >= 1000:
            return f"{v:,.1f}".removesuffix(".0")
        return f"{v:.4g}"
    if isinstance(value, dict):
        if set(value) >= {"mean", "p50", "p95"}:
            return _esc(", ".join(f"{k} {_fmt(value[k])}" for k in ("mean", "p50", "p95", "max")
                                  if k in value))
        return _esc(", ".join(f"{k}: {v}" for k, v in value.items()
                              if not isinstance(v, (dict, list))))
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        text = ", ".join(map(str, items[:12])) + (f" ... ({len(items)} in all)" if len(items) > 12
                                                   else "")
        return _esc(text)
    return _esc(value)


def _is_num(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _table(frame: pd.DataFrame, *, failed: pd.Series | None = None) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = ' class="failed"' if failed is not None and bool(failed.iloc[i]) else ""
        cells = "".join(f'<td class="num">{_fmt(v)}</td>' if _is_num(v) else f"<td>{_fmt(v)}</td>"
                        for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="wide"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _kv_table(pairs) -> str:
    num, plain = '<td class="num">', "<td>"
    rows = "".join(f"<tr><th>{_esc(k)}</th>{num if _is_num(v) else plain}{_fmt(v)}</td></tr>"
                   for k, v in pairs)
    return f"<table>{rows}</table>"


def _flatten(data, prefix: str = ""):
    """``(dotted.key, value)`` pairs of nested dicts (lists kept whole)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), data


def _redact(text: str) -> str:
    """Local absolute paths made relative (``<project>/``, ``~/``, ``<tmp>/``): a report is
    shared, and where files sat on one machine is nobody else's business."""
    import tempfile

    from .paths import project_root

    for root, label in ((str(project_root()), "<project>"), (tempfile.gettempdir(), "<tmp>"),
                        (str(Path.home()), "~")):
        if root and root != "/":
            text = text.replace(root.rstrip("/") + "/", label + "/").replace(root, label)
    return text


def _pre(text: str) -> str:
    return f"<pre>{_esc(_redact(text))}</pre>"


def _img(path: Path) -> str:
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the figure ({exc.strerror or exc})") from None
    caption = CAPTIONS.get(path.stem, path.stem.replace("_", " "))
    return (f'<figure><img alt="{_esc(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption><b>{_esc(path.name)}</b>: {_esc(caption)}</figcaption></figure>")


def _warnings_html(messages: list[str]) -> str:
    """The warnings about degenerate results, as one banner (nothing when there are none)."""
    if not messages:
        return ""
    items = "".join(f"<li>{_esc(m)}</li>" for m in messages)
    return (f'<div class="banner warn"><b>WARNINGS: degenerate results</b> (read the numbers '
            f"with these in mind)<ul>{items}</ul></div>")


def _definitions(names=None) -> str:
    """The metric definition table (:func:`simulator.results.definitions_table`)."""
    from .results import definitions_table

    return "<h2>Metric definitions</h2>" + _table(definitions_table(names))


def _banners(synthetic: bool, modelled: bool) -> str:
    out = []
    if synthetic:
        out.append('<div class="banner synthetic">SYNTHETIC: these results come from a synthetic '
                   "trace (generated answers and scores), not from recorded model outputs. "
                   "They show how the system behaves, not what the paper's models achieve.</div>")
    if modelled:
        out.append('<div class="banner modelled">MODELLED ACCURACY: some scores of compressed '
                   "samples come from the compression accuracy model, not from a model "
                   "answering the compressed image.</div>")
    return "".join(out)


# --------------------------------------------------------------------------- sections


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "1.0")


def _mapping(value) -> dict:
    """``value`` if it is a mapping, else an empty one (a hand-edited or damaged summary)."""
    return value if isinstance(value, dict) else {}


def _read_text(path: Path) -> str:
    """A text file shown in the report (scenario YAML): undecodable bytes are replaced, and
    a file that cannot be read is shown as a note rather than failing the report."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        logger.warning("%s: cannot read (%s); left out of the report", path,
                       exc.strerror or exc)
        return f"({path.name} could not be read: {exc.strerror or exc})"


def _provenance(summaries: list[dict]) -> str:
    rows, seen = [], set()
    for s in summaries:
        trace = _mapping(s.get("trace"))
        key = json.dumps(trace, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        rows.append({"trace": trace.get("name"), "task": trace.get("task"),
                     "source": trace.get("source"), "licence": trace.get("licence"),
                     "models": trace.get("models"), "synthetic": trace.get("synthetic")})
    parts = [_table(pd.DataFrame(rows))] if rows else ["<p>No trace provenance recorded.</p>"]
    notes = {}
    for s in summaries:
        comp = _mapping(s.get("compression"))
        model = comp.get("accuracy_model")
        if isinstance(model, dict) and model.get("name"):
            notes[f"compression {comp.get('method')}: accuracy model"] = (
                f"{model.get('name')} v{model.get('version')}: {model.get('formula', '')}")
        if comp.get("scorer_label"):
            notes[f"compression {comp.get('method')}: region scorer"] = comp["scorer_label"]
        for k, v in _mapping(s.get("policy_notes")).items():
            notes[f"policy {_mapping(s.get('policy')).get('name', '')}: {k}"] = v
        link = s.get("link")
        if isinstance(link, dict):
            notes["link"] = ", ".join(f"{k}={v}" for k, v in link.items()
                                      if not isinstance(v, (dict, list)))
    if notes:
        parts.append("<details><summary>Model and policy notes</summary>"
                     + _kv_table(sorted(notes.items())) + "</details>")
    return "".join(parts)


def _figures(folder: Path, figures_dir: Path, staging: Path | None = None) -> str:
    """The figures of ``folder`` as inline images: those already in ``figures_dir``, or new
    ones.  New figures are drawn into ``staging`` when given (the caller keeps them once the
    report is written), else into ``figures_dir`` (into a temporary folder when that cannot
    be written, e.g. read-only results)."""
    import tempfile

    from .plots import FigureWriteError, plot_results

    pngs = sorted(figures_dir.glob("*.png")) if figures_dir.is_dir() else []
    if pngs:
        return _inline(pngs)
    try:
        written = plot_results(folder, out_dir=staging if staging is not None else figures_dir)
    except FigureWriteError as exc:
        logger.warning("figures not saved in the results folder (%s); inlined only", exc)
        with tempfile.TemporaryDirectory(prefix="spaceverse-report-") as tmp:
            written = plot_results(folder, out_dir=Path(tmp))
            return _inline([p for p in written if p.suffix == ".png"])
    return _inline([p for p in written if p.suffix == ".png"])


def _keep_figures(staging: Path, figures_dir: Path) -> None:
    """Move the figures drawn for a report into the results folder (best effort: a results
    folder that cannot be written only loses the cached figures, with a warning)."""
    import shutil

    from .fileio import write_atomic

    files = sorted(p for p in staging.iterdir() if p.is_file()) if staging.is_dir() else []
    if not files or figures_dir.is_dir() and any(figures_dir.glob("*.png")):
        return
    try:
        for file in files:
            write_atomic(figures_dir / file.name, lambda tmp, f=file: shutil.copyfile(f, tmp),
                         what="figure")
    except InputError as exc:
        logger.warning("figures not kept in the results folder: %s", exc)


def _inline(pngs: list[Path]) -> str:
    if not pngs:
        return "<p>No figure applies to these results.</p>"
    order = list(CAPTIONS)
    pngs = sorted(pngs, key=lambda p: (order.index(p.stem) if p.stem in order else len(order),
                                       p.name))
    return "".join(_img(p) for p in pngs)


def _interactive(folder: Path) -> list[str]:
    """The interactive globe, map, timeline and latency views (:mod:`simulator.view`), as a
    sandboxed inline frame; a note instead when they cannot be built for these results."""
    from .view import embed_for_report

    try:
        return ["<h2>Interactive view</h2>", embed_for_report(folder)]
    except (InputError, OSError, ValueError) as exc:
        logger.warning("report: no interactive view (%s)", exc)
        return ["<h2>Interactive view</h2>",
                f"<p>Not available for these results: {_esc(str(exc))}</p>"]


def _run_sections(folder: Path, staging: Path | None = None) -> tuple[str, str, bool, bool]:
    from .results import (METRIC_LIST, format_value, read_run_summary, run_metrics,
                          warnings_for)

    summary = read_run_summary(folder / "summary.json")
    values = run_metrics(folder)  # a damaged samples table is said first
    synthetic = _truthy(summary.get("synthetic", False))
    modelled = _truthy(summary.get("score_modelled", False))
    derived = dict(summary)
    policy = summary.get("policy") or {}
    comp = summary.get("compression") or {}
    if isinstance(policy, dict):
        params = ", ".join(f"{k}={v}" for k, v in policy.items() if k != "name")
        derived["policy"] = f"{policy.get('name')} ({params})" if params else policy.get("name")
    derived["compression"] = comp.get("method") if isinstance(comp, dict) else comp
    trace = summary.get("trace") or {}
    derived["trace"] = trace.get("name") if isinstance(trace, dict) else trace
    pairs = [(label, derived.get(key)) for key, label in _RUN_FACTS if key in derived]
    metrics = pd.DataFrame([{"metric": m.name, "value": format_value(m.name, values.get(m.name)),
                             "unit": m.unit, "what it counts": m.what} for m in METRIC_LIST])
    body = [_warnings_html(warnings_for(summary)), "<h2>Summary</h2>", _kv_table(pairs),
            "<h2>Metrics</h2>", "<p>Each metric with what it counts "
            "(<code>spaceverse runs show</code> prints the same table).</p>", _table(metrics),
            "<details><summary>Full summary.json</summary>",
            _kv_table(list(_flatten(summary))), "</details>"]
    scenario = folder / "scenario.yaml"
    body += ["<h2>Figures</h2>", _figures(folder, folder / "figures", staging)]
    body += _interactive(folder)
    body += ["<h2>Scenario (resolved)</h2>",
             _pre(_read_text(scenario)) if scenario.is_file() else "<p>No scenario.yaml.</p>"]
    body += ["<h2>Provenance</h2>", _provenance([summary])]
    title = f"Run {summary.get('run_id', folder.name)}"
    return title, "".join(body), synthetic, modelled


def _sweep_sections(folder: Path, staging: Path | None = None) -> tuple[str, str, bool, bool]:
    from .plots import _prepare, aggregate, ok_rows, provenance_flags
    from .results import (ACCURACIES, METRICS, format_value, read_run_summary,
                          read_sweep_table, sweep_axes, sweep_kind, warnings_for)

    sweep = read_sweep_table(folder)
    flags = provenance_flags(sweep)
    synthetic, modelled = "synthetic" in flags, "modelled accuracy" in flags
    axes = sweep_axes(sweep)
    failed = pd.Series(False, index=sweep.index)
    if len(sweep):
        failed = ~sweep.index.isin(ok_rows(sweep).index)
        failed = pd.Series(failed, index=sweep.index)
    counts = (f"<p>{len(sweep)} points, {int((~failed).sum())} finished, {int(failed.sum())} "
              f"failed or missing; swept axes: {_esc(', '.join(axes) or 'none')}.</p>")
    body = [_warnings_html(warnings_for(sweep)), "<h2>Summary</h2>", counts]
    metrics = [m for m in _SWEEP_MEANS if m in sweep.columns
               and pd.to_numeric(sweep[m], errors="coerce").notna().any()]
    accuracy = next((a for a in ACCURACIES if a in metrics), None)
    if accuracy is not None and (~failed).any():
        try:
            rows, _ = _prepare(sweep, [accuracy])
            agg = aggregate(rows, ["workload", "policy", "variant"], metrics)
            shown = agg[["workload", "policy", "variant", "n"]].copy()
            for m in metrics:
                shown[m] = [f"{format_value(m, a)} ± {format_value(m, s)}" if np.isfinite(a)
                            else "" for a, s in zip(agg[m], agg[f"{m}_std"])]
            body += ["<h3>Means ± standard deviation over seeds</h3>", _table(shown)]
        except InputError as exc:
            body.append(f"<p>No per-policy summary: {_esc(exc)}</p>")
    columns = ["point", *[a for a in axes if a in sweep.columns],
               *[c for c in _SWEEP_SHOWN if c in sweep.columns and c not in axes]]
    columns = list(dict.fromkeys(columns))
    points = sweep[[c for c in columns if c in sweep.columns]].copy()
    for name in points.columns:  # metrics as every table prints them (%, s)
        if name in METRICS and not METRICS[name].unit.startswith(("samples", "bytes")):
            points[name] = [format_value(name, v) if pd.notna(v) else None
                            for v in points[name]]
    body += ["<details><summary>Every point (sweep.parquet)</summary>",
             _table(points, failed=failed), "</details>", _definitions()]
    body += ["<h2>Figures</h2>", _figures(folder, folder / "figures", staging)]
    body += _interactive(folder)
    yamls = sorted(list(folder.glob("*.yaml")) + list(folder.glob("*.yml")))
    summaries, first_scenario = [], None
    if "run_dir" in sweep.columns:
        for run_dir in sweep.loc[~failed.to_numpy(), "run_dir"].dropna():
            run = folder / str(run_dir)
            if (run / "summary.json").exists():
                try:
                    summaries.append(read_run_summary(run / "summary.json"))
                except InputError as exc:
                    logger.warning("%s; left out of the provenance", exc)
                    continue
                if first_scenario is None and (run / "scenario.yaml").is_file():
                    first_scenario = run / "scenario.yaml"
    body.append("<h2>Scenario</h2>")
    for y in yamls:
        body += [f"<h3>{_esc(y.name)}</h3>", _pre(_read_text(y))]
    if first_scenario is not None:
        opening = (f"<details{'' if yamls else ' open'}><summary>Resolved scenario of the "
                   f"first finished point ({_esc(first_scenario.parent.name)})</summary>")
        body += [opening, _pre(_read_text(first_scenario)), "</details>"]
    if not yamls and first_scenario is None:
        body.append("<p>No scenario file found.</p>")
    body += ["<h2>Provenance</h2>", _provenance(summaries) if summaries else
             "<p>No run summaries found; traces: "
             + _esc(", ".join(sorted(set(sweep.get("trace", pd.Series(dtype=str)).dropna()
                                         .astype(str))))) + ".</p>"]
    kind = "Comparison" if sweep_kind(folder) == "compare" else "Sweep"
    return f"{kind} {folder.name}", "".join(body), synthetic, modelled


# --------------------------------------------------------------------------- entry point


def render_report(path, *, staging=None) -> str:
    """The report's HTML text for the run or sweep folder ``path``.

    Figures the folder does not have yet are drawn into ``<folder>/figures/``, or into
    ``staging`` when given (see :func:`write_report`).
    """
    folder = Path(path)
    staging = Path(staging) if staging is not None else None
    if (folder / "sweep.parquet").exists():
        title, body, synthetic, modelled = _sweep_sections(folder, staging)
        kind = "sweep"
    elif (folder / "summary.json").exists() and (folder / "samples.parquet").exists():
        title, body, synthetic, modelled = _run_sections(folder, staging)
        kind = "run"
    else:
        raise InputError(f"{folder}: not a run folder (summary.json, samples.parquet) "
                         "or a sweep folder (sweep.parquet)")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    heading = f"{title}{' (SYNTHETIC)' if synthetic else ''}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>spaceverse: {_esc(heading)}</title><style>{CSS}</style></head><body>"
            f"<h1>spaceverse: {_esc(heading)}</h1>"
            f'<p class="meta">{kind} folder <code>{_esc(folder.resolve().name)}</code>; report written '
            f"{now} by spaceverse {_esc(__version__)}.</p>"
            f"{_banners(synthetic, modelled)}{body}"
            f'<p class="meta">spaceverse {_esc(__version__)}: a discrete-event simulator of '
            "satellite-ground VLM inference (reproducing SpaceVerse, ACM MM 2025).</p>"
            "</body></html>\n")


def write_report(path, out=None) -> Path:
    """Write the self-contained HTML report of a run or sweep folder; return its path.

    ``out`` defaults to ``<folder>/report.html``.  Figures are made (and kept in
    ``<folder>/figures/`` once the report is written) when the folder has none.  Written
    atomically; a report that cannot be written leaves nothing new behind.
    Backs ``spaceverse report RESULTS``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    import tempfile

    target = Path(out) if out is not None else folder / "report.html"
    check_output_file(target, "report")
    # New figures wait in a temporary folder until the report is written, so that a
    # report that cannot be written leaves nothing behind in the results folder.
    with tempfile.TemporaryDirectory(prefix="spaceverse-figures-") as staging:
        text = render_report(folder, staging=staging)
        write_output_file(target, text.encode("utf-8"), "report")
        _keep_figures(Path(staging), folder / "figures")
    logger.info("wrote %s", target)
    return target


def check_output_file(path, what: str = "file") -> Path:
    """``path`` if a file can be written there, else a one-line :class:`InputError`.

    Checked before any work: ``path`` must not be a folder, and its nearest existing
    ancestor must be a folder (missing folders in between are created on writing).
    Nothing is created here.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, cannot write the {what} there")
    if path.exists() and not path.is_file():
        return path  # a device or a pipe (/dev/stdout): written in place
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{path}: {ancestor} is not a folder, cannot write the {what} there")
    problem = probe_folder(ancestor)
    if problem:
        raise InputError(f"{path}: cannot write the {what} there ({problem})")
    return path


def probe_folder(folder) -> str | None:
    """Why nothing can be created in ``folder`` (e.g. "Permission denied"), or None.

    Tries for real (a hidden temporary folder, removed at once): permission bits do not
    tell, for root or on read-only and special file systems.
    """
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".spaceverse-probe-", dir=folder))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def write_output_file(path, data: bytes, what: str = "file") -> Path:
    """Write ``data`` to the user-named ``path``; every OS error becomes one line.

    A regular file (or a new name) is written atomically (:func:`simulator.fileio.write_atomic`);
    an existing non-regular file (``/dev/stdout``, a pipe, ``/dev/full``) is written in
    place, never replaced by a file.
    """
    path = check_output_file(path, what)
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise InputError(f"{path}: cannot write the {what} ({exc.strerror or exc})") from None
        return path
    return write_atomic(path, lambda tmp: tmp.write_bytes(data), what=what)
