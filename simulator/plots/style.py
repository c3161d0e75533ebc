"""Look and provenance of every figure: sizes, fonts, colours and markers, titles
that say what the data are, panels and legends, atomic PNG + PDF saving.

* Readable at a paper's column width: one panel is 3.5 in wide, several panels
  share a 7 in double-column figure; no text is smaller than 7 pt.
* Every figure is written twice, ``<stem>.png`` (300 dpi) and ``<stem>.pdf``
  (fonts embedded), each atomically; the functions return a :class:`Written`.
* Provenance is never hidden: "synthetic" when any input row is synthetic,
  "modelled accuracy" when any accuracy was modelled, and the model preset of
  each panel ("paper-calibrated (calibrated: model input)").
"""

from __future__ import annotations

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

from ..errors import InputError
from ..fileio import write_atomic

# PDF font subsetting logs font-file timestamps at warning level: not our users' business.
logging.getLogger("fontTools").setLevel(logging.ERROR)

COLUMN_WIDTH_IN = 3.5
DOUBLE_WIDTH_IN = 7.0
MIN_FONT_PT = 7

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

#: The paper's reference numbers drawn or quoted on the figures.
PAPER_CONTACT_SHARE = 0.0433       # Fig. 4a: contact window / orbital period (mean)
PAPER_TX_SHARE_GS_ONLY = 0.7639    # Fig. 4b: transmission share of GS-only latency
PAPER_GS_OVER_ONBOARD = 4.14       # Fig. 4b / §4.2: GS-only latency over onboard latency

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

#: Display name, colour and marker of each allocation policy (the same everywhere;
#: every policy has its own marker shape).
POLICY_STYLE = {
    "satellite-only": ("Satellite-only", "#7f7f7f", "v"),
    "ground-only": ("GS-only", "#8c564b", "^"),
    "tabi": ("Tabi", "#1f77b4", "s"),
    "ai-rg": ("AI-RG", "#2ca02c", "D"),
    "spaceverse": ("SpaceVerse", "#d62728", "*"),
    "spaceverse-g": ("SpaceVerse ($g$ only)", "#ff7f0e", "<"),
    "spaceverse-g-prime": ("SpaceVerse ($g'$ only)", "#9467bd", ">"),
    "oracle": ("Oracle", "#000000", "X"),
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

#: How each model preset is named in titles.
PRESET_LABELS = {"physical": "physical model",
                 "paper-calibrated": "paper-calibrated (calibrated: model input)"}

EXTRA_COLOURS = ["#17becf", "#bcbd22", "#e377c2", "#aec7e8", "#98df8a", "#c5b0d5"]
EXTRA_MARKERS = ["o", "p", "h", "8", "d", "P"]
LINE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
LINE_STYLES = ["-", "--", "-.", ":"]
MARKER_ALPHA = 0.35  # face of the hollow-ish markers: overlapping points stay visible

#: Latency components of a sample under load, in pipeline order: (column, label, colour).
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
#: The stages of the service latency (each sample alone: no queue, no wait).
SERVICE_STAGES = [s for s in STAGES if s[0] in
                  ("onboard_s", "compress_s", "tx_s", "propagation_s", "ground_s")]

#: Axis words for the latency columns of ``sweep.parquet``.
LATENCY_NAMES = {
    "service_mean_s": "mean service latency",
    "service_p50_s": "median service latency",
    "service_p95_s": "p95 service latency",
    "in_contact_mean_s": "mean in-contact latency under load",
    "in_contact_p50_s": "median in-contact latency under load",
    "in_contact_p95_s": "p95 in-contact latency under load",
    "end_to_end_mean_s": "mean end-to-end latency\n(incl. wait for contact)",
    "end_to_end_p95_s": "p95 end-to-end latency\n(incl. wait for contact)",
}


# --------------------------------------------------------------------------- saving


class Written(list):
    """The paths a figure function wrote (a list of :class:`~pathlib.Path`).

    ``titles`` holds every title drawn (the figure's and each panel's) and
    ``title`` the main one, so that provenance labels can be checked; ``meta``
    what a figure wants to report about itself (e.g. contour levels).
    """

    def __init__(self, paths: Iterable[Path] = (), titles: Sequence[str] = (),
                 meta: dict | None = None):
        super().__init__(paths)
        self.titles = [t for t in titles if t]
        self.meta = dict(meta or {})

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


class FigureWriteError(InputError):
    """A figure was drawn but cannot be written (a bad or unwritable output path).

    Unlike an :class:`InputError` saying that a figure does not apply to some
    results, this one is never skipped over: the command fails with it.
    """


def _write_one(fig, path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise FigureWriteError(f"{path}: is a folder, cannot write the figure there")
    if path.exists() and not path.is_file():  # a device or a pipe: never replaced by a file
        raise FigureWriteError(f"{path}: not a regular file, cannot write the figure there")
    try:
        return write_atomic(path, lambda tmp: fig.savefig(
            tmp, dpi=STYLE["savefig.dpi"] if path.suffix == ".png" else None,
            bbox_inches="tight", pad_inches=0.03), what="figure")
    except FigureWriteError:
        raise
    except InputError as exc:
        raise FigureWriteError(str(exc)) from None


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


def _save_all(fig, path, meta: dict | None = None) -> Written:
    """Write PNG and PDF (same stem) atomically; close the figure; return the paths."""
    targets = _targets(path)
    titles = _titles_of(fig)
    try:
        return Written([_write_one(fig, t) for t in targets], titles, meta)
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


def preset_label(preset) -> str:
    """How a model preset is named in a title ('' for none)."""
    text = "" if preset is None or (isinstance(preset, float) and math.isnan(preset)) \
        else str(preset)
    return PRESET_LABELS.get(text, text)


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


def _panel_title(workload: str, preset: str, *, workloads: int, presets: int) -> str:
    """A panel's title: the workload and/or the preset, whichever differ between panels."""
    parts = ([workload] if workloads > 1 else []) + ([preset_label(preset)] if presets > 1 else [])
    text = " · ".join(parts)
    if len(text) > 40 and " (" in text:  # "paper-calibrated\n(calibrated: model input)"
        head, _, tail = text.partition(" (")
        text = f"{head}\n({tail}"
    return text


def _main_title(base: str, workloads: Sequence[str], presets: Sequence[str]) -> str:
    """``base``, plus the workload and the preset when one of each is drawn."""
    extra = []
    if len(workloads) == 1 and workloads[0]:
        extra.append(str(workloads[0]))
    if len(presets) == 1 and presets[0]:
        extra.append(preset_label(presets[0]))
    if not extra:
        return base
    tail = " · ".join(extra)
    return f"{base}: {tail}" if len(base) + len(tail) < 48 else f"{base}\n{tail}"


# --------------------------------------------------------------------------- styles


def _policy_style(policy: str, index: int = 0) -> tuple[str, str, str]:
    if policy in POLICY_STYLE:
        return POLICY_STYLE[policy]
    return (policy, EXTRA_COLOURS[index % len(EXTRA_COLOURS)],
            EXTRA_MARKERS[index % len(EXTRA_MARKERS)])


def _compression_style(method: str, index: int = 0) -> tuple[str, str, str]:
    if method in COMPRESSION_STYLE:
        return COMPRESSION_STYLE[method]
    return (method, EXTRA_COLOURS[index % len(EXTRA_COLOURS)],
            EXTRA_MARKERS[index % len(EXTRA_MARKERS)])


def _ordered_policies(values: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(values))
    known = [p for p in POLICY_ORDER if p in seen]
    return known + sorted(p for p in seen if p not in POLICY_STYLE)


def _marker_size(marker: str) -> float:
    return 7.5 if marker == "*" else 5.0


def _marker_kw(colour: str, marker: str) -> dict:
    """Semi-transparent face, solid edge: a marker drawn over another leaves it visible."""
    face = matplotlib.colors.to_rgba(colour, MARKER_ALPHA)
    if marker in ("x", "+", "1", "2", "3", "4", "|", "_"):
        face = colour
    return {"marker": marker, "markersize": _marker_size(marker), "markerfacecolor": face,
            "markeredgecolor": colour, "markeredgewidth": 0.9}


def _time_unit(max_seconds: float) -> tuple[float, str]:
    if not np.isfinite(max_seconds):
        return 1.0, "s"
    if max_seconds >= 3 * 3600:
        return 3600.0, "h"
    if max_seconds >= 3 * 60:
        return 60.0, "min"
    return 1.0, "s"


def _fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"


# --------------------------------------------------------------------------- panels and legends


def _panels(n: int, *, height: float = 2.4, sharey: bool = False, ncols: int | None = None):
    """``n`` panels: one column-wide, two or more across a double-column figure."""
    ncols = ncols or (1 if n == 1 else min(n, 3))
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    width = COLUMN_WIDTH_IN if ncols == 1 else DOUBLE_WIDTH_IN
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows + 0.3), squeeze=False,
                             sharey=sharey, layout="constrained")
    flat = axes.ravel().tolist()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _panel_grid(panels: Sequence[tuple[str, str]], *, height: float = 2.5):
    """One panel per (preset, workload); a row per preset when several presets are drawn."""
    presets = list(dict.fromkeys(p for p, _ in panels))
    workloads = list(dict.fromkeys(w for _, w in panels))
    ncols = min(len(workloads), 3) if len(presets) > 1 else None
    fig, axes = _panels(len(panels), height=height, ncols=ncols)
    return fig, axes, presets, workloads


def _finish(fig, path, title: str, rows, handles: dict, ncol: int | None = None,
            meta: dict | None = None) -> Written:
    """Title with the provenance note, the legend of ``handles`` below, then save."""
    _suptitle(fig, title, provenance_note(rows, synthetic_what="synthetic trace"))
    _legend_below(fig, list(handles.values()), list(handles), ncol=ncol)
    return _save_all(fig, path, meta)


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


def _maybe_log(ax, values, axis: str = "x") -> bool:
    vals = np.asarray(values, float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if len(vals) >= 2 and vals.max() / vals.min() > 50:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        return True
    return False


def _add_handle(handles: dict, label: str, colour: str, marker: str, ls: str = "none"):
    if label not in handles:
        kw = _marker_kw(colour, marker) if marker else {"marker": ""}
        handles[label] = Line2D([], [], color=colour, ls=ls, **kw)
