"""The paper's evaluation figures from a sweep table: Figs. 9, 10, 11 and 12.

Latency is the paper's metric, the *service* latency (each sample alone, no
queueing, no wait for a contact window: ``service_mean_s``), when the table has
it; older tables fall back to the in-contact latency under load, and the axis
says which.  Every figure has one panel per workload and model preset, one
curve per policy (and per other swept setting) drawn over the policy's swept
parameter, and averages over seeds only (error bars: standard deviation over
seeds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..errors import InputError
from .data import (THRESHOLD_AXIS, _prepare, aggregate, compression_x, knob_range,
                   latency_column, pareto_front)
from .markers import Curve, _fraction, draw_curves, limits
from .style import (COMPRESSION_STYLE, LATENCY_NAMES, LINE_STYLES, _add_handle,
                    _compression_style, _finish, _main_title, _ordered_policies, _panel_grid,
                    _panel_title, _policy_style, _style, _time_unit)

ABLATION_POLICIES = ("spaceverse", "spaceverse-g", "spaceverse-g-prime", "tabi")
_ABLATION_LABELS = {"spaceverse": r"SpaceVerse ($\tilde{g}$)",
                    "spaceverse-g": r"$g$ only", "spaceverse-g-prime": r"$g'$ only"}
_SHORT = {"satellite-only": "Sat-only", "ground-only": "GS-only", "tabi": "Tabi",
          "ai-rg": "AI-RG", "spaceverse": "SpaceVerse", "spaceverse-g": "g only",
          "spaceverse-g-prime": "g' only"}


# --------------------------------------------------------------------------- shared


def _sorted_points(pts: pd.DataFrame, x: str) -> pd.DataFrame:
    """A curve's points in the order of its swept parameter (then of ``x``)."""
    sort = pts["_knob_sort"] if "_knob_sort" in pts.columns else [()] * len(pts)
    order = sorted(range(len(pts)), key=lambda r: (sort.iloc[r] if hasattr(sort, "iloc")
                                                   else sort[r], pts[x].iloc[r]))
    return pts.iloc[order]


def _curves(part: pd.DataFrame, x: str, y: str, *, xs: float = 1.0, ys: float = 100.0,
            groups=None, labels: dict | None = None) -> list[Curve]:
    """One :class:`Curve` per (policy, series) of an aggregated panel, over its knob.

    ``groups`` (default: by policy) yields ``(gid, selector, (label, colour, marker))``,
    optionally with a line style as a fourth item (else one per series).
    """
    series = list(dict.fromkeys(part["_series"]))
    if groups is None:
        groups = [(p, part["policy"] == p, _policy_style(p, i))
                  for i, p in enumerate(_ordered_policies(part["policy"]))]
    curves = []
    for i, (gid, selector, (label, colour, marker), *style) in enumerate(groups):
        label = (labels or {}).get(gid, label)
        for j, key in enumerate(series):
            pts = part[selector & (part["_series"] == key)]
            if not len(pts):
                continue
            pts = _sorted_points(pts, x)
            name = label + (f" · {pts['series'].iloc[0]}" if pts["series"].iloc[0] else "")
            rng = knob_range(pts)
            name += f" ({rng})" if rng else ""
            curves.append(Curve(
                label=name, colour=colour, marker=marker, gid=gid,
                x=pts[x].to_numpy(float) / xs, y=pts[y].to_numpy(float) * ys,
                xerr=pts[f"{x}_std"].to_numpy(float) / xs if f"{x}_std" in pts else
                np.zeros(len(pts)), yerr=pts[f"{y}_std"].to_numpy(float) * ys,
                knobs=list(pts["knob"]), order=100 * i + j,
                ls=style[0] if style else LINE_STYLES[j % len(LINE_STYLES)]))
    return curves


def _draw_panel(ax, curves: list[Curve], handles: dict, *, log: bool, top_pad: float = 0.0,
                xfloor=None, end_labels: bool = True, extra_y=()) -> dict:
    xs = np.concatenate([c.x for c in curves]) if curves else np.array([])
    xe = np.concatenate([c.xerr for c in curves]) if curves else np.array([])
    ys = np.concatenate([c.y for c in curves] + [np.asarray(extra_y, float)])
    ye = np.concatenate([c.yerr for c in curves] + [np.zeros(len(extra_y))])
    labelled = end_labels and any(len(c.x) > 1 and any(c.knobs) for c in curves)
    pad = 0.13 if labelled else 0.08  # room for the parameter values at the curves' ends
    if log:
        ax.set_xscale("log")
        xlim = limits(np.where(xs - xe > 0, xs - xe, xs), xs + xe, log=True, pad=pad)
    else:
        xlim = limits(xs - xe, xs + xe, floor=xfloor, pad=pad)
    ylim = limits(ys - ye, ys + ye, floor=0.0, ceil=100.0, top_pad=top_pad, pad=pad)
    if ylim[1] - ylim[0] < 4:  # at least 4 points of accuracy: seed noise is not magnified
        mid = (ylim[0] + ylim[1]) / 2
        ylim = (max(0.0, mid - 2), min(100.0, mid + 2))
    drawn = draw_curves(ax, curves, xlim=xlim, ylim=ylim, logx=log, end_labels=end_labels)
    for c in curves:
        _add_handle(handles, c.label, c.colour, c.marker, c.ls if len(c.x) > 1 else "none")
    if drawn["nudged"]:
        _add_handle(handles, "true position (markers moved apart)", "black", "o")
        handles["true position (markers moved apart)"].set_markersize(2)
    return drawn


def _should_log(values) -> bool:
    vals = np.asarray(values, float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return bool(len(vals) >= 2 and vals.max() / vals.min() > 50)


def _latency_label(latency: str, unit: str) -> str:
    return f"{LATENCY_NAMES.get(latency, latency)} ({unit})"


def _latency_title(latency: str) -> str:
    if latency.startswith("service"):
        return "service latency"
    if latency.startswith("end_to_end"):
        return "end-to-end latency"
    return "in-contact latency under load"


def _panels_of(agg: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(agg["preset"], agg["workload"])))


def _panel(agg: pd.DataFrame, preset: str, workload: str) -> pd.DataFrame:
    return agg[(agg["preset"] == preset) & (agg["workload"] == workload)]


# --------------------------------------------------------------------------- Fig. 9


#: Axis labels of the accuracy columns of sweep.parquet.
ACCURACY_LABELS = {
    "accuracy_every_answer": "accuracy (%, every sample answered)",
    "accuracy_all_samples": "accuracy (%, all samples, unfinished = 0)",
    "accuracy_finished_samples": "accuracy (%, finished samples)",
}


def accuracy_column(sweep: pd.DataFrame, accuracy: str | None) -> str:
    """``accuracy`` if given, else the paper's view: ``accuracy_every_answer`` (every sample
    gets its answer, as the service latency) when the table has it, else ``accuracy``."""
    from .data import figure_columns

    sweep = figure_columns(sweep)
    if accuracy is not None:
        return accuracy
    if "accuracy_every_answer" in sweep and sweep["accuracy_every_answer"].notna().any():
        return "accuracy_every_answer"
    return "accuracy_finished_samples"


def fig9_accuracy_latency(sweep: pd.DataFrame, path, *, latency: str | None = None,
                          accuracy: str | None = None, title: str | None = None):
    """Paper Fig. 9: accuracy against mean latency, one marker shape per policy.

    ``latency`` defaults to the service latency (``service_mean_s``; the
    in-contact latency under load for older tables).  One panel per workload and
    preset; each marker is the mean over seeds, error bars the standard deviation
    over seeds on both axes; a policy run at several settings is a curve through
    them.  Markers that would coincide are moved apart (a dot marks the true
    position).  The accuracy-latency Pareto front of the non-oracle policies is
    a dashed step line, its members named.
    """
    latency = latency or latency_column(sweep)
    accuracy = accuracy_column(sweep, accuracy)
    rows, _ = _prepare(sweep, [accuracy, latency])
    agg = aggregate(rows, ["workload", "preset", "policy", "series", "knob"], [accuracy, latency])
    panels = _panels_of(agg)
    scale, unit = _time_unit(float(agg[latency].max()))
    meta = {"latency": latency, "fronts": {}, "nudged": False}
    with _style():
        fig, axes, presets, workloads = _panel_grid(panels)
        handles: dict = {}
        for ax, (preset, workload) in zip(axes, panels):
            part = _panel(agg, preset, workload)
            log = _should_log(part[latency])
            s = 1.0 if log else scale
            curves = _curves(part, latency, accuracy, xs=s)
            drawn = _draw_panel(ax, curves, handles, log=log, top_pad=0.1)
            meta["nudged"] |= drawn["nudged"]
            front = pareto_front(part, latency=latency, accuracy=accuracy)
            meta["fronts"][(preset, workload)] = list(front["policy"])
            if len(front):
                _draw_front(ax, front, latency, accuracy, s, log, drawn["positions"])
                _add_handle(handles, "Pareto front (non-oracle), members named", "0.3", "",
                            "--")
            ax.set_xlabel(_latency_label(latency, "s" if log else unit))
            ax.set_ylabel(ACCURACY_LABELS.get(accuracy, "accuracy (%)"))
            ax.set_title(_panel_title(workload, preset, workloads=len(workloads),
                                      presets=len(presets)))
        main = title or _main_title(f"Accuracy vs {_latency_title(latency)}", workloads, presets)
        return _finish(fig, path, main, rows, handles, meta=meta)


def _draw_front(ax, front, latency, accuracy, scale, log, markers) -> None:
    """The Pareto front as a dashed step line, each member named next to its marker
    (the first place, of four around it, that hides no marker, name or the axes' edge)."""
    x = front[latency].to_numpy(float) / scale
    y = front[accuracy].to_numpy(float) * 100
    ax.step(x, y, where="post", color="0.3", ls="--", lw=0.8, zorder=1)
    bbox = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
    w, h = bbox.width * 72, bbox.height * 72
    xlim, ylim = ax.get_xlim(), ax.get_ylim()

    def to_pt(px, py):
        return _fraction(px, xlim, log) * w, _fraction(py, ylim, False) * h

    taken = [(mx - 4, my - 4, mx + 4, my + 4) for mx, my in
             (np.add(to_pt(px, py), (dx, dy)) for _, px, py, dx, dy in markers)]
    moved = {(gid, round(px, 12), round(py, 12)): (dx, dy) for gid, px, py, dx, dy in markers}
    for xi, yi, policy, knob in zip(x, y, front["policy"], front["knob"]):
        name = _SHORT.get(policy, policy) + (f" {knob.split('=', 1)[-1]}" if knob else "")
        dx, dy = moved.get((policy, round(xi, 12), round(yi, 12)), (0.0, 0.0))
        px, py = np.add(to_pt(xi, yi), (dx, dy))
        tw, th = 4.1 * len(name) + 2, 9.0  # 7 pt text
        best = None
        for ox, oy in ((-7, 6), (7, 6), (7, -6), (-7, -6), (0, 10), (0, -10)):
            left = px + ox - (tw if ox < 0 else tw / 2 if ox == 0 else 0)
            low = py + oy - (th if oy < 0 else 0)
            box = (left, low, left + tw, low + th)
            inside = box[0] >= 0 and box[2] <= w and box[1] >= 0 and box[3] <= h
            clear = not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3]
                            for t in taken)
            if best is None:
                best = (ox, oy, box)
            if inside and clear:
                best = (ox, oy, box)
                break
        ox, oy, box = best
        taken.append(box)
        ax.annotate(name, (xi, yi), xytext=(dx + ox, dy + oy), textcoords="offset points",
                    ha="right" if ox < 0 else "center" if ox == 0 else "left",
                    va="bottom" if oy > 0 else "top", fontsize=7, zorder=6,
                    color=_policy_style(policy)[1])  # the marker's colour: no doubt whose


# --------------------------------------------------------------------------- Fig. 10


def fig10_accuracy_vs_offloaded(sweep: pd.DataFrame, path, *, fraction: bool = False,
                                accuracy: str | None = None, title: str | None = None):
    """Paper Fig. 10: accuracy against the number of samples offloaded to the ground.

    One curve per policy through its swept setting (SpaceVerse's tau, Tabi's
    threshold: one point each, in the order of the setting, the setting's range
    in the legend and at the curve's ends), means over seeds with standard
    deviation bars; a policy with one setting is one marker.  ``fraction=True``
    puts the offloaded share (%) on the x axis.  One panel per workload and preset.
    """
    accuracy = accuracy_column(sweep, accuracy)
    rows, _ = _prepare(sweep, [accuracy])
    if fraction or "offloaded" not in rows.columns or rows["offloaded"].isna().all():
        if "offload_fraction" not in rows.columns:
            raise InputError("sweep table has neither offloaded nor offload_fraction")
        if not fraction and "samples" in rows.columns:
            rows["_x"] = rows["offload_fraction"].astype(float) * rows["samples"].astype(float)
        else:
            rows["_x"] = rows["offload_fraction"].astype(float) * 100
            fraction = True
    else:
        rows["_x"] = rows["offloaded"].astype(float)
    rows = rows[np.isfinite(rows["_x"].to_numpy(float))]
    agg = aggregate(rows, ["workload", "preset", "policy", "series", "knob"], [accuracy, "_x"])
    panels = _panels_of(agg)
    with _style():
        fig, axes, presets, workloads = _panel_grid(panels)
        handles: dict = {}
        meta = {"curves": {}}
        for ax, (preset, workload) in zip(axes, panels):
            part = _panel(agg, preset, workload)
            curves = _curves(part, "_x", accuracy)
            _draw_panel(ax, curves, handles, log=False, top_pad=0.05, xfloor=None)
            meta["curves"][(preset, workload)] = {c.label: c.x.tolist() for c in curves}
            ax.set_xlabel("offloaded samples (%)" if fraction else "offloaded samples")
            ax.set_ylabel(ACCURACY_LABELS.get(accuracy, "accuracy (%)"))
            ax.set_title(_panel_title(workload, preset, workloads=len(workloads),
                                      presets=len(presets)))
        main = title or _main_title("Accuracy vs offloading volume", workloads, presets)
        return _finish(fig, path, main, rows, handles, meta=meta)


# --------------------------------------------------------------------------- Fig. 11


def fig11_ablation(sweep: pd.DataFrame, path, *, latency: str | None = None,
                   accuracy: str | None = None, title: str | None = None):
    """Paper Fig. 11: the progressive confidence network's ablation.

    SpaceVerse with g~ (``spaceverse``), g alone (``spaceverse-g``) and g' alone
    (``spaceverse-g-prime``) against Tabi's threshold curve, accuracy against the
    service latency (default; in-contact for older tables).  Each policy is one
    curve over the parameters it reads that were swept (Tabi's and g's
    threshold...), one marker when none was; means over seeds, std bars.  One
    panel per workload and preset.
    """
    latency = latency or latency_column(sweep)
    accuracy = accuracy_column(sweep, accuracy)
    rows, _ = _prepare(sweep, [accuracy, latency])
    rows = rows[rows["policy"].isin(ABLATION_POLICIES)]
    if not len(rows):
        raise InputError("no spaceverse, spaceverse-g, spaceverse-g-prime or tabi rows")
    agg = aggregate(rows, ["workload", "preset", "policy", "series", "knob"], [accuracy, latency])
    panels = _panels_of(agg)
    scale, unit = _time_unit(float(agg[latency].max()))
    order = ("tabi", "spaceverse-g", "spaceverse-g-prime", "spaceverse")
    with _style():
        fig, axes, presets, workloads = _panel_grid(panels)
        handles: dict = {}
        meta = {"latency": latency, "nudged": False}
        for ax, (preset, workload) in zip(axes, panels):
            part = _panel(agg, preset, workload)
            log = _should_log(part[latency])
            s = 1.0 if log else scale
            groups = [(p, part["policy"] == p, _policy_style(p)) for p in order
                      if (part["policy"] == p).any()]
            curves = _curves(part, latency, accuracy, xs=s, groups=groups,
                             labels=_ABLATION_LABELS)
            meta["nudged"] |= _draw_panel(ax, curves, handles, log=log, top_pad=0.05)["nudged"]
            ax.set_xlabel(_latency_label(latency, "s" if log else unit))
            ax.set_ylabel(ACCURACY_LABELS.get(accuracy, "accuracy (%)"))
            ax.set_title(_panel_title(workload, preset, workloads=len(workloads),
                                      presets=len(presets)))
        main = title or _main_title("Confidence-network ablation", workloads, presets)
        return _finish(fig, path, main, rows, handles, meta=meta)


# --------------------------------------------------------------------------- Fig. 12


def fig12_compression(sweep: pd.DataFrame, path, *, accuracy: str | None = None,
                      title: str | None = None):
    """Paper Fig. 12: accuracy against the transmission compression ratio per method.

    The x axis is ``raw : sent`` bytes (``compression_ratio``; a value below 1
    is taken as sent/raw and inverted).  One curve per compression method
    (multi-scale, attention-only, uniform-downsample, random-mask) through its
    swept settings (means over seeds, std bars); uncompressed runs (``none``)
    are a dotted reference line.  A method used under several allocation
    policies gets one curve per policy.  One panel per workload and preset.
    """
    if "compression" not in sweep.columns:
        if "policy.compression.method" not in sweep.columns:
            raise InputError("sweep table has no compression column")
        sweep = sweep.assign(compression=sweep["policy.compression.method"])
    accuracy = accuracy_column(sweep, accuracy)
    rows, _ = _prepare(sweep, [accuracy, "compression_ratio"], by=("compression", "policy"),
                       knobs=("policy.compression.params",))
    rows["_x"] = compression_x(rows["compression_ratio"])
    rows.loc[rows["compression"] == "none", "_x"] = 1.0
    rows = rows[np.isfinite(rows["_x"].to_numpy(float))]
    multi_policy = (rows.groupby(["workload", "compression"])["policy"].nunique() > 1).any()
    agg = aggregate(rows, ["workload", "preset", "compression", "policy", "series", "knob"],
                    [accuracy, "_x"])
    panels = _panels_of(agg)
    methods = [m for m in COMPRESSION_STYLE if m in set(agg["compression"])]
    methods += sorted(set(agg["compression"]) - set(methods))
    policies = _ordered_policies(agg["policy"])
    with _style():
        fig, axes, presets, workloads = _panel_grid(panels)
        handles: dict = {}
        for ax, (preset, workload) in zip(axes, panels):
            part = _panel(agg, preset, workload)
            groups = []
            for i, method in enumerate(methods):
                label, colour, marker = _compression_style(method, i)
                sel = part["compression"] == method
                for policy in _ordered_policies(part.loc[sel, "policy"]):
                    name = (f"{method} · {_policy_style(policy)[0]}" if multi_policy else label)
                    ls = LINE_STYLES[policies.index(policy) % len(LINE_STYLES)]
                    groups.append((f"{method}|{policy}", sel & (part["policy"] == policy),
                                   (name, colour, marker), ls))
            raw = [g for g in groups if g[0].startswith("none|")]
            curves = _curves(part, "_x", accuracy, groups=[g for g in groups if g not in raw])
            raw_acc = part.loc[part["compression"] == "none", accuracy].to_numpy(float) * 100
            _draw_panel(ax, curves, handles, log=False, top_pad=0.05, xfloor=0.8,
                        end_labels=False, extra_y=raw_acc)
            for gid, sel, (name, colour, marker), ls in raw:
                dotted = (0, (1, 1.5)) if ls == "-" else ls
                for value in part.loc[sel, accuracy]:
                    ax.axhline(value * 100, color=colour, ls=dotted, lw=1.0, zorder=1)
                _add_handle(handles, name, colour, "", dotted)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}:1"))
            ax.set_xlabel("compression ratio (raw : sent bytes)")
            ax.set_ylabel(ACCURACY_LABELS.get(accuracy, "accuracy (%)"))
            ax.set_title(_panel_title(workload, preset, workloads=len(workloads),
                                      presets=len(presets)))
        main = title or _main_title("Accuracy vs compression ratio", workloads, presets)
        return _finish(fig, path, main, rows, handles, ncol=3)


__all__ = ["ABLATION_POLICIES", "THRESHOLD_AXIS", "fig9_accuracy_latency",
           "fig10_accuracy_vs_offloaded", "fig11_ablation", "fig12_compression"]
