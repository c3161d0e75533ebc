"""Figures (matplotlib, headless): readable at a paper's column width.

Every function takes tables produced elsewhere and writes PNG (and PDF when the
path ends in ``.pdf``); none recomputes anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .errors import InputError  # noqa: E402

COLUMN_WIDTH_IN = 3.5


FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def check_figure_path(path) -> Path:
    """Reject an unsupported figure suffix before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"{path}: figure must end in {', '.join(FIGURE_SUFFIXES)}")
    return path


def _save(fig, path: Path) -> Path:
    """Write atomically (temp file renamed into place); one-line error if impossible."""
    path = check_figure_path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp, dpi=200, bbox_inches="tight")
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write figure ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def contact_timeline(windows: pd.DataFrame, path, *, duration_s: float, max_rows: int = 40,
                     title: str | None = None) -> Path:
    """Gantt chart of contact windows: one row per satellite, one colour per station.

    Large constellations show the ``max_rows`` satellites with the most contact time;
    the title says how many are shown.
    """
    sats = windows.groupby("satellite")["duration_s"].sum().sort_values(ascending=False)
    shown = list(sats.index[:max_rows])
    stations = list(dict.fromkeys(windows["station"]))
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(stations)}
    height = max(1.6, 0.16 * len(shown) + 0.9)
    fig, ax = plt.subplots(figsize=(2 * COLUMN_WIDTH_IN, height))
    w = windows[windows["satellite"].isin(shown)]
    row = {s: i for i, s in enumerate(shown)}
    hours = 3600.0
    for station, grp in w.groupby("station", sort=False):
        ax.barh([row[s] for s in grp["satellite"]], grp["duration_s"] / hours,
                left=grp["rise_s"] / hours, height=0.7, color=colours[station], label=station)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels(shown, fontsize=5)
    ax.invert_yaxis()
    ax.set_xlim(0, duration_s / hours)
    ax.set_xlabel("hours since start")
    n = windows["satellite"].nunique()
    ax.set_title(title or f"Contact windows ({len(shown)} of {n} satellites shown)", fontsize=8)
    if 1 < len(stations) <= 12:
        ax.legend(fontsize=6, loc="upper right", ncol=min(4, len(stations)))
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def contact_fraction_vs_altitude(table: pd.DataFrame, path, *, paper_value: float = 0.0433,
                                 title: str | None = None) -> Path:
    """Contact fraction (simulated mean and analytic overhead pass) against altitude.

    ``table`` has ``altitude_km``, ``pass_fraction_of_period``,
    ``mean_contact_fraction`` and ``overhead_pass_fraction`` (fractions, not
    percent); the paper's Fig. 4a average is drawn as a dotted line.
    """
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.4))
    x = table["altitude_km"].to_numpy()
    ax.plot(x, 100 * table["pass_fraction_of_period"], "o-", label="mean pass / orbital period")
    ax.plot(x, 100 * table["overhead_pass_fraction"], "s--", label="overhead pass / orbital period")
    ax.plot(x, 100 * table["mean_contact_fraction"], "^-", label="time in contact (mean satellite)")
    ax.axhline(100 * paper_value, color="grey", ls=":", label=f"paper Fig. 4a ({100 * paper_value:.2f} %)")
    ax.set_xlabel("altitude (km)")
    ax.set_ylabel("share of time (%)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=7)
    return _save(fig, path)
