"""Points and curves on an accuracy plot where no marker hides another.

:func:`draw_curves` draws one curve per policy (and per other swept setting)
through its swept parameter values, means with error bars over seeds.  Markers
that would land within a few per cent of the axis span of each other are moved
apart, deterministically, on a small ring around their common centre; a black
dot marks each moved marker's true position, joined to it by a thin leader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from matplotlib.transforms import offset_copy

from .style import _marker_kw

#: Markers closer than this share of the axis span (both axes) are moved apart.
COINCIDE = 0.035
#: Distance (points) between the centres of markers moved apart.
SEPARATION_PT = 9.0


@dataclass
class Curve:
    """One policy's points (already sorted along the curve) and how to draw them."""

    label: str
    colour: str
    marker: str
    gid: str
    x: np.ndarray
    y: np.ndarray
    xerr: np.ndarray
    yerr: np.ndarray
    knobs: list[str] = field(default_factory=list)
    ls: str = "-"
    order: int = 0


def limits(values_lo, values_hi, *, log: bool = False, pad: float = 0.08,
           floor: float | None = None, ceil: float | None = None,
           top_pad: float = 0.0) -> tuple[float, float]:
    """Axis limits that hold every value with ``pad`` of the span on each side."""
    lo_v = np.asarray(values_lo, float)
    hi_v = np.asarray(values_hi, float)
    vals = np.r_[lo_v[np.isfinite(lo_v)], hi_v[np.isfinite(hi_v)]]
    if log:
        vals = vals[vals > 0]
    if not len(vals):
        return (0.1, 10.0) if log else (0.0, 1.0)
    lo, hi = float(vals.min()), float(vals.max())
    if log:
        a, b = math.log10(lo), math.log10(hi)
        span = max(b - a, 0.2)
        return 10 ** (a - pad * span), 10 ** (b + (pad + top_pad) * span)
    span = hi - lo if hi > lo else max(abs(hi) * 0.1, 1e-9)
    lo, hi = lo - pad * span, hi + (pad + top_pad) * span
    if floor is not None:
        lo = max(lo, floor)
    if ceil is not None:
        hi = min(hi, ceil)
    return lo, hi


def _fraction(values, lim, log: bool) -> np.ndarray:
    v = np.asarray(values, float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log10(v) - math.log10(lim[0])) / (math.log10(lim[1]) - math.log10(lim[0]))
    return (v - lim[0]) / (lim[1] - lim[0])


def nudge_offsets(fx, fy, width_pt: float, height_pt: float, *, tol: float = COINCIDE,
                  separation: float = SEPARATION_PT) -> np.ndarray:
    """Offsets (points) that move markers at axes fractions ``fx, fy`` apart.

    Markers within ``tol`` of each other on both axes (single linkage) form a
    group; the ``k`` members of a group are placed, in their given order, on a
    ring around the group's centre whose neighbouring places are ``separation``
    points apart (two markers: upper left and lower right).  Others stay put.
    """
    fx, fy = np.asarray(fx, float), np.asarray(fy, float)
    n = len(fx)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    ok = np.isfinite(fx) & np.isfinite(fy)
    for i in range(n):
        for j in range(i + 1, n):
            if ok[i] and ok[j] and abs(fx[i] - fx[j]) < tol and abs(fy[i] - fy[j]) < tol:
                parent[find(j)] = find(i)
    offsets = np.zeros((n, 2))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    for members in groups.values():
        k = len(members)
        if k < 2:
            continue
        cx, cy = fx[members].mean(), fy[members].mean()
        radius = separation / (2 * math.sin(math.pi / k))
        for rank, m in enumerate(members):
            angle = 0.75 * math.pi - 2 * math.pi * rank / k
            offsets[m] = ((cx - fx[m]) * width_pt + radius * math.cos(angle),
                          (cy - fy[m]) * height_pt + radius * math.sin(angle))
    return offsets


def draw_curves(ax, curves: list[Curve], *, xlim, ylim, logx: bool = False,
                end_labels: bool = True) -> dict:
    """Draw ``curves`` on ``ax`` (limits fixed first), markers moved apart where they
    coincide.  Returns ``{"nudged": bool, "positions": [(gid, x, y, dx_pt, dy_pt)]}``."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    fig = ax.figure
    bbox = ax.get_window_extent().transformed(fig.dpi_scale_trans.inverted())
    width_pt, height_pt = bbox.width * 72, bbox.height * 72
    points = [(c, i) for c in sorted(curves, key=lambda c: c.order) for i in range(len(c.x))]
    fx = np.array([_fraction(c.x[i], xlim, logx) for c, i in points])
    fy = np.array([_fraction(c.y[i], ylim, False) for c, i in points])
    offsets = nudge_offsets(fx, fy, width_pt, height_pt)
    positions = []
    nudged = False
    for c in curves:
        if len(c.x) > 1:
            ax.plot(c.x, c.y, ls=c.ls, color=c.colour, lw=0.9, alpha=0.8, zorder=2)
    for (c, i), (dx, dy) in zip(points, offsets):
        moved = bool(dx or dy)
        transform = offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points")
        xerr = [[c.xerr[i]], [c.xerr[i]]] if c.xerr[i] else None
        yerr = [[c.yerr[i]], [c.yerr[i]]] if c.yerr[i] else None
        bars = ax.errorbar([c.x[i]], [c.y[i]], xerr=xerr, yerr=yerr,
                           fmt="none", ecolor=c.colour, elinewidth=0.7, capsize=1.5,
                           transform=transform, zorder=3, alpha=0.8)
        for artist in bars.get_children():
            artist.set_transform(transform)
        (line,) = ax.plot([c.x[i]], [c.y[i]], ls="none", color=c.colour, transform=transform,
                          zorder=4, **_marker_kw(c.colour, c.marker))
        line.set_gid(c.gid)
        if moved:
            nudged = True
            ax.plot([c.x[i]], [c.y[i]], "o", color="black", markersize=1.8, zorder=5)
            ax.annotate("", xy=(c.x[i], c.y[i]), xytext=(dx, dy), textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.35",
                                    "shrinkA": 0, "shrinkB": 0}, zorder=5)
        positions.append((c.gid, float(c.x[i]), float(c.y[i]), float(dx), float(dy)))
    if end_labels:
        _label_ends(ax, curves, points, offsets)
    return {"nudged": nudged, "positions": positions}


def _label_ends(ax, curves, points, offsets) -> None:
    """The knob value at the first and last point of each curve of 2+ points, placed
    beyond the curve's end (away from its neighbouring point)."""
    where = {(id(c), i): (dx, dy) for (c, i), (dx, dy) in zip(points, offsets)}
    to_display = ax.transData.transform
    for c in curves:
        if len(c.x) < 2 or not c.knobs or not any(c.knobs):
            continue
        for idx, other in ((0, 1), (len(c.x) - 1, len(c.x) - 2)):
            text = (c.knobs[idx].split("=", 1)[-1] if c.knobs[idx].count("=") == 1
                    else c.knobs[idx])
            a = to_display((c.x[idx], c.y[idx]))
            b = to_display((c.x[other], c.y[other]))
            away = a - b
            norm = float(np.hypot(*away)) or 1.0
            ux, uy = away / norm
            dx, dy = where[(id(c), idx)]
            ax.annotate(text, (c.x[idx], c.y[idx]), xytext=(dx + 8 * ux, dy + 8 * uy),
                        textcoords="offset points", fontsize=7, color=c.colour, zorder=6,
                        ha="left" if ux > 0.3 else "right" if ux < -0.3 else "center",
                        va="bottom" if uy > 0.3 else "top" if uy < -0.3 else "center")


def marker_positions(fig) -> list[tuple[str, float, float]]:
    """(gid, x, y) in display points of every policy marker drawn (for checks)."""
    fig.canvas.draw()
    out = []
    for ax in fig.axes:
        for line in ax.get_lines():
            gid = line.get_gid()
            if not gid or line.get_marker() in (None, "", "None", "none"):
                continue
            for x, y in line.get_transform().transform(line.get_xydata()):
                out.append((gid, x * 72 / fig.dpi, y * 72 / fig.dpi))
    return out
