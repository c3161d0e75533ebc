"""Figures beyond the paper: latency under load against the shell altitude and the
ground stations, one satellite's timeline (contacts, transfers, buffer, captures)
and the contact-window Gantt chart of a constellation."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import InputError
from .data import (ALTITUDE_AXIS, CONTACT_COLUMNS, TRANSMISSION_COLUMNS, _load_run, _policy_name,
                   _prepare, aggregate, read_table_file)
from .style import (COLUMN_WIDTH_IN, DOUBLE_WIDTH_IN, EXTRA_MARKERS, LATENCY_NAMES,
                    LINE_COLOURS, MIN_FONT_PT, _maybe_log, _marker_kw, _panels, _policy_style,
                    _save, _save_all, _style, _suptitle, _time_unit, _with_note, _wrap,
                    preset_label, provenance_note)


def e2e_latency_vs_altitude(sweep: pd.DataFrame, path, *, latency: str = "end_to_end_mean_s",
                            title: str | None = None):
    """Latency under load (default: end to end, including the wait for a contact window)
    against the shell altitude ``constellation.walker.altitude_km``.

    One line per number of ground stations (``stations``) when that varies, per
    policy when that varies, per any other swept setting; means over seeds with
    std bars.  One panel per model preset.
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
    several_workloads = rows["workload"].nunique() > 1
    setting = [", ".join(filter(None, (s, k))) for s, k in zip(rows["series"], rows["knob"])]
    rows["_line"] = [" · ".join(
        ([_policy_style(p)[0]] if by_policy or not by_station else [])
        + ([f"{int(n)} station{'s' if n != 1 else ''}"] if by_station else [])
        + ([v] if v else []) + ([w] if several_workloads else []))
        for p, n, v, w in zip(rows["policy"], rows["_stations"], setting, rows["workload"])]
    agg = aggregate(rows, ["preset", "_line", "policy", "_alt"], [latency])
    presets = list(dict.fromkeys(agg["preset"]))
    lines = list(dict.fromkeys(agg["_line"]))
    scale, unit = _time_unit(float(agg[latency].max()))
    with _style():
        fig, axes = _panels(len(presets), height=2.6, sharey=True)
        for ax, preset in zip(axes, presets):
            part = agg[agg["preset"] == preset]
            log = _maybe_log(ax, agg[latency], axis="y")
            s = 1.0 if log else scale
            for i, line in enumerate(lines):
                pts = part[part["_line"] == line].sort_values("_alt")
                if not len(pts):
                    continue
                _, colour, marker = _policy_style(pts["policy"].iloc[0], i)
                if by_station or not by_policy:
                    colour = LINE_COLOURS[i % len(LINE_COLOURS)]
                    marker = EXTRA_MARKERS[i % len(EXTRA_MARKERS)]
                ax.errorbar(pts["_alt"], pts[latency] / s, yerr=pts[f"{latency}_std"] / s,
                            color=colour, capsize=2, elinewidth=0.8, label=line, ls="-",
                            **_marker_kw(colour, marker))
            if not log:
                ax.set_ylim(bottom=0)
            ax.set_xlabel("shell altitude (km)")
            what = LATENCY_NAMES.get(latency, latency)
            ax.set_ylabel(f"{what} ({'s' if log else unit})")
            if len(presets) > 1:
                ax.set_title(preset_label(preset))
        main = title or "Latency under load vs altitude"
        if len(presets) == 1 and presets[0]:
            main += f" ({preset_label(presets[0])})"
        note = provenance_note(rows, synthetic_what="synthetic trace")
        if len(presets) == 1:
            axes[0].set_title(_wrap(_with_note(main, note), COLUMN_WIDTH_IN))
        else:
            _suptitle(fig, main, note)
        if len(lines) > 1:
            axes[0].legend()
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
                       title: str | None = None):
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
    transmissions = (read_table_file(tx_path, "transmission table", TRANSMISSION_COLUMNS)
                     if tx_path.exists()
                     else pd.DataFrame(columns=["row", "satellite_index", "station_index",
                                                "start_s", "end_s", "bytes"]))
    contacts = (read_table_file(contacts_path, "contact table", CONTACT_COLUMNS)
                if contacts_path.exists() else None)
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


ISL_AXIS = "isl"


def isl_relay(sweep: pd.DataFrame, path, *, title: str | None = None):
    """End-to-end latency and its wait for contact with and without inter-satellite links.

    Bars per station set (``stations``) and per ISL setting (the ``isl`` axis: null = no
    ISLs); means over seeds.  Shows when relaying cuts the end-to-end latency: with few
    stations the wait for one's own pass dominates and a neighbour in contact is near.
    """
    if ISL_AXIS not in sweep.columns:
        raise InputError(f"sweep has no {ISL_AXIS} axis")
    ok = sweep[sweep["status"] == "ok"].copy()
    if not len(ok):
        raise InputError("no finished sweep points with an isl axis")
    ok["_isl"] = ["no ISLs" if str(v) in ("", "None", "null", "nan") else "ISLs"
                  for v in ok[ISL_AXIS].astype(str)]
    ok["_stations"] = pd.to_numeric(ok.get("stations", 1), errors="coerce").fillna(1).astype(int)
    agg = ok.groupby(["_stations", "_isl"])[["end_to_end_mean_s", "wait_contact_s_mean"]].mean()
    station_sets = sorted(ok["_stations"].unique())
    kinds = ["no ISLs", "ISLs"]
    scale, unit = (3600.0, "h") if float(agg["end_to_end_mean_s"].max()) > 7200 else (60.0, "min")
    with _style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.8), layout="constrained")
        width = 0.38
        for k, kind in enumerate(kinds):
            xs, e2e, wait = [], [], []
            for j, n in enumerate(station_sets):
                if (n, kind) in agg.index:
                    xs.append(j + (k - 0.5) * width)
                    e2e.append(agg.loc[(n, kind), "end_to_end_mean_s"] / scale)
                    wait.append(agg.loc[(n, kind), "wait_contact_s_mean"] / scale)
            colour = LINE_COLOURS[k % len(LINE_COLOURS)]
            ax.bar(xs, e2e, width, color=colour, alpha=0.35, edgecolor=colour, label=f"{kind}: "
                   "end to end")
            ax.bar(xs, wait, width * 0.5, color=colour, label=f"{kind}: wait for contact")
            for x, v in zip(xs, e2e):
                ax.annotate(f"{v:.1f}", (x, v), ha="center", va="bottom", fontsize=6)
        ax.set_xticks(range(len(station_sets)),
                      [f"{n} station{'s' if n != 1 else ''}" for n in station_sets])
        ax.set_ylabel(f"mean latency under load ({unit})")
        main = title or "Relay over inter-satellite links"
        note = provenance_note(ok, synthetic_what="synthetic trace")
        ax.set_title(_wrap(_with_note(main, note), COLUMN_WIDTH_IN))
        ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
        ax.legend(fontsize=6, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                  frameon=False)
        return _save_all(fig, path)
