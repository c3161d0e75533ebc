"""The paper's motivation figures: Fig. 4a (contact share of the orbit against
altitude) and Fig. 4b (where a sample's latency goes, transmission share)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ..errors import InputError
from .data import breakdown_table
from .style import (COLUMN_WIDTH_IN, DOUBLE_WIDTH_IN, LINE_COLOURS, PAPER_CONTACT_SHARE,
                    PAPER_GS_OVER_ONBOARD, PAPER_TX_SHARE_GS_ONLY, SERVICE_STAGES, STAGES,
                    _fmt_duration, _main_title, _panel_title, _save, _save_all, _style,
                    _suptitle, _time_unit, _with_note, _wrap, provenance_note)

# --------------------------------------------------------------------------- Fig. 4a

_FIG4A_SERIES = [("pass_fraction_of_period", "o", "-", "mean pass / orbital period"),
                 ("overhead_pass_fraction", "s", "--", "overhead pass / orbital period"),
                 ("mean_contact_fraction", "^", ":", "time in contact (mean satellite)")]


def _fig4a_axes(ax, table: pd.DataFrame, paper_value: float) -> None:
    table = table.sort_values("altitude_km")
    series = (list(dict.fromkeys(table["series"].fillna("")))
              if "series" in table.columns else [""])
    several = len(series) > 1
    drawn = 0
    handles = []
    for col, marker, ls, label in _FIG4A_SERIES:
        if col not in table.columns or not table[col].notna().any():
            continue
        for i, name in enumerate(series):
            part = table[table["series"].fillna("") == name] if several else table
            colour = LINE_COLOURS[i % len(LINE_COLOURS)] if several else None
            ax.plot(part["altitude_km"].to_numpy(float), 100 * part[col].to_numpy(float),
                    marker=marker, ls=ls, color=colour, label=None if several else label)
            drawn += 1
        if several:
            handles.append(Line2D([], [], color="0.2", marker=marker, ls=ls, label=label))
    if not drawn:
        raise InputError("contact-fraction table has none of pass_fraction_of_period, "
                         "overhead_pass_fraction, mean_contact_fraction")
    ax.axhline(100 * paper_value, color="grey", ls=":",
               label=f"paper Fig. 4a ({100 * paper_value:.2f} %)")
    ax.set_xlabel("altitude (km)")
    ax.set_ylabel("share of time (%)")
    ax.set_ylim(bottom=0)
    if several:
        handles += [Line2D([], [], color=LINE_COLOURS[i % len(LINE_COLOURS)], lw=2,
                           label=name or "(base)") for i, name in enumerate(series)]
        handles.append(Line2D([], [], color="grey", ls=":",
                              label=f"paper Fig. 4a ({100 * paper_value:.2f} %)"))
        fig = ax.figure
        fig.set_figheight(fig.get_figheight() + 0.16 * math.ceil(len(handles) / 2))
        fig.legend(handles=handles, loc="outside lower center", ncol=2)
    else:
        ax.legend()


def contact_fraction_vs_altitude(table: pd.DataFrame, path, *,
                                 paper_value: float = PAPER_CONTACT_SHARE,
                                 title: str | None = None) -> Path:
    """Contact fraction (simulated mean and analytic overhead pass) against altitude.

    ``table`` has ``altitude_km`` and some of ``pass_fraction_of_period``,
    ``mean_contact_fraction``, ``overhead_pass_fraction`` (fractions, not
    percent); the paper's Fig. 4a average is drawn as a dotted line.  Writes the
    one file ``path``.
    """
    with _style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.6), layout="constrained")
        _fig4a_axes(ax, table, paper_value)
        text = _with_note(title or "", provenance_note(table))
        if text:
            ax.set_title(_wrap(text, COLUMN_WIDTH_IN))
        return _save(fig, path)


def fig4a_contact_fraction(table: pd.DataFrame, path, *, paper_value: float = PAPER_CONTACT_SHARE,
                           title: str = "Contact window share vs altitude"):
    """Paper Fig. 4a: share of time in contact with a ground station against altitude.

    ``table`` as for :func:`contact_fraction_vs_altitude` (from
    ``spaceverse contacts --altitudes`` or :func:`contact_fraction_table`);
    rows of one altitude (and one ``series``, e.g. one set of ground stations:
    one line each) are averaged.  Writes ``<stem>.png`` and ``<stem>.pdf``.
    """
    if "altitude_km" not in table.columns or not len(table):
        raise InputError("contact-fraction table needs rows with an altitude_km column")
    numeric = [c for c in ("pass_fraction_of_period", "overhead_pass_fraction",
                           "mean_contact_fraction") if c in table.columns]
    keys = ["altitude_km"] + (["series"] if "series" in table.columns else [])
    means = table.fillna({"series": ""}).groupby(keys, as_index=False, sort=False)[numeric].mean()
    with _style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.6), layout="constrained")
        _fig4a_axes(ax, means, paper_value)
        ax.set_title(_wrap(_with_note(title, provenance_note(table)), COLUMN_WIDTH_IN))
        return _save_all(fig, path)


# --------------------------------------------------------------------------- Fig. 4b

_VIEWS = {
    "service": ("Service latency per stage (paper Fig. 4b view)",
                "mean service latency per sample"),
    "in-contact": ("Latency per stage in contact, under load",
                   "mean in-contact latency per offloaded sample"),
    "end-to-end": ("Latency per stage end to end, under load (incl. wait for contact)",
                   "mean end-to-end latency per offloaded sample"),
}


def _default_view(table_or_run) -> str:
    try:
        breakdown_table(table_or_run, "service")
        return "service"
    except InputError:
        return "in-contact"


def fig4b_latency_breakdown(table_or_run, path, *, view: str | None = None,
                            include_wait: bool | None = None, title: str | None = None,
                            paper_share: float = PAPER_TX_SHARE_GS_ONLY,
                            paper_ratio: float = PAPER_GS_OVER_ONBOARD):
    """Paper Fig. 4b: mean latency per stage as stacked horizontal bars, one per policy
    (or per swept setting), each annotated with its total and transmission share;
    one panel per workload and preset.

    ``view``: ``service`` (default when the table has ``service_mean_s``: each
    sample alone, averaged over all samples — ground-only is transmission +
    propagation + ground compute, satellite-only onboard compute; the paper's
    view, with GS-only's multiple of satellite-only's latency annotated),
    ``in-contact`` (under load, finished offloaded samples, no wait; the default
    for older tables) or ``end-to-end`` (under load, with the wait for a contact
    window).  ``include_wait`` (older spelling) picks end-to-end / in-contact.
    The paper's GS-only numbers (76.39 % transmission, 4.14x onboard) are quoted
    in the legend title.
    """
    if view is None and include_wait is not None:
        view = "end-to-end" if include_wait else "in-contact"
    view = view or _default_view(table_or_run)
    table = breakdown_table(table_or_run, view)
    stages = {"service": SERVICE_STAGES, "end-to-end": STAGES,
              "in-contact": [s for s in STAGES if s[0] != "wait_contact_s"]}[view]
    names = [c for c, _, _ in stages]
    all_values = np.nan_to_num(np.column_stack(
        [table[f"{c}_mean"].to_numpy(float) for c in names]), nan=0.0)
    totals_all = np.nan_to_num(table["total"].to_numpy(float), nan=0.0)
    scale, unit = _time_unit(float(totals_all.max()) if len(totals_all) else 0.0)
    panels = list(dict.fromkeys(zip(table["preset"], table["workload"])))
    presets = list(dict.fromkeys(p for p, _ in panels))
    workloads = list(dict.fromkeys(w for _, w in panels))
    n_bars = max(int(((table["preset"] == p) & (table["workload"] == w)).sum()) for p, w in panels)
    drawn: dict = {}
    with _style():
        ncols = min(len(panels), 2)
        nrows = math.ceil(len(panels) / ncols)
        longest = max((len(str(label)) for label in table["label"]), default=10)
        width = (min(DOUBLE_WIDTH_IN, max(COLUMN_WIDTH_IN, 2.9 + 0.055 * longest)) if ncols == 1
                 else DOUBLE_WIDTH_IN)
        fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharex=True, layout="constrained",
                                 figsize=(width, nrows * (0.75 + 0.3 * n_bars) + 0.9))
        axes = axes.ravel().tolist()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax, (preset, workload) in zip(axes, panels):
            sel = ((table["preset"] == preset) & (table["workload"] == workload)).to_numpy()
            part, values, totals = table[sel], all_values[sel], totals_all[sel]
            y = np.arange(len(part))
            left = np.zeros(len(part))
            for k, (col, label, colour) in enumerate(stages):
                width_k = values[:, k] / scale
                if not np.any(width_k > 0):
                    continue
                drawn[label] = ax.barh(y, width_k, left=left, height=0.62, color=colour,
                                       edgecolor="white", linewidth=0.3)
                left += width_k
            for i, note in enumerate(_bar_notes(part, values, totals, names, view)):
                if note:
                    ax.text(totals[i] / scale, i, " " + note, va="center", ha="left", fontsize=7)
            ax.set_yticks(y)
            ax.set_yticklabels(part["label"])
            ax.set_ylim(len(part) - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel(f"{_VIEWS[view][1]} ({unit})")
            ax.set_title(_panel_title(workload, preset, workloads=len(workloads),
                                      presets=len(presets)))
        xmax = max(totals_all.max() / scale, 1e-9) if len(totals_all) else 1.0
        for ax in axes[: len(panels)]:
            ax.set_xlim(0, xmax * (2.6 if view == "end-to-end" else 2.0))
        main = title or _main_title(_VIEWS[view][0], workloads, presets)
        _suptitle(fig, main, provenance_note(table, synthetic_what="synthetic trace"))
        if drawn:
            fig.legend(list(drawn.values()), list(drawn), loc="outside lower center",
                       ncol=min(len(drawn), 3), handlelength=1.2, columnspacing=1.0,
                       title=f"paper Fig. 4b, GS-only (always connected): transmission "
                             f"{100 * paper_share:.2f} % of its latency, {paper_ratio:g}x onboard")
        return _save_all(fig, path, {"view": view})


def _bar_notes(part: pd.DataFrame, values: np.ndarray, totals: np.ndarray, names: list[str],
               view: str) -> list[str]:
    """Total, transmission share (and wait share; GS-only's multiple of satellite-only)."""
    onboard = {}
    for i, (policy, series) in enumerate(zip(part["policy"], part["series"])):
        if policy == "satellite-only" and totals[i] > 0:
            onboard[series] = totals[i]
    notes = []
    for i in range(len(part)):
        if totals[i] <= 0:
            notes.append("")
            continue
        share = 100 * values[i] / totals[i]
        note = f"{_fmt_duration(totals[i])}, tx {share[names.index('tx_s')]:.1f} %"
        if view == "end-to-end":
            note += f", wait {share[names.index('wait_contact_s')]:.1f} %"
        base = onboard.get(part["series"].iloc[i])
        if view == "service" and part["policy"].iloc[i] == "ground-only" and base:
            note += f", {totals[i] / base:.2f}x onboard"
        notes.append(note)
    return notes
