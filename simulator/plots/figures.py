"""Which figures a results folder gets: :data:`FIGURES` and :func:`plot_results`.

A figure is drawn only where its axes were swept (Fig. 12 for a sweep of the
compression method or its parameters, Fig. 10 for a sweep of a policy's own
parameter, ...); ``plot_results(folder, figures=[...])`` draws the named ones.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .beyond import contact_timeline, e2e_latency_vs_altitude, isl_relay, satellite_timeline
from .data import (ALTITUDE_AXIS, CONTACT_COLUMNS, RUN_SAMPLE_COLUMNS, _key, _prepare,
                   contact_fraction_table, ok_rows, read_run_summary, read_table_file)
from .motivation import fig4a_contact_fraction, fig4b_latency_breakdown
from .paper import (ABLATION_POLICIES, fig9_accuracy_latency, fig10_accuracy_vs_offloaded,
                    fig11_ablation, fig12_compression)
from .style import FigureWriteError, _with_note, provenance_note

logger = logging.getLogger("simulator.plots")

#: Figure names (for ``plot_results(figures=...)`` and ``spaceverse plot --figure``) with
#: what each shows and what it needs.
FIGURES = {
    "fig4a": "share of time in contact vs shell altitude (paper Fig. 4a); sweep over "
             "constellation.walker.altitude_km with contacts.parquet in its run folders",
    "fig4b": "service latency per stage per policy, transmission share, GS-only vs onboard "
             "(paper Fig. 4b); sweep over 2+ policies, or a run",
    "fig4b-in-contact": "latency per stage in contact under load (finished offloaded "
                        "samples); sweep over 2+ policies, or a run",
    "breakdown-e2e": "latency per stage end to end under load, incl. the wait for contact "
                     "(beyond the paper); sweep over policies, altitude or stations, or a run",
    "fig9": "accuracy vs service latency per policy with the Pareto front (paper Fig. 9); "
            "sweep over 2+ policies",
    "fig9-e2e": "accuracy vs end-to-end latency under load (beyond the paper); sweep over "
                "2+ policies",
    "fig10": "accuracy vs offloaded samples, a curve per policy over its swept parameter "
             "(paper Fig. 10); sweep over policy.params",
    "fig11": "confidence-network ablation g, g', g~ vs Tabi's threshold curve (paper "
             "Fig. 11); sweep with spaceverse-g / spaceverse-g-prime or Tabi's threshold",
    "fig12": "accuracy vs compression ratio per compression method (paper Fig. 12); sweep "
             "over the compression method or its parameters",
    "latency-vs-altitude": "latency under load vs shell altitude per station count (beyond "
                           "the paper); sweep over constellation.walker.altitude_km",
    "isl-relay": "end-to-end latency and wait for contact with and without inter-satellite "
                 "links per station set (beyond the paper); sweep over isl",
    "satellite-timeline": "the busiest satellite's contacts, transfers, buffer and captures; "
                          "a run",
    "contact-timeline": "contact windows of every satellite with every station; a run",
}

#: File stem of each figure, for a sweep folder and for a run folder.
SWEEP_STEMS = {
    "fig4a": "fig4a_contact_fraction", "fig4b": "fig4b_latency_breakdown",
    "fig4b-in-contact": "fig4b_latency_breakdown_in_contact",
    "breakdown-e2e": "latency_breakdown_e2e", "fig9": "fig9_accuracy_latency",
    "fig9-e2e": "fig9_accuracy_e2e_latency", "fig10": "fig10_accuracy_vs_offloaded",
    "fig11": "fig11_ablation", "fig12": "fig12_compression",
    "latency-vs-altitude": "e2e_latency_vs_altitude", "isl-relay": "isl_relay",
}
RUN_STEMS = {
    "fig4b": "latency_breakdown_service", "fig4b-in-contact": "latency_breakdown_in_contact",
    "breakdown-e2e": "latency_breakdown", "satellite-timeline": "satellite_timeline",
    "contact-timeline": "contact_timeline",
}


def _names(figures: Sequence[str] | str | None) -> list[str] | None:
    if figures is None:
        return None
    if isinstance(figures, str):
        figures = [figures]
    by_stem = {stem: name for stems in (SWEEP_STEMS, RUN_STEMS) for name, stem in stems.items()}
    out = []
    for name in figures:
        key = by_stem.get(str(name), str(name))
        if key not in FIGURES:
            close = difflib.get_close_matches(str(name), list(FIGURES), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InputError(f"unknown figure {name!r}{hint}; figures: {', '.join(FIGURES)}")
        out.append(key)
    return list(dict.fromkeys(out))


class _Plan:
    """The figures of one folder: name -> (reason it does not apply or None, maker)."""

    def __init__(self):
        self.items: dict[str, tuple[str | None, Callable[[], list[Path]] | None]] = {}

    def add(self, name: str, reason: str | None, make: Callable[[], list[Path]] | None = None):
        self.items[name] = (reason, make)

    def run(self, wanted: list[str] | None, kind: str) -> list[Path]:
        written: list[Path] = []
        problems = []
        for name in wanted if wanted is not None else list(self.items):
            reason, make = self.items.get(name, (f"not made for a {kind} folder", None))
            if reason is None and make is not None:
                try:
                    written.extend(make())
                    continue
                except FigureWriteError:
                    raise  # drawn but not writable: an error, never "does not apply"
                except InputError as exc:
                    reason = str(exc)
            if wanted is None:
                logger.info("figure %s skipped: %s", name, reason)
            else:
                logger.warning("figure %s not drawn: %s", name, reason)
                problems.append(f"{name}: {reason}")
        if wanted is not None and not written and problems:
            raise InputError("no figure drawn (" + "; ".join(problems) + ")")
        return written


def _run_plan(folder: Path, out: Path) -> _Plan:
    plan = _Plan()
    summary = read_run_summary(folder / "summary.json")
    columns = read_table_file(folder / "samples.parquet", "samples table",
                              RUN_SAMPLE_COLUMNS).columns
    plan.add("fig4b", None if "service_latency_s" in columns else
             "samples.parquet has no service_latency_s (an older run)",
             lambda: fig4b_latency_breakdown(folder, out / RUN_STEMS["fig4b"], view="service"))
    plan.add("fig4b-in-contact", None, lambda: fig4b_latency_breakdown(
        folder, out / RUN_STEMS["fig4b-in-contact"], view="in-contact"))
    plan.add("breakdown-e2e", None, lambda: fig4b_latency_breakdown(
        folder, out / RUN_STEMS["breakdown-e2e"], view="end-to-end"))
    plan.add("satellite-timeline", None,
             lambda: satellite_timeline(folder, out / RUN_STEMS["satellite-timeline"]))
    contacts = folder / "contacts.parquet"
    if not contacts.exists():
        plan.add("contact-timeline", f"{folder} has no contacts.parquet")
        return plan
    windows = read_table_file(contacts, "contact table", CONTACT_COLUMNS)
    if not len(windows):
        plan.add("contact-timeline", f"no contact windows in {contacts}")
        return plan
    note = provenance_note(pd.DataFrame([{"synthetic": summary.get("synthetic", False)}]),
                           synthetic_what="synthetic trace")
    title = _with_note(f"Contact windows of {summary.get('run_id', folder.name)}", note)
    horizon = float(summary.get("horizon_s") or windows["set_s"].max())
    stem = out / RUN_STEMS["contact-timeline"]
    plan.add("contact-timeline", None, lambda: [
        contact_timeline(windows, stem.with_name(stem.name + s), duration_s=horizon, title=title)
        for s in (".png", ".pdf")])
    return plan


def _sweep_plan(folder: Path, out: Path) -> _Plan:
    plan = _Plan()
    sweep = read_table_file(folder / "sweep.parquet", "sweep table")
    ok = ok_rows(sweep)
    if not len(ok):
        for name in SWEEP_STEMS:
            plan.add(name, f"no finished points in {folder / 'sweep.parquet'}")
        return plan
    policies = set(ok["policy"].map(_key)) if "policy" in ok.columns else set()

    def varies(col: str) -> bool:
        return col in ok.columns and ok[col].map(_key).nunique() > 1

    try:
        prepared, varying = _prepare(sweep, [])
    except InputError:
        prepared, varying = ok.assign(knob="", policy=ok.get("policy", "")), []
    knob_swept = bool((prepared["knob"] != "").any())
    several = len(policies) > 1
    stem = {name: out / s for name, s in SWEEP_STEMS.items()}
    alt = None if varies(ALTITUDE_AXIS) else f"no {ALTITUDE_AXIS} axis with 2+ values"
    plan.add("fig4a", alt, lambda: fig4a_contact_fraction(
        contact_fraction_table(sweep, folder), stem["fig4a"]))
    one_policy = None if several else "one allocation policy (the bars compare policies)"
    plan.add("fig4b", one_policy, lambda: fig4b_latency_breakdown(sweep, stem["fig4b"]))
    plan.add("fig4b-in-contact", one_policy, lambda: fig4b_latency_breakdown(
        sweep, stem["fig4b-in-contact"], view="in-contact"))
    e2e_swept = several or alt is None or varies("stations") or varies("ground_stations")
    plan.add("breakdown-e2e", None if e2e_swept else
             "neither the policy, the altitude nor the stations were swept",
             lambda: fig4b_latency_breakdown(sweep, stem["breakdown-e2e"], view="end-to-end"))
    fig9_reason = None if several or knob_swept else "one policy at one setting"
    plan.add("fig9", fig9_reason, lambda: fig9_accuracy_latency(sweep, stem["fig9"]))
    plan.add("fig9-e2e", fig9_reason, lambda: fig9_accuracy_latency(
        sweep, stem["fig9-e2e"], latency="end_to_end_mean_s",
        accuracy="accuracy_finished_samples"))
    plan.add("fig10", None if knob_swept else "no policy parameter (policy.params) swept",
             lambda: fig10_accuracy_vs_offloaded(sweep, stem["fig10"]))
    tabi_knob = bool(((prepared["policy"] == "tabi") & (prepared["knob"] != "")).any())
    ablation = policies & {"spaceverse-g", "spaceverse-g-prime"} or (
        "tabi" in policies and tabi_knob)
    plan.add("fig11", None if ablation and policies & set(ABLATION_POLICIES) else
             "no spaceverse-g / spaceverse-g-prime rows and no Tabi threshold sweep",
             lambda: fig11_ablation(sweep, stem["fig11"]))
    plan.add("fig12", None if _compression_swept(sweep) else
             "no compression method or compression parameter varies within a policy",
             lambda: fig12_compression(sweep, stem["fig12"]))
    plan.add("latency-vs-altitude", alt, lambda: e2e_latency_vs_altitude(
        sweep, stem["latency-vs-altitude"]))
    plan.add("isl-relay", None if varies("isl") else
             "no isl axis swept", lambda: isl_relay(sweep, stem["isl-relay"]))
    return plan


def _compression_swept(sweep: pd.DataFrame) -> bool:
    """Whether the compression method or its parameters vary among rows of one policy."""
    table = sweep
    if "compression" not in table.columns and "policy.compression.method" in table.columns:
        table = table.assign(compression=table["policy.compression.method"])
    if "compression" not in table.columns:
        return False
    try:
        rows, varying = _prepare(table, [], knobs=())
    except InputError:
        return False
    if (rows.groupby(["workload", "preset", "policy"])["compression"].nunique() > 1).any():
        return True
    return any(a.startswith("policy.compression") for a in varying)


def check_output_folder(out) -> Path:
    """``out`` if figures can go there (an existing folder, or a path whose nearest existing
    ancestor is a folder); a one-line :class:`FigureWriteError` otherwise.  Creates nothing:
    the folder is made when the first figure is written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FigureWriteError(f"{out}: not a folder, cannot write figures there")
    ancestor = out
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor != out and not ancestor.is_dir():
        raise FigureWriteError(f"{out}: {ancestor} is not a folder, cannot write figures there")
    return out


def plot_results(path, out_dir=None, figures: Sequence[str] | str | None = None) -> list[Path]:
    """The figures of a run folder or a sweep folder, from its saved results.

    A folder with ``sweep.parquet`` is a sweep, one with ``summary.json`` and
    ``samples.parquet`` a run.  ``figures`` (names of :data:`FIGURES`, or file
    stems) picks figures; by default every figure whose axes the folder swept
    (others are skipped with an info line in the log).  A named figure that
    cannot be drawn is a warning, and an :class:`~simulator.errors.InputError`
    when none of the named ones could be.  Figures go to ``<folder>/figures/``
    unless ``out_dir`` is given.  Backs ``spaceverse plot``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    wanted = _names(figures)
    out = check_output_folder(Path(out_dir) if out_dir is not None else folder / "figures")
    if (folder / "sweep.parquet").exists():
        written = _sweep_plan(folder, out).run(wanted, "sweep")
    elif (folder / "summary.json").exists() and (folder / "samples.parquet").exists():
        written = _run_plan(folder, out).run(wanted, "run")
    else:
        raise InputError(f"{folder}: not a run folder (summary.json, samples.parquet) "
                         "or a sweep folder (sweep.parquet)")
    for p in written:
        logger.info("wrote %s", p)
    return written
