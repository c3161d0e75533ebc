"""Publication figures (matplotlib, headless), made from saved results only.

Nothing here re-runs a simulation: every function reads tables that a run
(``results/<run-id>/``) or a sweep (``sweep.parquet`` plus its run folders)
has already written.

Conventions
-----------
* Readable at a paper's column width: one panel is 3.5 in wide, several panels
  share a 7 in double-column figure; no text is smaller than 7 pt.
* Every paper figure is written twice, ``<stem>.png`` (300 dpi) and
  ``<stem>.pdf`` (fonts embedded), each atomically (temporary file renamed
  into place).  The functions return a :class:`Written` (a list of the paths,
  plus the titles drawn, so that callers and tests can check them).
* Provenance is never hidden: when any input row is ``synthetic`` the figure's
  title says "synthetic"; when any accuracy was ``score_modelled`` (a
  compression accuracy model instead of a recorded answer) it says
  "modelled accuracy".

Figures
-------
===================================  =====================================================
:func:`fig4a_contact_fraction`       contact-window share of time vs altitude (paper 4a)
:func:`fig4b_latency_breakdown`      stacked mean latency per stage, transmission share (4b)
:func:`fig9_accuracy_latency`        accuracy vs latency per policy, Pareto front (9)
:func:`fig10_accuracy_vs_offloaded`  accuracy vs offloaded samples per policy (10)
:func:`fig11_ablation`               g, g', g~ against Tabi's threshold curve (11)
:func:`fig12_compression`            accuracy vs compression ratio per method (12)
:func:`e2e_latency_vs_altitude`      end-to-end latency incl. waiting vs altitude
:func:`satellite_timeline`           one satellite: contacts, transfers, buffer, captures
:func:`plot_results`                 every figure that applies to a run or sweep folder
===================================  =====================================================

:func:`contact_timeline` and :func:`contact_fraction_vs_altitude` (used by
``spaceverse contacts --plot``) write the single file they are given.
"""

from __future__ import annotations

import json
import logging
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from .errors import InputError
from .fileio import write_atomic

logger = logging.getLogger(__name__)
# PDF font subsetting logs font-file timestamps at warning level: not our users' business.
logging.getLogger("fontTools").setLevel(logging.ERROR)

COLUMN_WIDTH_IN = 3.5
DOUBLE_WIDTH_IN = 7.0
MIN_FONT_PT = 7

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

#: The paper's reference numbers drawn or quoted on the figures.
PAPER_CONTACT_SHARE = 0.0433       # Fig. 4a: contact window / orbital period (mean)
PAPER_TX_SHARE_GS_ONLY = 0.7639    # Fig. 4b: transmission share of GS-only latency

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 8,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "savefig.dpi": 300,
}

#: Display name, colour and marker of each allocation policy (the same everywhere).
POLICY_STYLE = {
    "satellite-only": ("Satellite-only", "#7f7f7f", "v"),
    "ground-only": ("GS-only", "#8c564b", "^"),
    "tabi": ("Tabi", "#1f77b4", "s"),
    "ai-rg": ("AI-RG", "#2ca02c", "D"),
    "spaceverse": ("SpaceVerse", "#d62728", "*"),
    "spaceverse-g": ("SpaceVerse ($g$ only)", "#ff7f0e", "<"),
    "spaceverse-g-prime": ("SpaceVerse ($g'$ only)", "#9467bd", ">"),
    "oracle": ("Oracle", "#000000", "x"),
}
#: Order in legends (the paper's Fig. 9 order); unknown policies follow.
POLICY_ORDER = list(POLICY_STYLE)

COMPRESSION_STYLE = {
    "multi-scale": ("multi-scale (SpaceVerse)", "#d62728", "*"),
    "attention-only": ("attention-only", "#ff7f0e", "o"),
    "uniform-downsample": ("uniform downsample", "#2ca02c", "D"),
    "random-mask": ("random mask", "#1f77b4", "s"),
    "none": ("none (raw)", "#7f7f7f", "^"),
}

_EXTRA_COLOURS = ["#17becf", "#bcbd22", "#e377c2", "#aec7e8", "#98df8a", "#c5b0d5"]
_EXTRA_MARKERS = ["o", "s", "^", "D", "v", "P"]
_LINE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]

#: Latency components of a sample, in pipeline order: (column, label, colour).
STAGES = [
    ("onboard_queue_s", "onboard queue", "#c7c7c7"),
    ("onboard_s", "onboard compute", "#7f7f7f"),
    ("compress_s", "compression", "#bcbd22"),
    ("buffer_queue_s", "buffer queue", "#9467bd"),
    ("wait_contact_s", "wait for contact", "#aec7e8"),
    ("tx_s", "transmission", "#d62728"),
    ("propagation_s", "propagation", "#ff9896"),
    ("ground_queue_s", "ground queue", "#98df8a"),
    ("ground_s", "ground compute", "#2ca02c"),
]

#: Columns of ``sweep.parquet`` that are not swept axes.
SWEEP_META = ("point", "key", "status", "error", "run_dir")
SWEEP_METRICS = (
    "policy", "compression", "trace", "synthetic", "score_modelled", "samples", "finished",
    "offloaded", "accuracy", "accuracy_all", "in_contact_mean_s", "in_contact_p50_s",
    "in_contact_p95_s", "end_to_end_mean_s", "end_to_end_p95_s", "offload_fraction",
    "bytes_raw", "bytes_sent", "compression_ratio", "onboard_s_mean", "onboard_queue_s_mean",
    "compress_s_mean", "buffer_queue_s_mean", "wait_contact_s_mean", "tx_s_mean",
    "propagation_s_mean", "ground_queue_s_mean", "ground_s_mean",
    "onboard_only_latency_mean_s", "contact_windows", "satellites", "stations", "wall_s")
ALTITUDE_AXIS = "constellation.walker.altitude_km"
THRESHOLD_AXIS = "policy.params.threshold"
_FAILED = {"error", "failed", "failure", "crashed", "timeout", "pending", "running", "missing"}


# --------------------------------------------------------------------------- saving


class Written(list):
    """The paths a figure function wrote (a list of :class:`~pathlib.Path`).

    ``titles`` holds every title drawn (the figure's and each panel's) and
    ``title`` the main one, so that provenance labels can be checked.
    """

    def __init__(self, paths: Iterable[Path] = (), titles: Sequence[str] = ()):
        super().__init__(paths)
        self.titles = [t for t in titles if t]

    @property
    def title(self) -> str:
        return self.titles[0] if self.titles else ""

    @property
    def text(self) -> str:
        """All titles joined (what a reader sees above the panels)."""
        return "\n".join(self.titles)


def check_figure_path(path) -> Path:
    """Reject an unsupported figure suffix before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"{path}: figure must end in {', '.join(FIGURE_SUFFIXES)}")
    return path


def _targets(path) -> list[Path]:
    """``<stem>.png`` and ``<stem>.pdf`` (and the given ``.svg``) for ``path``.

    ``path`` may end in a figure suffix or have none (a bare stem).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix and suffix not in FIGURE_SUFFIXES:
        check_figure_path(path)  # raises the one-line error
    stem = path.with_name(path.name[: -len(path.suffix)]) if suffix else path
    out = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")]
    if suffix == ".svg":
        out.append(stem.with_name(stem.name + ".svg"))
    return out


def _write_one(fig, path: Path) -> Path:
    return write_atomic(path, lambda tmp: fig.savefig(
        tmp, dpi=STYLE["savefig.dpi"] if path.suffix == ".png" else None, bbox_inches="tight",
        pad_inches=0.03), what="figure")


def _titles_of(fig) -> list[str]:
    titles = []
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if suptitle:
        titles.append(suptitle)
    for ax in fig.axes:
        for loc in ("center", "left", "right"):
            text = ax.get_title(loc)
            if text:
                titles.append(text)
    return titles


def _save(fig, path: Path) -> Path:
    """Write the one file ``path`` atomically; one-line error if impossible."""
    path = check_figure_path(path)
    try:
        return _write_one(fig, path)
    finally:
        plt.close(fig)


def _save_all(fig, path) -> Written:
    """Write PNG and PDF (same stem) atomically; close the figure; return the paths."""
    targets = _targets(path)
    titles = _titles_of(fig)
    try:
        return Written([_write_one(fig, t) for t in targets], titles)
    finally:
        plt.close(fig)


def _style():
    return plt.rc_context(STYLE)


# --------------------------------------------------------------------------- provenance


def _truthy(values) -> np.ndarray:
    s = pd.Series(values)
    if s.dtype == bool:
        return s.to_numpy()
    return s.map(lambda v: str(v).strip().lower() in ("true", "1", "yes", "1.0")).to_numpy(bool)


def provenance_flags(*frames: pd.DataFrame | None) -> list[str]:
    """``["synthetic", "modelled accuracy"]`` as far as any row of ``frames`` says so."""
    synthetic = modelled = False
    for frame in frames:
        if frame is None or not len(frame):
            continue
        if "synthetic" in frame.columns and _truthy(frame["synthetic"]).any():
            synthetic = True
        if "score_modelled" in frame.columns and _truthy(frame["score_modelled"]).any():
            modelled = True
    return (["synthetic"] if synthetic else []) + (["modelled accuracy"] if modelled else [])


def provenance_note(*frames: pd.DataFrame | None, synthetic_what: str = "synthetic data") -> str:
    """The words a title must carry for ``frames`` ('' when the data are real and recorded)."""
    flags = provenance_flags(*frames)
    words = [synthetic_what if f == "synthetic" else f for f in flags]
    return "; ".join(words)


def _with_note(title: str, note: str) -> str:
    """``title`` plus ``note`` in brackets on a second line, unless already said.

    A trace name such as ``synthetic-vqa-200`` does not count as saying it.
    """
    if not note:
        return title

    def said(word: str) -> bool:
        return re.search(rf"\b{word}\b(?!-)", title, flags=re.IGNORECASE) is not None

    missing = [part for part in note.split("; ") if not said(part.split()[0])]
    if not missing:
        return title
    joined = "; ".join(missing)
    return f"{title}\n({joined})" if title else joined


def _wrap(title: str, width_in: float) -> str:
    """Wrap each line of ``title`` to the figure's width (8 pt: about 17 characters/inch)."""
    chars = max(30, int(width_in * 17))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) if line else line
                     for line in title.split("\n"))


def _suptitle(fig, title: str, note: str) -> str:
    text = _wrap(_with_note(title, note), fig.get_figwidth())
    fig.suptitle(text, fontsize=8)
    return text


# --------------------------------------------------------------------------- sweep helpers


def sweep_axes(sweep: pd.DataFrame) -> list[str]:
    """The swept-axis columns of a sweep table (dotted scenario paths, ``seed``...)."""
    known = set(SWEEP_META) | set(SWEEP_METRICS)
    return [c for c in sweep.columns if c not in known or c == "seed"]


def _key(value) -> str:
    """A hashable, printable form of an axis value (lists and dicts as compact JSON)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def ok_rows(sweep: pd.DataFrame, needed: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of finished points with finite ``needed`` metrics."""
    keep = np.ones(len(sweep), dtype=bool)
    if "status" in sweep.columns:
        keep &= ~sweep["status"].astype(str).str.lower().isin(_FAILED).to_numpy()
    if "error" in sweep.columns:
        err = sweep["error"]
        keep &= (err.isna() | err.astype(str).str.strip().isin(["", "None", "nan"])).to_numpy()
    for col in needed:
        if col not in sweep.columns:
            raise InputError(f"sweep table has no column {col!r}")
        keep &= np.isfinite(pd.to_numeric(sweep[col], errors="coerce").to_numpy(float))
    out = sweep[keep].copy()
    if len(out) < len(sweep):
        logger.info("%d of %d sweep points left out (failed or missing %s)",
                    len(sweep) - len(out), len(sweep), ", ".join(needed) or "results")
    return out


def workload_of(frame: pd.DataFrame) -> pd.Series:
    """The workload of each row: its ``trace`` name, the seed suffix of synthetic traces removed.

    A synthetic trace is named ``synthetic-<task>-<n>-s<seed>``; rows that only
    differ by seed belong to the same workload (panel).
    """
    if "trace" not in frame.columns:
        return pd.Series("workload", index=frame.index)
    names = frame["trace"].map(_key)
    synthetic = (_truthy(frame["synthetic"]) if "synthetic" in frame.columns
                 else np.zeros(len(frame), bool))
    stripped = names.str.replace(r"-s\d+$", "", regex=True)
    out = pd.Series(np.where(synthetic, stripped, names), index=frame.index)
    return out.replace("", "workload")


def _compression_method(value) -> str:
    text = _key(value)
    if text.startswith("{"):
        try:
            return str(json.loads(text).get("method", text))
        except (ValueError, AttributeError):
            return text
    return text or "none"


def _short_axis(name: str) -> str:
    last = name.split(".")[-1]
    return {"altitude_km": "alt", "rate_mbps": "rate"}.get(last, last)


def _axis_text(name: str, value: str, limit: int = 24) -> str:
    """A short label for one axis value: ``550 km``, ``3 GS``, ``threshold=0.3``."""
    if value == "":
        return ""
    if name.endswith("compression.method") or name == "policy.allocation":
        return value
    if name.endswith("altitude_km"):
        return f"{value} km"
    if name.endswith("rate_mbps"):
        return f"{value} Mbps"
    if value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            items = None
        if isinstance(items, list):
            if name == "ground_stations":
                return f"{len(items)} GS" if len(items) != 1 else f"GS {_key(items[0])[:limit]}"
            if len(value) > limit:
                return f"{_short_axis(name)}=[{len(items)} items]"
    text = f"{_short_axis(name)}={value}"
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"


def _prepare(sweep: pd.DataFrame, needed: Sequence[str], *, by: Sequence[str] = ("policy",),
             ignore: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Finished rows with ``workload``, ``policy`` and ``variant`` columns.

    ``variant`` names the swept axes (other than the seed and ``ignore``) that
    still vary among rows of one (workload, ``by``) group, e.g. ``threshold=0.3``;
    averaging over seeds is then over rows of one (workload, by, variant).
    Returns the table and the list of those axes.
    """
    rows = ok_rows(sweep, needed)
    if not len(rows):
        raise InputError("no finished sweep points with " + ", ".join(needed))
    rows["workload"] = workload_of(rows)
    rows["policy"] = rows["policy"].map(_key) if "policy" in rows.columns else "policy"
    if "compression" in rows.columns:
        rows["compression"] = rows["compression"].map(_compression_method)
    skip = {"seed", *ignore}
    group = ["workload", *by]
    varying = []
    for axis in sweep_axes(rows):
        if axis in skip:
            continue
        keys = rows[axis].map(_key)
        if (keys.groupby([rows[g] for g in group]).nunique() > 1).any():
            varying.append(axis)
    if varying:
        rows["variant"] = [", ".join(filter(None, (_axis_text(a, _key(r[a])) for a in varying)))
                           for _, r in rows.iterrows()]
    else:
        rows["variant"] = ""
    for axis in varying:
        rows[f"_{axis}"] = rows[axis].map(_key)
    return rows, varying


def aggregate(rows: pd.DataFrame, keys: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean and standard deviation (over seeds, ddof=1; 0 for one seed) of ``metrics``.

    Columns: ``keys``, ``<metric>`` (mean), ``<metric>_std``, ``n`` (rows averaged).
    """
    data = rows[list(keys)].copy()
    for m in metrics:
        data[m] = pd.to_numeric(rows[m], errors="coerce").astype(float)
    grouped = data.groupby(list(keys), sort=False, dropna=False)
    mean = grouped[list(metrics)].mean()
    std = grouped[list(metrics)].std(ddof=1).fillna(0.0).add_suffix("_std")
    n = grouped.size().rename("n")
    return pd.concat([mean, std, n], axis=1).reset_index()


def pareto_mask(latency, accuracy) -> np.ndarray:
    """True where no other point has lower-or-equal latency and higher-or-equal accuracy
    with at least one strictly better (NaN points are never on the front).

    >>> pareto_mask([1.0, 3.0, 4.0], [0.5, 0.7, 0.6]).tolist()
    [True, True, False]
    """
    lat = np.asarray(latency, float)
    acc = np.asarray(accuracy, float)
    ok = np.isfinite(lat) & np.isfinite(acc)
    mask = np.zeros(len(lat), dtype=bool)
    for i in np.flatnonzero(ok):
        better = ok & (lat <= lat[i]) & (acc >= acc[i]) & ((lat < lat[i]) | (acc > acc[i]))
        mask[i] = not better.any()
    return mask


def pareto_front(points: pd.DataFrame, *, latency: str = "in_contact_mean_s",
                 accuracy: str = "accuracy", exclude: Sequence[str] = ("oracle",)) -> pd.DataFrame:
    """The non-dominated rows among those whose ``policy`` is not in ``exclude``,
    sorted by latency (accuracy then rises along the front)."""
    cand = points[~points["policy"].isin(exclude)] if "policy" in points.columns else points
    front = cand[pareto_mask(cand[latency], cand[accuracy])]
    return front.sort_values([latency, accuracy], ascending=[True, False])


# --------------------------------------------------------------------------- drawing helpers


def _policy_style(policy: str, index: int = 0) -> tuple[str, str, str]:
    if policy in POLICY_STYLE:
        return POLICY_STYLE[policy]
    return (policy, _EXTRA_COLOURS[index % len(_EXTRA_COLOURS)],
            _EXTRA_MARKERS[index % len(_EXTRA_MARKERS)])


def _compression_style(method: str, index: int = 0) -> tuple[str, str, str]:
    if method in COMPRESSION_STYLE:
        return COMPRESSION_STYLE[method]
    return (method, _EXTRA_COLOURS[index % len(_EXTRA_COLOURS)],
            _EXTRA_MARKERS[index % len(_EXTRA_MARKERS)])


def _ordered_policies(values: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(values))
    known = [p for p in POLICY_ORDER if p in seen]
    return known + sorted(p for p in seen if p not in POLICY_STYLE)


def _time_unit(max_seconds: float) -> tuple[float, str]:
    if not np.isfinite(max_seconds):
        return 1.0, "s"
    if max_seconds >= 3 * 3600:
        return 3600.0, "h"
    if max_seconds >= 3 * 60:
        return 60.0, "min"
    return 1.0, "s"


def _panels(n: int, *, height: float = 2.4, sharey: bool = False):
    """``n`` panels: one column-wide, two or more across a double-column figure."""
    ncols = 1 if n == 1 else min(n, 3)
    nrows = math.ceil(n / ncols)
    width = COLUMN_WIDTH_IN if n == 1 else DOUBLE_WIDTH_IN
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows + 0.3), squeeze=False,
                             sharey=sharey, layout="constrained")
    flat = axes.ravel().tolist()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _finish(fig, path, title: str, rows, handles: dict, ncol: int | None = None) -> Written:
    """Title with the provenance note, the legend of ``handles`` below, then save."""
    _suptitle(fig, title, provenance_note(rows, synthetic_what="synthetic trace"))
    _legend_below(fig, list(handles.values()), list(handles), ncol=ncol)
    return _save_all(fig, path)


def _legend_below(fig, handles, labels, ncol: int | None = None):
    """A legend under the panels, as many columns as fit the figure's width."""
    if not handles:
        return
    plain = [re.sub(r"\$[^$]*\$", "gg", str(label)) for label in labels]
    entry_in = 0.038 * max(len(t) for t in plain) + 0.55  # 7 pt text plus the handle
    fits = max(1, int(fig.get_figwidth() // entry_in))
    ncol = max(1, min(ncol or 4, fits, len(handles)))
    # Grow the figure by the legend's rows so that the panels keep their size.
    fig.set_figheight(fig.get_figheight() + 0.14 * math.ceil(len(handles) / ncol) + 0.05)
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, handletextpad=0.4,
               columnspacing=1.0)


def _percent_axis(ax, values) -> None:
    vals = np.asarray(values, float)
    vals = vals[np.isfinite(vals)]
    if len(vals):
        lo, hi = vals.min(), vals.max()
        pad = max(0.02, 0.08 * (hi - lo))
        ax.set_ylim(max(0.0, lo - pad) * 100, min(1.0, hi + pad) * 100)


def _maybe_log(ax, values, axis: str = "x") -> bool:
    vals = np.asarray(values, float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if len(vals) >= 2 and vals.max() / vals.min() > 50:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        return True
    return False


def _add_handle(handles: dict, label: str, colour: str, marker: str, ls: str = "none"):
    if label not in handles:
        handles[label] = Line2D([], [], color=colour, marker=marker, ls=ls,
                                markersize=6 if marker == "*" else 4.5)


# --------------------------------------------------------------------------- Fig. 4a


def _fig4a_axes(ax, table: pd.DataFrame, paper_value: float) -> None:
    table = table.sort_values("altitude_km")
    x = table["altitude_km"].to_numpy(float)
    series = [("pass_fraction_of_period", "o-", "mean pass / orbital period"),
              ("overhead_pass_fraction", "s--", "overhead pass / orbital period"),
              ("mean_contact_fraction", "^-", "time in contact (mean satellite)")]
    drawn = 0
    for col, fmt, label in series:
        if col in table.columns and table[col].notna().any():
            ax.plot(x, 100 * table[col].to_numpy(float), fmt, label=label)
            drawn += 1
    if not drawn:
        raise InputError("contact-fraction table has none of pass_fraction_of_period, "
                         "overhead_pass_fraction, mean_contact_fraction")
    ax.axhline(100 * paper_value, color="grey", ls=":",
               label=f"paper Fig. 4a ({100 * paper_value:.2f} %)")
    ax.set_xlabel("altitude (km)")
    ax.set_ylabel("share of time (%)")
    ax.set_ylim(bottom=0)
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
                           title: str = "Contact window share vs altitude") -> Written:
    """Paper Fig. 4a: share of time in contact with a ground station against altitude.

    ``table`` as for :func:`contact_fraction_vs_altitude` (from
    ``spaceverse contacts --altitudes`` or :func:`contact_fraction_table`);
    rows of one altitude are averaged.  Writes ``<stem>.png`` and ``<stem>.pdf``.
    """
    if "altitude_km" not in table.columns or not len(table):
        raise InputError("contact-fraction table needs rows with an altitude_km column")
    numeric = [c for c in ("pass_fraction_of_period", "overhead_pass_fraction",
                           "mean_contact_fraction") if c in table.columns]
    means = table.groupby("altitude_km", as_index=False)[numeric].mean()
    with _style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.6), layout="constrained")
        _fig4a_axes(ax, means, paper_value)
        ax.set_title(_wrap(_with_note(title, provenance_note(table)), COLUMN_WIDTH_IN))
        return _save_all(fig, path)


def contact_fraction_table(sweep: pd.DataFrame, folder) -> pd.DataFrame:
    """Fig. 4a's table from a sweep over ``constellation.walker.altitude_km``.

    Reads each point's ``contacts.parquet`` and ``summary.json`` (horizon,
    satellites): ``mean_contact_fraction`` is contact time (union over stations)
    per satellite over the horizon, ``pass_fraction_of_period`` the mean pass
    over the Keplerian period.
    """
    from .orbits.contact_stats import orbital_period_s, per_satellite

    if ALTITUDE_AXIS not in sweep.columns:
        raise InputError(f"sweep has no {ALTITUDE_AXIS} axis")
    rows = []
    for _, row in ok_rows(sweep).iterrows():
        run = Path(folder) / str(row.get("run_dir", ""))
        contacts, summary = run / "contacts.parquet", run / "summary.json"
        if not (contacts.exists() and summary.exists()):
            continue
        s = json.loads(summary.read_text())
        windows = pd.read_parquet(contacts)
        horizon = float(s.get("horizon_s") or 0.0)
        n_sat = len(s.get("satellites") or []) or windows["satellite"].nunique()
        alt = float(row[ALTITUDE_AXIS])
        if horizon <= 0 or n_sat == 0:
            continue
        per_sat = (per_satellite(windows, horizon) if len(windows)
                   else pd.DataFrame({"contact_s": []}))
        mean_pass = float(windows["duration_s"].mean()) if len(windows) else 0.0
        rows.append({"altitude_km": alt,
                     "mean_contact_fraction": float(per_sat["contact_s"].sum()) / (horizon * n_sat),
                     "pass_fraction_of_period": mean_pass / orbital_period_s(alt),
                     "synthetic": bool(s.get("synthetic", False))})
    if not rows:
        raise InputError("no run folder of the sweep has contacts.parquet and summary.json")
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Fig. 4b


def _load_run(folder) -> tuple[dict, pd.DataFrame]:
    folder = Path(folder)
    summary_path, samples_path = folder / "summary.json", folder / "samples.parquet"
    if not (summary_path.exists() and samples_path.exists()):
        raise InputError(f"{folder}: not a run folder (needs summary.json and samples.parquet)")
    return json.loads(summary_path.read_text()), pd.read_parquet(samples_path)


def _policy_name(summary: dict) -> str:
    policy = summary.get("policy")
    if isinstance(policy, dict):
        return str(policy.get("name", "policy"))
    return str(policy or "policy")


def stage_means(samples: pd.DataFrame, *, offloaded_only: bool = True) -> dict[str, float]:
    """Mean seconds per stage (a stage a sample skips counts 0).

    Over the finished *offloaded* samples (as the sweep table's ``*_mean``
    columns), or over every finished sample when ``offloaded_only`` is false or
    nothing was offloaded (then the bar is the onboard answer's latency).  The
    stages add up to the mean end-to-end latency of those samples; without
    ``wait_contact_s`` to their mean in-contact latency.
    """
    done = samples[samples["status"].isin(["onboard", "ground"])]
    if offloaded_only and (done["decision"] == "offload").any():
        done = done[done["decision"] == "offload"]
    return {col: float(pd.to_numeric(done[col], errors="coerce").fillna(0.0).mean())
            if len(done) and col in done.columns else 0.0 for col, _, _ in STAGES}


def breakdown_table(table_or_run) -> pd.DataFrame:
    """Rows (``workload``, ``label``, ``<stage>_mean`` per stage, ``synthetic``,
    ``score_modelled``) for :func:`fig4b_latency_breakdown`.

    Accepts a run folder, a sweep folder, a sweep table (its ``*_mean`` columns,
    averaged over seeds per policy and per varying axis, e.g. altitude) or a
    samples table.
    """
    stages = [f"{c}_mean" for c, _, _ in STAGES]
    if isinstance(table_or_run, (str, Path)):
        folder = Path(table_or_run)
        if (folder / "sweep.parquet").exists():
            return breakdown_table(pd.read_parquet(folder / "sweep.parquet"))
        summary, samples = _load_run(folder)
        trace = summary.get("trace") or {}
        row = {"workload": str(trace.get("name") or "workload"),
               "label": _policy_style(_policy_name(summary))[0],
               "synthetic": bool(summary.get("synthetic", False)),
               "score_modelled": bool(summary.get("score_modelled", False))}
        row.update({f"{c}_mean": v for c, v in stage_means(samples).items()})
        return pd.DataFrame([row])
    frame = table_or_run
    if "status" in frame.columns and "tx_s" in frame.columns and "tx_s_mean" not in frame.columns:
        row = {"workload": "workload",
               "label": _policy_style(str(frame["policy"].iloc[0]))[0]
               if "policy" in frame.columns else "run",
               "synthetic": bool(_truthy(frame["synthetic"]).any())
               if "synthetic" in frame.columns else False,
               "score_modelled": bool(_truthy(frame["score_modelled"]).any())
               if "score_modelled" in frame.columns else False}
        row.update({f"{c}_mean": v for c, v in stage_means(frame).items()})
        return pd.DataFrame([row])
    if "tx_s_mean" not in frame.columns:
        raise InputError("latency breakdown needs per-stage means (tx_s_mean, ...) or a run folder")
    frame = frame.copy()
    for col in stages:
        if col not in frame.columns:
            frame[col] = 0.0
    # A point with nothing offloaded has no breakdown (NaN): its bar is the latency of
    # its onboard answers (onboard_only_latency_mean_s), drawn as onboard compute.
    if "onboard_only_latency_mean_s" in frame.columns:
        none_sent = (pd.to_numeric(frame["tx_s_mean"], errors="coerce").isna()
                     & pd.to_numeric(frame["onboard_only_latency_mean_s"], errors="coerce").notna())
        if "offloaded" in frame.columns:
            none_sent &= pd.to_numeric(frame["offloaded"], errors="coerce").fillna(0).eq(0)
        frame.loc[none_sent, stages] = 0.0
        frame.loc[none_sent, "onboard_s_mean"] = frame.loc[none_sent, "onboard_only_latency_mean_s"]
    rows, _ = _prepare(frame, ["tx_s_mean"], ignore=("policy.allocation", "policy (axis)"))
    rows[stages] = rows[stages].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    agg = aggregate(rows, ["workload", "policy", "variant"], stages)
    one_policy = agg["policy"].nunique() == 1
    agg["label"] = [" ".join(filter(None, [
        "" if (one_policy and r["variant"]) else _policy_style(r["policy"])[0], r["variant"]]))
        for _, r in agg.iterrows()]
    order = {p: i for i, p in enumerate(_ordered_policies(agg["policy"]))}
    agg["_order"] = agg["policy"].map(order)
    agg = agg.sort_values(["_order"], kind="stable")
    flags = provenance_flags(rows)
    agg["synthetic"] = "synthetic" in flags
    agg["score_modelled"] = "modelled accuracy" in flags
    return agg[["workload", "label", *stages, "synthetic", "score_modelled"]].reset_index(drop=True)


def fig4b_latency_breakdown(table_or_run, path, *, include_wait: bool = True,
                            title: str | None = None,
                            paper_share: float = PAPER_TX_SHARE_GS_ONLY) -> Written:
    """Paper Fig. 4b: mean latency per stage as stacked horizontal bars, one per policy
    (or per altitude / swept setting), each annotated with its total and its
    transmission share; one panel per workload.

    The means are over the finished offloaded samples (a policy that offloads
    nothing shows the latency of its onboard answers as onboard compute).

    ``include_wait=True`` stacks the wait for a contact window too (end-to-end
    view; the wait's share is annotated as well); ``include_wait=False`` is
    the in-contact view the paper measures.  The paper's GS-only transmission
    share (76.39 %) is quoted in the legend title.
    """
    table = breakdown_table(table_or_run)
    stages = [(c, lab, col) for c, lab, col in STAGES if include_wait or c != "wait_contact_s"]
    names = [c for c, _, _ in stages]
    all_values = np.nan_to_num(np.column_stack(
        [table[f"{c}_mean"].to_numpy(float) for c in names]), nan=0.0)
    totals_all = all_values.sum(axis=1)
    scale, unit = _time_unit(float(totals_all.max()) if len(totals_all) else 0.0)
    workloads = list(dict.fromkeys(table["workload"]))
    n_bars = max(int((table["workload"] == w).sum()) for w in workloads)
    drawn: dict = {}
    with _style():
        ncols = min(len(workloads), 2)
        nrows = math.ceil(len(workloads) / ncols)
        longest = max((len(str(label)) for label in table["label"]), default=10)
        width = (min(DOUBLE_WIDTH_IN, max(COLUMN_WIDTH_IN, 2.9 + 0.055 * longest)) if ncols == 1
                 else DOUBLE_WIDTH_IN)
        fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharex=True, layout="constrained",
                                 figsize=(width, nrows * (0.55 + 0.27 * n_bars) + 0.9))
        axes = axes.ravel().tolist()
        for ax in axes[len(workloads):]:
            ax.set_visible(False)
        for ax, workload in zip(axes, workloads):
            sel = (table["workload"] == workload).to_numpy()
            part, values, totals = table[sel], all_values[sel], totals_all[sel]
            n = len(part)
            y = np.arange(n)
            left = np.zeros(n)
            for k, (col, label, colour) in enumerate(stages):
                width = values[:, k] / scale
                if not np.any(width > 0):
                    continue
                drawn[label] = ax.barh(y, width, left=left, height=0.62, color=colour,
                                       edgecolor="white", linewidth=0.3)
                left += width
            for i in range(n):
                if totals[i] <= 0:
                    continue
                share = 100 * values[i] / totals[i]
                note = f"{_fmt_duration(totals[i])}, tx {share[names.index('tx_s')]:.1f} %"
                if include_wait:
                    note += f", wait {share[names.index('wait_contact_s')]:.1f} %"
                ax.text(totals[i] / scale, i, " " + note, va="center", ha="left", fontsize=7)
            ax.set_yticks(y)
            ax.set_yticklabels(part["label"])
            ax.set_ylim(n - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel(f"mean latency per offloaded sample ({unit})")
            if len(workloads) > 1:
                ax.set_title(workload)
        xmax = max(totals_all.max() / scale, 1e-9) if len(totals_all) else 1.0
        for ax in axes[: len(workloads)]:
            ax.set_xlim(0, xmax * (2.6 if include_wait else 1.8))
        default = ("Latency breakdown, end-to-end (incl. wait for contact)" if include_wait
                   else "Latency breakdown in contact (paper Fig. 4b)")
        _suptitle(fig, title or default, provenance_note(table, synthetic_what="synthetic trace"))
        if drawn:
            fig.legend(list(drawn.values()), list(drawn), loc="outside lower center",
                       ncol=min(len(drawn), 3), handlelength=1.2, columnspacing=1.0,
                       title=f"paper, GS-only: transmission {100 * paper_share:.2f} % of latency")
        return _save_all(fig, path)


# --------------------------------------------------------------------------- Fig. 9


def fig9_accuracy_latency(sweep: pd.DataFrame, path, *, latency: str = "in_contact_mean_s",
                          accuracy: str = "accuracy", title: str | None = None) -> Written:
    """Paper Fig. 9: accuracy against mean latency, one marker per policy.

    One panel per workload (``trace``, seeds merged); each marker is the mean
    over seeds, error bars the standard deviation over seeds on both axes.  A
    policy run at several settings (another swept axis) gets one marker per
    setting, joined by a thin line.  The Pareto front of the non-oracle policies
    (higher accuracy, lower latency) is drawn as a dashed step line.
    """
    rows, _ = _prepare(sweep, [accuracy, latency])
    agg = aggregate(rows, ["workload", "policy", "variant"], [accuracy, latency])
    workloads = list(dict.fromkeys(agg["workload"]))
    scale, unit = _time_unit(float(agg[latency].max()))
    lat_name = {"in_contact_mean_s": "mean in-contact latency",
                "in_contact_p95_s": "p95 in-contact latency",
                "in_contact_p50_s": "median in-contact latency",
                "end_to_end_mean_s": "mean end-to-end latency",
                "end_to_end_p95_s": "p95 end-to-end latency"}.get(latency, latency)
    with _style():
        fig, axes = _panels(len(workloads), height=2.5)
        handles: dict = {}
        for ax, workload in zip(axes, workloads):
            part = agg[agg["workload"] == workload]
            log = _maybe_log(ax, part[latency])
            s = 1.0 if log else scale
            for i, policy in enumerate(_ordered_policies(part["policy"])):
                label, colour, marker = _policy_style(policy, i)
                pts = part[part["policy"] == policy].sort_values(latency)
                if len(pts) > 1:
                    ax.plot(pts[latency] / s, pts[accuracy] * 100, "-", color=colour, lw=0.7,
                            alpha=0.6)
                ax.errorbar(pts[latency] / s, pts[accuracy] * 100, xerr=pts[f"{latency}_std"] / s,
                            yerr=pts[f"{accuracy}_std"] * 100, fmt=marker, color=colour,
                            markersize=7 if marker == "*" else 4.5, capsize=2, elinewidth=0.8,
                            zorder=3)
                _add_handle(handles, label, colour, marker)
            front = pareto_front(part, latency=latency, accuracy=accuracy)
            if len(front):
                ax.step(front[latency] / s, front[accuracy] * 100, where="post", color="0.3",
                        ls="--", lw=0.8, zorder=2)
                _add_handle(handles, "Pareto front (non-oracle)", "0.3", "", "--")
            ax.set_xlabel(f"{lat_name} ({'s' if log else unit})")
            ax.set_ylabel("accuracy (%)")
            _percent_axis(ax, np.r_[part[accuracy] - part[f"{accuracy}_std"],
                                    part[accuracy] + part[f"{accuracy}_std"]])
            if len(workloads) > 1:
                ax.set_title(workload)
        main = title or ("Accuracy vs latency"
                         + (f": {workloads[0]}" if len(workloads) == 1 else ""))
        return _finish(fig, path, main, rows, handles)


# --------------------------------------------------------------------------- Fig. 10


def fig10_accuracy_vs_offloaded(sweep: pd.DataFrame, path, *, fraction: bool = False,
                                accuracy: str = "accuracy", title: str | None = None) -> Written:
    """Paper Fig. 10: accuracy against the number of samples offloaded to the ground.

    Each policy's points (one per swept threshold / parameter setting, means
    over seeds with standard-deviation bars) are joined in order of offloaded
    samples; a policy with one setting (satellite-only, GS-only) is one marker.
    ``fraction=True`` puts the offloaded share (%) on the x axis instead.
    One panel per workload.
    """
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
    agg = aggregate(rows, ["workload", "policy", "variant"], [accuracy, "_x"])
    workloads = list(dict.fromkeys(agg["workload"]))
    with _style():
        fig, axes = _panels(len(workloads), height=2.5)
        handles: dict = {}
        for ax, workload in zip(axes, workloads):
            part = agg[agg["workload"] == workload]
            for i, policy in enumerate(_ordered_policies(part["policy"])):
                label, colour, marker = _policy_style(policy, i)
                pts = part[part["policy"] == policy].sort_values("_x")
                ax.errorbar(pts["_x"], pts[accuracy] * 100, xerr=pts["_x_std"],
                            yerr=pts[f"{accuracy}_std"] * 100,
                            fmt=marker + ("-" if len(pts) > 1 else ""),
                            color=colour, markersize=7 if marker == "*" else 4.5, capsize=2,
                            elinewidth=0.8)
                _add_handle(handles, label, colour, marker, "-" if len(pts) > 1 else "none")
            ax.set_xlabel("offloaded samples (%)" if fraction else "offloaded samples")
            ax.set_ylabel("accuracy (%)")
            _percent_axis(ax, part[accuracy])
            if len(workloads) > 1:
                ax.set_title(workload)
        main = title or ("Accuracy vs offloading volume"
                         + (f": {workloads[0]}" if len(workloads) == 1 else ""))
        return _finish(fig, path, main, rows, handles)


# --------------------------------------------------------------------------- Fig. 11

ABLATION_POLICIES = ("spaceverse", "spaceverse-g", "spaceverse-g-prime", "tabi")
_ABLATION_LABELS = {"spaceverse": r"SpaceVerse ($\tilde{g}$)",
                    "spaceverse-g": r"$g$ only", "spaceverse-g-prime": r"$g'$ only"}


def fig11_ablation(sweep: pd.DataFrame, path, *, latency: str = "in_contact_mean_s",
                   accuracy: str = "accuracy", title: str | None = None) -> Written:
    """Paper Fig. 11: the progressive confidence network's ablation.

    SpaceVerse with g~ (``spaceverse``), with g alone (``spaceverse-g``) and g'
    alone (``spaceverse-g-prime``) as markers (means over seeds, std bars);
    Tabi's rows over ``policy.params.threshold`` as a curve, its end points
    labelled with the threshold.  One panel per workload.
    """
    rows, _ = _prepare(sweep, [accuracy, latency])
    rows = rows[rows["policy"].isin(ABLATION_POLICIES)]
    if not len(rows):
        raise InputError("no spaceverse, spaceverse-g, spaceverse-g-prime or tabi rows")
    rows["_thr"] = (pd.to_numeric(rows[THRESHOLD_AXIS], errors="coerce")
                    if THRESHOLD_AXIS in rows.columns else np.nan)
    agg = aggregate(rows.assign(_thr_key=rows["_thr"].fillna(-1.0)),
                    ["workload", "policy", "variant", "_thr_key"], [accuracy, latency, "_thr"])
    workloads = list(dict.fromkeys(agg["workload"]))
    scale, unit = _time_unit(float(agg[latency].max()))
    with _style():
        fig, axes = _panels(len(workloads), height=2.5)
        handles: dict = {}
        for ax, workload in zip(axes, workloads):
            part = agg[agg["workload"] == workload]
            log = _maybe_log(ax, part[latency])
            s = 1.0 if log else scale
            tabi = part[part["policy"] == "tabi"].sort_values(["_thr", latency])
            if len(tabi):
                _, colour, marker = POLICY_STYLE["tabi"]
                ax.errorbar(tabi[latency] / s, tabi[accuracy] * 100,
                            xerr=tabi[f"{latency}_std"] / s,
                            yerr=tabi[f"{accuracy}_std"] * 100, fmt=marker + "-", color=colour,
                            markersize=3.5, capsize=1.5, elinewidth=0.6, lw=1.0)
                thr = tabi.dropna(subset=["_thr"])
                if len(thr) > 1:
                    for idx in (0, len(thr) - 1):
                        r = thr.iloc[idx]
                        ax.annotate(f"thr {r['_thr']:g}", (r[latency] / s, r[accuracy] * 100),
                                    textcoords="offset points", xytext=(4, -9 if idx == 0 else 4),
                                    fontsize=7, color=colour)
                _add_handle(handles, "Tabi (threshold sweep)" if len(thr) > 1 else "Tabi",
                            colour, marker, "-" if len(tabi) > 1 else "none")
            for policy in ("spaceverse-g", "spaceverse-g-prime", "spaceverse"):
                pts = part[part["policy"] == policy].sort_values(latency)
                if not len(pts):
                    continue
                _, colour, marker = POLICY_STYLE[policy]
                ax.errorbar(pts[latency] / s, pts[accuracy] * 100, xerr=pts[f"{latency}_std"] / s,
                            yerr=pts[f"{accuracy}_std"] * 100,
                            fmt=marker + ("-" if len(pts) > 1 else ""), color=colour,
                            markersize=8 if marker == "*" else 5, capsize=2, elinewidth=0.8,
                            zorder=3)
                _add_handle(handles, _ABLATION_LABELS[policy], colour, marker)
            view = "in-contact" if latency.startswith("in_contact") else "end-to-end"
            ax.set_xlabel(f"mean {view}"
                          f" latency ({'s' if log else unit})")
            ax.set_ylabel("accuracy (%)")
            _percent_axis(ax, part[accuracy])
            if len(workloads) > 1:
                ax.set_title(workload)
        main = title or ("Confidence-network ablation"
                         + (f": {workloads[0]}" if len(workloads) == 1 else ""))
        return _finish(fig, path, main, rows, handles)


# --------------------------------------------------------------------------- Fig. 12


def compression_x(values) -> np.ndarray:
    """Compression ratio as ``raw : sent`` (>= 1): values below 1 are read as
    ``sent / raw`` and inverted; 0 or missing becomes NaN."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(v >= 1.0, v, 1.0 / v)
    out[~np.isfinite(out) | (v <= 0)] = np.nan
    return out


def fig12_compression(sweep: pd.DataFrame, path, *, accuracy: str = "accuracy",
                      title: str | None = None) -> Written:
    """Paper Fig. 12: accuracy against the transmission compression ratio per method.

    The x axis is ``raw : sent`` bytes (``compression_ratio``; a value below 1
    is taken as sent/raw and inverted).  One line per compression method
    (multi-scale, attention-only, uniform-downsample, random-mask) through its
    swept settings (means over seeds, std bars); uncompressed runs (``none``)
    are a dotted reference line.  A method used under several allocation
    policies gets one line per policy.  One panel per workload.
    """
    if "compression" not in sweep.columns:
        if "policy.compression.method" not in sweep.columns:
            raise InputError("sweep table has no compression column")
        sweep = sweep.assign(compression=sweep["policy.compression.method"])
    rows, _ = _prepare(sweep, [accuracy, "compression_ratio"], by=("compression", "policy"))
    rows["_x"] = compression_x(rows["compression_ratio"])
    rows.loc[rows["compression"] == "none", "_x"] = 1.0
    rows = rows[np.isfinite(rows["_x"].to_numpy(float))]
    multi_policy = (rows.groupby(["workload", "compression"])["policy"].nunique() > 1).any()
    agg = aggregate(rows, ["workload", "compression", "policy", "variant"], [accuracy, "_x"])
    workloads = list(dict.fromkeys(agg["workload"]))
    order = list(COMPRESSION_STYLE)
    methods = [m for m in order if m in set(agg["compression"])]
    methods += sorted(set(agg["compression"]) - set(methods))
    with _style():
        fig, axes = _panels(len(workloads), height=2.5)
        handles: dict = {}
        for ax, workload in zip(axes, workloads):
            part = agg[agg["workload"] == workload]
            xmax = 1.0
            for i, method in enumerate(methods):
                label, colour, marker = _compression_style(method, i)
                for j, policy in enumerate(_ordered_policies(part.loc[part["compression"] == method,
                                                                      "policy"])):
                    pts = part[(part["compression"] == method) & (part["policy"] == policy)]
                    pts = pts.sort_values("_x")
                    name = label + (f" ({_policy_style(policy)[0]})" if multi_policy else "")
                    ls = ["-", "--", "-.", ":"][j % 4]
                    if method == "none":
                        for _, r in pts.iterrows():
                            ax.axhline(r[accuracy] * 100, color=colour, ls=":", lw=1.0)
                        ax.plot(pts["_x"], pts[accuracy] * 100, marker, color=colour)
                        _add_handle(handles, name, colour, marker, ":")
                        continue
                    ax.errorbar(pts["_x"], pts[accuracy] * 100, yerr=pts[f"{accuracy}_std"] * 100,
                                fmt=marker + ls if len(pts) > 1 else marker, color=colour,
                                markersize=7 if marker == "*" else 4.5, capsize=2, elinewidth=0.8)
                    _add_handle(handles, name, colour, marker, ls if len(pts) > 1 else "none")
                    xmax = max(xmax, float(pts["_x"].max()))
            ax.set_xlim(0.8, xmax * 1.08 + 0.2)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}:1"))
            ax.set_xlabel("compression ratio (raw : sent bytes)")
            ax.set_ylabel("accuracy (%)")
            _percent_axis(ax, part[accuracy])
            if len(workloads) > 1:
                ax.set_title(workload)
        main = title or ("Accuracy vs compression ratio"
                         + (f": {workloads[0]}" if len(workloads) == 1 else ""))
        return _finish(fig, path, main, rows, handles, ncol=min(len(handles), 3))


# --------------------------------------------------------------------------- beyond the paper


def e2e_latency_vs_altitude(sweep: pd.DataFrame, path, *, latency: str = "end_to_end_mean_s",
                            title: str | None = None) -> Written:
    """End-to-end latency (including the wait for a contact window) against the shell
    altitude ``constellation.walker.altitude_km``.

    One line per number of ground stations (``stations``) when that varies,
    per policy when that varies, or per both; means over seeds with std bars.
    """
    if ALTITUDE_AXIS not in sweep.columns:
        raise InputError(f"sweep has no {ALTITUDE_AXIS} axis")
    station_counts = (pd.to_numeric(sweep["stations"], errors="coerce").nunique()
                      if "stations" in sweep.columns else 0)
    ignore = (ALTITUDE_AXIS, "ground_stations") if station_counts > 1 else (ALTITUDE_AXIS,)
    rows, _ = _prepare(sweep, [latency, ALTITUDE_AXIS], ignore=ignore)
    rows["_alt"] = pd.to_numeric(rows[ALTITUDE_AXIS], errors="coerce")
    rows["_stations"] = (pd.to_numeric(rows["stations"], errors="coerce")
                         if "stations" in rows.columns else np.nan)
    by_station = rows["_stations"].nunique() > 1
    by_policy = rows["policy"].nunique() > 1
    rows["_line"] = [" · ".join(
        ([_policy_style(r["policy"])[0]] if by_policy or not by_station else [])
        + ([f"{int(r['_stations'])} station{'s' if r['_stations'] != 1 else ''}"]
           if by_station else [])
        + ([r["variant"]] if r["variant"] else [])
        + ([r["workload"]] if rows["workload"].nunique() > 1 else []))
        for _, r in rows.iterrows()]
    agg = aggregate(rows, ["_line", "policy", "_alt"], [latency])
    scale, unit = _time_unit(float(agg[latency].max()))
    with _style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.6), layout="constrained")
        log = _maybe_log(ax, agg[latency], axis="y")
        s = 1.0 if log else scale
        for i, line in enumerate(dict.fromkeys(agg["_line"])):
            pts = agg[agg["_line"] == line].sort_values("_alt")
            policy = pts["policy"].iloc[0]
            _, colour, marker = _policy_style(policy, i)
            if by_station or not by_policy:
                colour = _LINE_COLOURS[i % len(_LINE_COLOURS)]
                marker = _EXTRA_MARKERS[i % len(_EXTRA_MARKERS)]
            ax.errorbar(pts["_alt"], pts[latency] / s, yerr=pts[f"{latency}_std"] / s,
                        fmt=marker + "-", color=colour, capsize=2, elinewidth=0.8, label=line)
        if not log:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("shell altitude (km)")
        what = ("mean end-to-end latency\nincl. wait for contact" if latency == "end_to_end_mean_s"
                else latency)
        ax.set_ylabel(f"{what} ({'s' if log else unit})")
        ax.set_title(_wrap(_with_note(title or "End-to-end latency vs altitude",
                                      provenance_note(rows, synthetic_what="synthetic trace")),
                           COLUMN_WIDTH_IN))
        if agg["_line"].nunique() > 1:
            ax.legend()
        return _save_all(fig, path)


def buffer_occupancy(samples: pd.DataFrame, transmissions: pd.DataFrame, satellite: str,
                     satellite_index: int) -> pd.DataFrame:
    """Bytes waiting in ``satellite``'s downlink buffer over time (``t_s``, ``bytes``).

    A sample enters when its onboard stage and compression end
    (capture + onboard queue + onboard + compression) with ``bytes_sent``;
    bytes leave as each transmitted piece ends (``transmissions.parquet``).
    """
    s = samples[(samples["satellite"] == satellite) & (samples["decision"] == "offload")
                & (samples["status"] != "dropped")]
    t_in = (s["capture_s"] + s["onboard_queue_s"].fillna(0) + s["onboard_s"].fillna(0)
            + s["compress_s"].fillna(0)).to_numpy(float)
    tx = transmissions[transmissions["satellite_index"] == satellite_index]
    times = np.r_[t_in, tx["end_s"].to_numpy(float)]
    delta = np.r_[s["bytes_sent"].to_numpy(float), -tx["bytes"].to_numpy(float)]
    order = np.lexsort((-delta, times))  # arrivals before departures at equal times
    occ = np.clip(np.cumsum(delta[order]), 0.0, None)
    return pd.DataFrame({"t_s": np.r_[0.0, times[order]], "bytes": np.r_[0.0, occ]})


def satellite_timeline(run_dir, path, satellite: str | None = None, *,
                       title: str | None = None) -> Written:
    """One satellite of a run over time: its contact windows per station (bars) with
    each transfer marked, its downlink-buffer occupancy, and its captures
    (answered onboard or offloaded).

    ``satellite`` defaults to the one with the most offloaded samples.  Reads
    ``summary.json``, ``samples.parquet``, ``transmissions.parquet`` and
    ``contacts.parquet`` (contacts optional).
    """
    run_dir = Path(run_dir)
    summary, samples = _load_run(run_dir)
    sats = list(summary.get("satellites") or sorted(samples["satellite"].unique()))
    stations = list(summary.get("stations") or [])
    tx_path, contacts_path = run_dir / "transmissions.parquet", run_dir / "contacts.parquet"
    transmissions = (pd.read_parquet(tx_path) if tx_path.exists()
                     else pd.DataFrame(columns=["row", "satellite_index", "station_index",
                                                "start_s", "end_s", "bytes"]))
    contacts = pd.read_parquet(contacts_path) if contacts_path.exists() else None
    if satellite is None:
        off = samples[samples["decision"] == "offload"]["satellite"].value_counts()
        satellite = str(off.index[0]) if len(off) else str(sats[0])
    if satellite not in sats:
        more = " ..." if len(sats) > 8 else ""
        raise InputError(f"{run_dir}: no satellite {satellite!r} in this run "
                         f"(satellites: {', '.join(map(str, sats[:8]))}{more})")
    k = sats.index(satellite)
    mine = samples[samples["satellite"] == satellite]
    tx = transmissions[transmissions["satellite_index"] == k]
    horizon = float(summary.get("horizon_s") or np.nanmax(samples["done_s"].to_numpy(float)))
    hours = 3600.0
    if contacts is not None:
        lanes_names = list(dict.fromkeys(
            [s for s in stations if s in set(contacts["station"])]
            + list(contacts["station"].unique())))
    else:
        lanes_names = list(stations)
    lanes_names = lanes_names or ["(no contacts)"]
    lane = {name: i for i, name in enumerate(lanes_names)}
    with _style():
        fig, (ax_c, ax_b, ax_s) = plt.subplots(
            3, 1, sharex=True, figsize=(DOUBLE_WIDTH_IN, 1.2 + 0.22 * len(lanes_names) + 2.4),
            height_ratios=[0.5 + 0.2 * len(lanes_names), 1.4, 0.6], layout="constrained")
        cmap = {name: plt.cm.tab10(i % 10) for i, name in enumerate(lanes_names)}
        if contacts is not None and len(contacts):
            w = contacts[contacts["satellite"] == satellite]
            for name, grp in w.groupby("station", sort=False):
                spans = list(zip(grp["rise_s"] / hours, (grp["set_s"] - grp["rise_s"]) / hours))
                ax_c.broken_barh(spans,
                                 (lane[name] - 0.35, 0.7), facecolors=cmap[name], alpha=0.55)
        if len(tx):
            names = [stations[int(j)] if 0 <= int(j) < len(stations) else str(j)
                     for j in tx["station_index"]]
            ys = np.array([lane.get(n, 0) for n in names], float)
            ax_c.vlines(tx["start_s"].to_numpy(float) / hours, ys - 0.3, ys + 0.3, color="black",
                        lw=0.6)
        ax_c.set_yticks(range(len(lanes_names)))
        ax_c.set_yticklabels(lanes_names)
        ax_c.set_ylim(len(lanes_names) - 0.5, -0.5)
        ax_c.grid(axis="y", visible=False)
        ax_c.set_ylabel("contacts")
        ax_c.legend(handles=[Patch(color="0.6", alpha=0.55, label="contact window"),
                             Line2D([], [], color="black", lw=0.8, label=f"transfer ({len(tx)})")],
                    loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.1)
        occ = buffer_occupancy(samples, transmissions, satellite, k)
        occ = pd.concat([occ, pd.DataFrame({"t_s": [horizon], "bytes": [occ["bytes"].iloc[-1]]})])
        mb = occ["bytes"].to_numpy(float) / 1e6
        ax_b.step(occ["t_s"] / hours, mb, where="post", color="#9467bd", lw=1.0)
        ax_b.fill_between(occ["t_s"] / hours, mb, step="post", color="#9467bd", alpha=0.2)
        ax_b.set_ylabel("buffer (MB)")
        ax_b.set_ylim(bottom=0)
        decisions = [("onboard", "#7f7f7f"), ("offload", "#d62728")]
        pos = [mine.loc[mine["decision"] == d, "capture_s"].to_numpy(float) / hours
               for d, _ in decisions]
        ax_s.eventplot(pos, lineoffsets=[0, 1], linelengths=0.7, linewidths=0.5,
                       colors=[c for _, c in decisions])
        ax_s.set_yticks([0, 1])
        ax_s.set_yticklabels([f"onboard ({len(pos[0])})", f"offload ({len(pos[1])})"])
        ax_s.set_ylim(1.6, -0.6)
        ax_s.grid(axis="y", visible=False)
        ax_s.set_ylabel("captures")
        ax_s.set_xlim(0, horizon / hours)
        ax_s.set_xlabel("hours since scenario start")
        fig.align_ylabels([ax_c, ax_b, ax_s])
        flags = pd.DataFrame([{"synthetic": summary.get("synthetic", False),
                               "score_modelled": summary.get("score_modelled", False)}])
        main = title or (f"{satellite}: contacts, transfers, buffer and captures "
                         f"({_policy_style(_policy_name(summary))[0]})")
        _suptitle(fig, main, provenance_note(flags, synthetic_what="synthetic trace"))
        return _save_all(fig, path)


def contact_timeline(windows: pd.DataFrame, path, *, duration_s: float, max_rows: int = 40,
                     title: str | None = None) -> Path:
    """Gantt chart of contact windows: one row per satellite, one colour per station.

    Large constellations show the ``max_rows`` satellites with the most contact time;
    the title says how many are shown.  Writes the one file ``path``.
    """
    sats = windows.groupby("satellite")["duration_s"].sum().sort_values(ascending=False)
    shown = list(sats.index[:max_rows])
    stations = list(dict.fromkeys(windows["station"]))
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(stations)}
    with _style():
        height = max(1.8, 0.14 * len(shown) + 1.1)
        fig, ax = plt.subplots(figsize=(DOUBLE_WIDTH_IN, height), layout="constrained")
        w = windows[windows["satellite"].isin(shown)]
        row = {s: i for i, s in enumerate(shown)}
        hours = 3600.0
        for station, grp in w.groupby("station", sort=False):
            ax.barh([row[s] for s in grp["satellite"]], grp["duration_s"] / hours,
                    left=grp["rise_s"] / hours, height=0.7, color=colours[station], label=station)
        ax.set_yticks(range(len(shown)))
        ax.set_yticklabels(shown, fontsize=MIN_FONT_PT)
        ax.set_ylim(len(shown) - 0.5, -0.5)
        ax.set_xlim(0, duration_s / hours)
        ax.set_xlabel("hours since start")
        n = windows["satellite"].nunique()
        ax.set_title(title or f"Contact windows ({len(shown)} of {n} satellites shown)")
        if 1 < len(stations) <= 12:
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                       ncol=min(4, len(stations)))
        ax.grid(axis="y", visible=False)
        return _save(fig, path)


# --------------------------------------------------------------------------- plot_results


def _is_run(folder: Path) -> bool:
    return (folder / "summary.json").exists() and (folder / "samples.parquet").exists()


def _is_sweep(folder: Path) -> bool:
    return (folder / "sweep.parquet").exists()


def _attempt(name: str, make, written: list[Path]) -> None:
    try:
        out = make()
    except InputError as exc:
        logger.info("figure %s skipped: %s", name, exc)
        return
    written.extend(out if isinstance(out, list) else [out])


def _run_figures(folder: Path, out: Path) -> list[Path]:
    written: list[Path] = []
    summary = json.loads((folder / "summary.json").read_text())
    _attempt("latency breakdown", lambda: fig4b_latency_breakdown(
        folder, out / "latency_breakdown"), written)
    _attempt("latency breakdown (in contact)", lambda: fig4b_latency_breakdown(
        folder, out / "latency_breakdown_in_contact", include_wait=False), written)
    _attempt("satellite timeline", lambda: satellite_timeline(folder, out / "satellite_timeline"),
             written)
    contacts = folder / "contacts.parquet"
    if contacts.exists():
        windows = pd.read_parquet(contacts)
        if len(windows):
            note = provenance_note(pd.DataFrame([{"synthetic": summary.get("synthetic", False)}]),
                                   synthetic_what="synthetic trace")
            title = _with_note(f"Contact windows of {summary.get('run_id', folder.name)}", note)
            horizon = float(summary.get("horizon_s") or windows["set_s"].max())
            for suffix in (".png", ".pdf"):
                _attempt("contact timeline", lambda s=suffix: contact_timeline(
                    windows, out / f"contact_timeline{s}", duration_s=horizon, title=title),
                    written)
        else:
            logger.info("figure contact timeline skipped: no contact windows in %s", contacts)
    else:
        logger.info("figure contact timeline skipped: %s has no contacts.parquet", folder)
    return written


def _sweep_figures(folder: Path, out: Path) -> list[Path]:
    written: list[Path] = []
    sweep = pd.read_parquet(folder / "sweep.parquet")
    ok = ok_rows(sweep)
    if not len(ok):
        logger.info("no finished points in %s: no figures", folder / "sweep.parquet")
        return written
    policies = set(ok["policy"].map(_key)) if "policy" in ok.columns else set()

    def varies(col: str) -> bool:
        return col in ok.columns and ok[col].map(_key).nunique() > 1

    has_alt = varies(ALTITUDE_AXIS)
    if has_alt:
        _attempt("fig4a", lambda: fig4a_contact_fraction(contact_fraction_table(sweep, folder),
                                                         out / "fig4a_contact_fraction"), written)
        _attempt("e2e latency vs altitude", lambda: e2e_latency_vs_altitude(
            sweep, out / "e2e_latency_vs_altitude"), written)
    else:
        logger.info("figures fig4a, e2e latency vs altitude skipped: no %s axis with 2+ values",
                    ALTITUDE_AXIS)
    _attempt("fig4b", lambda: fig4b_latency_breakdown(sweep, out / "fig4b_latency_breakdown"),
             written)
    _attempt("fig4b (in contact)", lambda: fig4b_latency_breakdown(
        sweep, out / "fig4b_latency_breakdown_in_contact", include_wait=False), written)
    _attempt("fig9", lambda: fig9_accuracy_latency(sweep, out / "fig9_accuracy_latency"), written)
    _attempt("fig9 (end-to-end)", lambda: fig9_accuracy_latency(
        sweep, out / "fig9_accuracy_e2e_latency", latency="end_to_end_mean_s"), written)
    offload_points = 0
    if "offload_fraction" in ok.columns and "policy" in ok.columns:
        offload_points = int(ok.groupby(ok["policy"].map(_key))["offload_fraction"].nunique().max())
    if offload_points > 1 or len(policies) > 1:
        _attempt("fig10", lambda: fig10_accuracy_vs_offloaded(
            sweep, out / "fig10_accuracy_vs_offloaded"), written)
    else:
        logger.info("figure fig10 skipped: one policy at one offloading volume")
    if policies & {"spaceverse-g", "spaceverse-g-prime"} or (
            "tabi" in policies and varies(THRESHOLD_AXIS)):
        _attempt("fig11", lambda: fig11_ablation(sweep, out / "fig11_ablation"), written)
    else:
        logger.info("figure fig11 skipped: no spaceverse-g / spaceverse-g-prime rows and no "
                    "Tabi threshold sweep")
    compression_axes = [a for a in sweep_axes(ok) if a.startswith("policy.compression")]
    if varies("compression") or any(varies(a) for a in compression_axes):
        _attempt("fig12", lambda: fig12_compression(sweep, out / "fig12_compression"), written)
    else:
        logger.info("figure fig12 skipped: one compression method at one ratio")
    return written


def plot_results(path, out_dir=None) -> list[Path]:
    """Every figure that applies to a run folder or a sweep folder.

    A folder with ``sweep.parquet`` is a sweep (Figs. 4a, 4b, 9, 10, 11, 12 and
    latency vs altitude, each when its inputs are present); one with
    ``summary.json`` and ``samples.parquet`` is a run (latency breakdowns, the
    busiest satellite's timeline, the contact timeline).  Figures go to
    ``<folder>/figures/`` unless ``out_dir`` is given; a figure whose inputs are
    missing is skipped with an info line in the log.  Backs ``spaceverse plot``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    out = Path(out_dir) if out_dir is not None else folder / "figures"
    if _is_sweep(folder):
        written = _sweep_figures(folder, out)
    elif _is_run(folder):
        written = _run_figures(folder, out)
    else:
        raise InputError(f"{folder}: not a run folder (summary.json, samples.parquet) "
                         "or a sweep folder (sweep.parquet)")
    for p in written:
        logger.info("wrote %s", p)
    return written
