"""When does offloading pay?  A map of the ground-only over onboard-only service
latency against the downlink goodput and the image size.

The table is computed elsewhere (from the compute and link models); this module
only draws it: a log-log heat map with a diverging colour scale centred on a
ratio of 1 (blue: offloading is faster, red: onboard is faster), the contour
ratio = 1, the paper's 4.14 contour (GS-only latency over onboard in its
Fig. 4b / §4.2), and annotated operating points (presets, datasets' image sizes).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from ..errors import InputError
from .style import (COLUMN_WIDTH_IN, PAPER_GS_OVER_ONBOARD, _legend_below, _save_all, _style,
                    _suptitle, provenance_note)

logger = logging.getLogger("simulator.plots")

OFFLOAD_MAP_COLUMNS = ("goodput_mbps", "image_side_px", "latency_ratio")
#: Square image sides of the paper's datasets (px): a point per entry, or a range.
DATASET_SIDES = {"RSVQA-LR / UC Merced": 256, "AID": 600, "DOTA-v1.0": (800, 4000)}


def dataset_points() -> list[dict]:
    """The datasets' image sides as :func:`offload_map_figure` points (at any goodput)."""
    return [{"goodput_mbps": None, "image_side_px": side, "label": name}
            for name, side in DATASET_SIDES.items()]


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around log-spaced ``centres`` (geometric midpoints)."""
    logs = np.log10(centres)
    if len(logs) == 1:
        return 10 ** np.array([logs[0] - 0.1, logs[0] + 0.1])
    mid = (logs[1:] + logs[:-1]) / 2
    return 10 ** np.r_[2 * logs[0] - mid[0], mid, 2 * logs[-1] - mid[-1]]


def _grid(table: pd.DataFrame):
    missing = [c for c in OFFLOAD_MAP_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"offload map table needs columns {', '.join(OFFLOAD_MAP_COLUMNS)} "
                         f"(missing {', '.join(missing)})")
    data = table[list(OFFLOAD_MAP_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    data = data[(data > 0).all(axis=1)]
    pivot = data.pivot_table(index="image_side_px", columns="goodput_mbps",
                             values="latency_ratio", aggfunc="mean").sort_index().sort_index(axis=1)
    if pivot.shape[0] < 2 or pivot.shape[1] < 2:
        raise InputError("offload map needs at least two goodputs and two image sides with "
                         "positive latency ratios")
    return (pivot.columns.to_numpy(float), pivot.index.to_numpy(float),
            pivot.to_numpy(float))


def _norm(z: np.ndarray) -> LogNorm:
    """A log colour norm symmetric about ratio 1 (so 1 is the middle colour)."""
    finite = z[np.isfinite(z) & (z > 0)]
    span = max(np.abs(np.log10(finite)).max() if len(finite) else 1.0,
               math.log10(PAPER_GS_OVER_ONBOARD) * 1.15)
    return LogNorm(vmin=10 ** -span, vmax=10 ** span)


def _ratio_text(value: float, _=None) -> str:
    return f"{value:,.0f}×" if value >= 10 else f"{value:.3g}×"


def offload_map_figure(table: pd.DataFrame, out_stem: Path, *, points: Sequence[dict] = (),
                       title: str = "") -> list[Path]:
    """Write ``<out_stem>.png`` and ``.pdf``: when offloading pays.

    ``table``: ``goodput_mbps``, ``image_side_px`` (side of a square image),
    ``latency_ratio`` (ground-only service latency over onboard-only service
    latency at that goodput and size) and optionally ``accuracy_gain`` (ground
    over onboard accuracy, a constant of the task: quoted under the title).
    ``points``: dicts ``{goodput_mbps, image_side_px, label}`` drawn as
    annotated markers (label above, the next one below; an ``xytext`` offset in
    points may be given); ``goodput_mbps`` None draws a horizontal line at the image
    side (a dataset's size at any goodput), and a two-value ``image_side_px``
    a range (e.g. DOTA-v1.0's 800-4,000 px).  ``title`` should say what was
    modelled (e.g. "physical compute model; raw RGB images; service latency").
    Returns a :class:`~simulator.plots.style.Written` (its ``meta`` holds the
    colour ``norm`` and the contour ``levels`` drawn).
    """
    goodput, side, z = _grid(table)
    norm = _norm(z)
    gx, sy = _edges(goodput), _edges(side)
    levels = [lv for lv in (1.0, PAPER_GS_OVER_ONBOARD)
              if np.nanmin(z) < lv < np.nanmax(z)]
    with _style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 3.3), layout="constrained")
        mesh = ax.pcolormesh(gx, sy, z, cmap="RdBu_r", norm=norm, shading="flat",
                             rasterized=True)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(gx[0], gx[-1])
        ax.set_ylim(sy[0], sy[-1])
        ax.grid(False)
        handles = {}
        for level in levels:
            paper = level != 1.0
            cs = ax.contour(goodput, side, z, levels=[level], colors="black",
                            linewidths=0.8 if paper else 1.3, linestyles="--" if paper else "-")
            ax.clabel(cs, fmt={level: f"{level:g}× (paper)" if paper else "1×"}, fontsize=7,
                      inline=True)
            label = (f"ratio {level:g} (paper: GS-only ÷ onboard)" if paper
                     else "ratio 1: offloading faster ↔ onboard faster")
            handles[label] = Line2D([], [], color="black", lw=0.8 if paper else 1.3,
                                    ls="--" if paper else "-")
        _region_labels(ax, goodput, side, z, norm)
        _draw_points(ax, points, gx, sy)
        bar = fig.colorbar(mesh, ax=ax, pad=0.02, fraction=0.06)
        bar.set_label("GS-only ÷ onboard service latency")
        ticks = [t for t in (0.001, 0.01, 0.1, 1, PAPER_GS_OVER_ONBOARD, 10, 100, 1000)
                 if norm.vmin <= t <= norm.vmax]
        bar.ax.yaxis.set_major_locator(FixedLocator(ticks))
        bar.ax.yaxis.set_minor_locator(NullLocator())
        bar.ax.yaxis.set_major_formatter(FuncFormatter(_ratio_text))
        ax.set_xlabel("downlink goodput (Mbps)")
        ax.set_ylabel("image side (px, square RGB)")
        for axis, lim in ((ax.xaxis, gx), (ax.yaxis, sy)):
            axis.set_major_locator(FixedLocator(_nice_ticks(lim[0], lim[-1])))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1
                                                   else f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        main = title or "When offloading pays: GS-only ÷ onboard service latency (modelled)"
        gain = _gain_text(table)
        note = provenance_note(table, synthetic_what="synthetic data")
        _suptitle(fig, main + (f"\n{gain}" if gain else ""), note)
        _legend_below(fig, list(handles.values()), list(handles), ncol=1)
        return _save_all(fig, out_stem, {"norm": norm, "levels": levels,
                                          "ratio_range": (float(np.nanmin(z)),
                                                          float(np.nanmax(z)))})


def _gain_text(table: pd.DataFrame) -> str:
    if "accuracy_gain" not in table.columns:
        return ""
    gains = pd.to_numeric(table["accuracy_gain"], errors="coerce").dropna().unique()
    if not len(gains):
        return ""
    lo, hi = float(gains.min()), float(gains.max())
    text = f"{lo:.3g}×" if math.isclose(lo, hi, rel_tol=1e-6) else f"{lo:.3g}–{hi:.3g}×"
    return f"accuracy gain of offloading: {text} (ground ÷ onboard model)"


def _nice_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks inside [lo, hi] (decades only when that gives 4 or more)."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    plain = [10.0 ** d for d in decades if lo <= 10.0 ** d <= hi]
    if len(plain) >= 4:
        return plain
    return [m * 10.0 ** d for d in decades for m in (1, 2, 5) if lo <= m * 10.0 ** d <= hi]


def _region_labels(ax, goodput, side, z, norm) -> None:
    """'offloading faster' / 'onboard faster' at the extreme cell of each region."""
    for pick, text in ((np.nanargmin, "offloading\nfaster"), (np.nanargmax, "onboard\nfaster")):
        k = pick(z)
        i, j = np.unravel_index(k, z.shape)
        value = z[i, j]
        if (text.startswith("off") and value >= 1) or (text.startswith("onb") and value <= 1):
            continue
        fx = (math.log10(goodput[j]) - math.log10(goodput[0])) / max(
            math.log10(goodput[-1]) - math.log10(goodput[0]), 1e-9)
        fy = (math.log10(side[i]) - math.log10(side[0])) / max(
            math.log10(side[-1]) - math.log10(side[0]), 1e-9)
        dark = abs(float(norm(value)) - 0.5) > 0.3
        ax.text(min(max(fx, 0.04), 0.96), min(max(fy, 0.05), 0.95), text,
                transform=ax.transAxes, ha="left" if fx < 0.5 else "right",
                va="bottom" if fy < 0.5 else "top", fontsize=7, fontweight="bold",
                color="white" if dark else "black", zorder=4)


def _draw_points(ax, points: Sequence[dict], gx, sy) -> None:
    inside_g = lambda g: gx[0] <= g <= gx[-1]  # noqa: E731
    for k, point in enumerate(points):
        label = str(point.get("label", ""))
        g = point.get("goodput_mbps")
        s = point.get("image_side_px")
        sides = list(s) if isinstance(s, (list, tuple, np.ndarray)) else [s]
        if g is None:
            lo, hi = min(sides), max(sides)
            if len(sides) > 1:
                ax.axhspan(max(lo, sy[0]), min(hi, sy[-1]), color="white", alpha=0.18, lw=0,
                           zorder=2)
            for value in sorted(set(sides)):
                if sy[0] <= value <= sy[-1]:
                    ax.axhline(value, color="white", lw=0.8, ls=":", zorder=3)
            y = math.sqrt(lo * hi) if len(sides) > 1 else lo
            if sy[0] <= y <= sy[-1]:
                ax.annotate(label, (0.02, y), xycoords=("axes fraction", "data"),
                            xytext=(0, 2), textcoords="offset points", ha="left", va="bottom",
                            fontsize=7, color="black", zorder=5,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                  "alpha": 0.75})
            continue
        g = float(g)
        if not inside_g(g):
            logger.info("offload map: point %r at %g Mbps is outside the map", label, g)
            continue
        if len(sides) > 1:
            lo, hi = float(min(sides)), float(max(sides))
            ax.plot([g, g], [lo, hi], color="black", lw=1.2, zorder=5,
                    marker="_", markersize=6)
            y = math.sqrt(lo * hi)
        else:
            y = float(sides[0])
            ax.plot([g], [y], "o", markersize=5, markerfacecolor="white",
                    markeredgecolor="black", markeredgewidth=1.0, zorder=5)
        if not sy[0] <= y <= sy[-1]:
            logger.info("offload map: point %r at %g px is outside the map", label, y)
            continue
        below = k % 2 == 1
        ax.annotate(label, (g, y), xytext=point.get("xytext", (0, -7 if below else 7)),
                    textcoords="offset points", ha="center", va="top" if below else "bottom",
                    fontsize=7, zorder=6, bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                                "ec": "none", "alpha": 0.75})
