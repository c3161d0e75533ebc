"""Figures: every function on hand-made sweep tables, provenance and preset labels, what
was swept (one curve per policy over its parameter, a split on every other axis), markers
that never hide each other, the Pareto front, the offload map, figure selection, and
plot_results on a real run folder and on hand-made sweep folders."""

from __future__ import annotations

import json
import logging
import re

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest

from simulator import plots
from simulator.errors import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

STAGE_MEANS = {"onboard_s_mean": 0.6, "onboard_queue_s_mean": 0.05, "compress_s_mean": 0.02,
               "buffer_queue_s_mean": 0.02, "propagation_s_mean": 0.005,
               "ground_queue_s_mean": 0.1}
POLICY_POINTS = {  # accuracy, service latency (s), offload fraction
    "satellite-only": (0.55, 0.7, 0.0), "ground-only": (0.78, 2.9, 1.0),
    "tabi": (0.70, 2.0, 0.4), "ai-rg": (0.55, 0.71, 0.45), "spaceverse": (0.76, 1.1, 0.35),
    "oracle": (0.85, 1.0, 0.3), "spaceverse-g": (0.68, 0.8, 0.3),
    "spaceverse-g-prime": (0.74, 1.6, 0.33)}
PRESETS = ("physical", "paper-calibrated")


def sweep_row(policy, seed, *, trace="synthetic-vqa-500", synthetic=True, modelled=False,
              acc=None, lat=None, off=None, compression="none", ratio=1.0, preset="physical",
              **axes):
    """One row of ``sweep.parquet`` with every documented column (AI-RG lands on
    satellite-only's spot, as it often does)."""
    a, lat0, o = POLICY_POINTS.get(policy, (0.6, 1.0, 0.5))
    a = (acc if acc is not None else a) + 0.005 * np.sin(seed)
    lat = (lat if lat is not None else lat0) * (1 + 0.01 * np.cos(seed))
    if preset == "paper-calibrated":
        lat *= 1.5
    o = off if off is not None else o
    n = 500
    tx = 1.6 * lat if policy == "ground-only" else 1.2
    row = dict(point=0, key=f"k{seed}", status="ok", error=None, run_dir=f"runs/p{seed}",
               seed=seed, policy=policy, compression=compression,
               trace=f"{trace}-s{seed}" if synthetic else trace, synthetic=synthetic,
               score_modelled=modelled, preset=preset, samples=n, finished=n,
               offloaded=round(o * n), accuracy=a, accuracy_all=a, service_mean_s=lat,
               service_p50_s=0.9 * lat, service_p95_s=1.8 * lat,
               service_tx_s_mean=(0.76 * lat if policy == "ground-only" else 0.5) if o else np.nan,
               service_offloaded_mean_s=lat if o else np.nan,
               in_contact_mean_s=1.3 * lat, in_contact_p50_s=lat, in_contact_p95_s=2.6 * lat,
               end_to_end_mean_s=lat + 3000 * o, end_to_end_p95_s=lat + 9000 * o,
               offload_fraction=o, bytes_raw=n * 197191,
               bytes_sent=int(n * o * 197191 / ratio), compression_ratio=ratio,
               onboard_only_latency_mean_s=0.7, contact_windows=36, satellites=10, stations=1,
               wall_s=2.0, tx_s_mean=tx * o if o else np.nan, wait_contact_s_mean=2000 * o,
               ground_s_mean=0.2 * lat * o, **STAGE_MEANS)
    row["policy.allocation"] = policy
    row.update(axes)
    return row


def policies_sweep(*, synthetic=True, traces=("synthetic-vqa-500", "synthetic-cls-500"),
                   presets=("physical",), seeds=(1, 2, 3), policies=plots.POLICY_ORDER):
    return pd.DataFrame([sweep_row(p, s, trace=t, synthetic=synthetic, preset=pr,
                                   **({"preset (axis)": pr} if len(presets) > 1 else {}))
                         for pr in presets for t in traces for p in policies for s in seeds])


def params(thr, *, tau=None):
    """A ``policy.params`` cell as sweep.parquet writes it (JSON text)."""
    return json.dumps({"stages": 2, "tau": tau or [thr, round(thr - 0.1, 2)], "threshold": thr})


def offload_sweep(*, tasks=("vqa", "classification")):
    """As scenarios/paper/fig10-offloaded.yaml: one dict-valued policy.params axis."""
    rows = []
    for task in tasks:
        for seed in (1, 2):
            for thr in (0.3, 0.5, 0.7, 0.9):
                for p, base in (("tabi", 0.55), ("spaceverse", 0.58)):
                    rows.append(sweep_row(p, seed, trace=f"synthetic-{task}-400",
                                          acc=base + 0.2 * thr, off=thr,
                                          **{"workload.synthetic.task": task,
                                             "policy.params": params(thr)}))
    return pd.DataFrame(rows)


def legacy_offload_sweep():
    """An older table: a flat policy.params.threshold axis, no service columns."""
    rows = []
    for seed in (1, 2):
        for thr in (0.2, 0.4, 0.6, 0.8):
            rows.append(sweep_row("tabi", seed, acc=0.55 + 0.25 * (1 - (1 - thr) ** 2), off=thr,
                                  **{plots.THRESHOLD_AXIS: thr}))
            rows.append(sweep_row("ai-rg", seed, **{plots.THRESHOLD_AXIS: thr}))  # not read
        rows.append(sweep_row("satellite-only", seed))
        rows.append(sweep_row("ground-only", seed))
    return pd.DataFrame(rows).drop(columns=[c for c in plots.SWEEP_METRICS
                                            if c.startswith("service_")] + ["preset"])


def ablation_sweep():
    """As scenarios/paper/fig11-ablation.yaml: threshold swept, tau fixed."""
    rows = []
    for seed in (1, 2, 3):
        for thr in (0.3, 0.5, 0.7):
            cell = params(thr, tau=[0.5, 0.4])
            rows.append(sweep_row("tabi", seed, acc=0.6 + 0.15 * thr, lat=0.8 + 2 * thr, off=thr,
                                  **{"policy.params": cell}))
            for p, shift in (("spaceverse-g", 0.1), ("spaceverse-g-prime", 0.3)):
                rows.append(sweep_row(p, seed, acc=0.6 + shift + 0.05 * thr,
                                      lat=0.7 + shift + thr, **{"policy.params": cell}))
            rows.append(sweep_row("spaceverse", seed, **{"policy.params": cell}))
    return pd.DataFrame(rows)


def compression_sweep(*, modelled=True, policies=("ground-only",)):
    rows = []
    drops = {"multi-scale": 0.01, "attention-only": 0.04, "uniform-downsample": 0.08,
             "random-mask": 0.18}
    for policy in policies:
        for seed in (1, 2):
            rows.append(sweep_row(policy, seed, acc=0.8, **{
                "policy.compression.method": "none", "policy.compression.params": "{}"}))
            for method, drop in drops.items():
                for masked in (0.2, 0.4, 0.6, 0.8):
                    cr = 1 / (1 - masked)
                    rows.append(sweep_row(policy, seed, modelled=modelled,
                                          acc=0.8 * (1 - drop * cr), compression=method,
                                          ratio=cr, **{"policy.compression.method": method,
                                                       "policy.compression.params":
                                                       json.dumps({"ratio": masked})}))
    return pd.DataFrame(rows)


def altitude_sweep():
    rows = []
    for seed in (1, 2):
        for n_st in (1, 3):
            for alt in (400, 550, 700, 1200):
                stations = ["Shanghai"] if n_st == 1 else ["Shanghai", "Svalbard", "Cape Town"]
                row = sweep_row("ground-only", seed, **{plots.ALTITUDE_AXIS: alt,
                                                        "ground_stations": json.dumps(stations)})
                row["stations"] = n_st
                row["end_to_end_mean_s"] = 20000 / n_st * (550 / alt) * (1 + 0.05 * np.sin(seed))
                rows.append(row)
    return pd.DataFrame(rows)


def breakdown_sweep():
    """As scenarios/paper/fig4b-latency-breakdown.yaml: presets x {satellite-, ground-only}."""
    return pd.DataFrame([sweep_row(p, s, trace="synthetic-detection-300", preset=pr,
                                   lat=2.0 if p == "satellite-only" else 8.3,
                                   **{"preset (axis)": pr})
                         for pr in PRESETS for p in ("satellite-only", "ground-only")
                         for s in (1, 2)])


def check_written(written):
    assert isinstance(written, plots.Written)
    suffixes = sorted(p.suffix for p in written)
    assert suffixes == [".pdf", ".png"]
    png = next(p for p in written if p.suffix == ".png")
    pdf = next(p for p in written if p.suffix == ".pdf")
    assert png.stem == pdf.stem
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 5000
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    assert not list(png.parent.glob(".*tmp*")), "temporary files left behind"


def says(text: str, word: str) -> bool:
    """``word`` as a word of its own (a trace name like synthetic-vqa does not count)."""
    return re.search(rf"\b{word}\b(?!-)", text, flags=re.IGNORECASE) is not None


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures saved while the test runs (one per figure, PNG and PDF)."""
    figures = []
    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        if not figures or figures[-1] is not self:
            figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return figures


def legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends + [ax.get_legend() for ax in fig.axes]
            if legend is not None for t in legend.get_texts()]


def markers_by_policy(fig) -> dict[str, int]:
    counts: dict[str, int] = {}
    for gid, _, _ in plots.marker_positions(fig):
        counts[gid] = counts.get(gid, 0) + 1
    return counts


FIGURES = {
    "fig4b": lambda p: plots.fig4b_latency_breakdown(policies_sweep(), p),
    "fig4b-presets": lambda p: plots.fig4b_latency_breakdown(breakdown_sweep(), p),
    "fig4b-in-contact": lambda p: plots.fig4b_latency_breakdown(policies_sweep(), p,
                                                                include_wait=False),
    "breakdown-e2e": lambda p: plots.fig4b_latency_breakdown(policies_sweep(), p,
                                                             view="end-to-end"),
    "fig9": lambda p: plots.fig9_accuracy_latency(policies_sweep(), p),
    "fig9-presets": lambda p: plots.fig9_accuracy_latency(
        policies_sweep(presets=PRESETS, traces=("synthetic-vqa-400", "synthetic-cls-400",
                                                "synthetic-det-400")), p),
    "fig9-e2e": lambda p: plots.fig9_accuracy_latency(policies_sweep(), p,
                                                      latency="end_to_end_mean_s"),
    "fig10": lambda p: plots.fig10_accuracy_vs_offloaded(offload_sweep(), p),
    "fig10-legacy": lambda p: plots.fig10_accuracy_vs_offloaded(legacy_offload_sweep(), p),
    "fig10-fraction": lambda p: plots.fig10_accuracy_vs_offloaded(offload_sweep(), p,
                                                                  fraction=True),
    "fig11": lambda p: plots.fig11_ablation(ablation_sweep(), p),
    "fig12": lambda p: plots.fig12_compression(compression_sweep(), p),
    "e2e-altitude": lambda p: plots.e2e_latency_vs_altitude(altitude_sweep(), p),
    "fig4b-altitude": lambda p: plots.fig4b_latency_breakdown(altitude_sweep(), p,
                                                              view="end-to-end"),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_writes_png_and_pdf_and_says_synthetic(name, tmp_path):
    written = FIGURES[name](tmp_path / "sub" / f"{name}.png")
    check_written(written)
    assert says(written.text, "synthetic"), written.titles


def test_real_recorded_rows_are_not_labelled(tmp_path):
    written = plots.fig9_accuracy_latency(policies_sweep(synthetic=False, traces=("rsvqa",)),
                                          tmp_path / "f9")
    check_written(written)
    assert not says(written.text, "synthetic")
    assert "modelled" not in written.text
    assert "rsvqa" in written.title


def test_modelled_accuracy_is_labelled(tmp_path):
    written = plots.fig12_compression(compression_sweep(modelled=True), tmp_path / "f12.pdf")
    assert "modelled accuracy" in written.text
    plain = plots.fig12_compression(compression_sweep(modelled=False), tmp_path / "g12")
    assert "modelled accuracy" not in plain.text


def test_one_synthetic_row_is_enough(tmp_path):
    sweep = policies_sweep(synthetic=False, traces=("rsvqa",))
    sweep.loc[3, "synthetic"] = True
    assert says(plots.fig9_accuracy_latency(sweep, tmp_path / "f").text, "synthetic")


def test_path_forms(tmp_path):
    sweep = policies_sweep()
    stem = plots.fig9_accuracy_latency(sweep, tmp_path / "bare")
    assert sorted(p.name for p in stem) == ["bare.pdf", "bare.png"]
    svg = plots.fig9_accuracy_latency(sweep, tmp_path / "vec.svg")
    assert sorted(p.name for p in svg) == ["vec.pdf", "vec.png", "vec.svg"]
    with pytest.raises(InputError, match="must end in"):
        plots.fig9_accuracy_latency(sweep, tmp_path / "fig.jpg")


def test_fonts_are_at_least_7_pt(tmp_path, drawn):
    for name in ("fig4b", "fig9-presets", "fig10", "fig12"):
        FIGURES[name](tmp_path / name)
    plots.offload_map_figure(synthetic_map(), tmp_path / "map", points=MAP_POINTS)
    assert len(drawn) == 5
    for fig in drawn:
        sizes = [t.get_fontsize() for t in fig.findobj(lambda o: hasattr(o, "get_fontsize"))
                 if getattr(t, "get_text", lambda: "")()]
        assert sizes and min(sizes) >= plots.MIN_FONT_PT


def test_failed_points_are_left_out(tmp_path):
    sweep = policies_sweep()
    bad = sweep.iloc[[0]].copy()
    bad["status"], bad["error"], bad["accuracy"] = "error", "boom", np.nan
    both = pd.concat([sweep, bad], ignore_index=True)
    written = plots.fig9_accuracy_latency(both, tmp_path / "f")
    check_written(written)
    assert len(plots.ok_rows(pd.concat([sweep, bad]), ["accuracy"])) == len(sweep)


def test_empty_input_is_a_one_line_error(tmp_path):
    sweep = policies_sweep()
    sweep["status"] = "error"
    with pytest.raises(InputError, match="no finished sweep points"):
        plots.fig9_accuracy_latency(sweep, tmp_path / "f")
    with pytest.raises(InputError, match="spaceverse"):
        plots.fig11_ablation(policies_sweep()[lambda d: d["policy"] == "ai-rg"], tmp_path / "g")


# --------------------------------------------------------------------------- the latency axis


def test_paper_figures_plot_service_latency(tmp_path, drawn):
    for make in (lambda p: plots.fig9_accuracy_latency(policies_sweep(), p),
                 lambda p: plots.fig11_ablation(ablation_sweep(), p)):
        written = make(tmp_path / "f")
        assert written.meta["latency"] == "service_mean_s"
        assert all("service latency" in ax.get_xlabel() for ax in drawn[-1].axes
                   if ax.get_xlabel())
        assert "service latency" in written.text or "ablation" in written.text
    old = policies_sweep().drop(columns=["service_mean_s"])
    written = plots.fig9_accuracy_latency(old, tmp_path / "old")
    assert written.meta["latency"] == "in_contact_mean_s"
    assert "in-contact latency under load" in drawn[-1].axes[0].get_xlabel()
    e2e = plots.fig9_accuracy_latency(policies_sweep(), tmp_path / "e", latency="end_to_end_mean_s")
    assert "end-to-end" in e2e.text


def test_service_breakdown_follows_the_sweep_columns():
    sweep = breakdown_sweep()
    table = plots.breakdown_table(sweep, "service")
    for _, row in table.iterrows():
        src = sweep[(sweep["policy"] == row["policy"]) & (sweep["preset"] == row["preset"])]
        stages = [f"{c}_mean" for c, _, _ in plots.SERVICE_STAGES]
        assert row[stages].sum() == pytest.approx(src["service_mean_s"].mean())
        if row["policy"] == "ground-only":
            assert row["tx_s_mean"] == pytest.approx(src["service_tx_s_mean"].mean())
            assert row["ground_s_mean"] == pytest.approx(src["ground_s_mean"].mean())
            assert row["propagation_s_mean"] == pytest.approx(src["propagation_s_mean"].mean())
        else:
            assert row["onboard_s_mean"] == pytest.approx(src["service_mean_s"].mean())
            assert row[[s for s in stages if s != "onboard_s_mean"]].sum() == 0


def test_fig4b_service_view_annotates_the_paper_ratio(tmp_path, drawn):
    written = plots.fig4b_latency_breakdown(breakdown_sweep(), tmp_path / "b")
    assert written.meta["view"] == "service"
    texts = [t.get_text() for ax in drawn[-1].axes for t in ax.texts]
    assert any(re.search(r"4\.1\dx onboard", t) for t in texts), texts
    assert "4.14x onboard" in legend_title(drawn[-1])
    assert "(calibrated: model input)" in written.text


def legend_title(fig) -> str:
    return " ".join(legend.get_title().get_text() for legend in fig.legends)


# --------------------------------------------------------------------------- presets


def test_one_panel_per_preset_titled_with_it(tmp_path, drawn):
    sweep = policies_sweep(presets=PRESETS, traces=("synthetic-vqa-400", "synthetic-cls-400"))
    written = plots.fig9_accuracy_latency(sweep, tmp_path / "f")
    axes = [ax for ax in drawn[-1].axes if ax.get_visible()]
    assert len(axes) == 4
    titles = [ax.get_title() for ax in axes]
    calibrated = r"paper-calibrated\s+\(calibrated: model input\)"
    assert sum(bool(re.search(calibrated, t)) for t in titles) == 2
    assert sum("physical" in t for t in titles) == 2
    assert "(calibrated: model input)" in written.text
    # one preset only: the main title says which
    calibrated = sweep[sweep["preset"] == "paper-calibrated"]
    assert "(calibrated: model input)" in plots.fig10_accuracy_vs_offloaded(
        calibrated, tmp_path / "g").title


# --------------------------------------------------------------------------- what was swept


def test_fig10_draws_one_curve_per_policy_over_its_parameter(tmp_path, drawn):
    written = plots.fig10_accuracy_vs_offloaded(offload_sweep(tasks=("vqa",)), tmp_path / "f")
    curves = next(iter(written.meta["curves"].values()))
    assert len(curves) == 2
    for label, xs in curves.items():
        assert len(xs) == 4, label
        assert ("threshold=0.3 → 0.9" in label) == label.startswith("Tabi")
        assert ("τ=(0.3, 0.2) → (0.9, 0.8)" in label) == label.startswith("SpaceVerse")
        assert xs == sorted(xs)  # sorted by the parameter (offloads rise with it here)
    assert markers_by_policy(drawn[-1]) == {"tabi": 4, "spaceverse": 4}
    # error bars over seeds only: the two seeds' offloads are identical here
    for line in drawn[-1].axes[0].collections:
        segs = line.get_segments() if hasattr(line, "get_segments") else []
        for seg in segs:
            assert abs(seg[0][0] - seg[-1][0]) < 1.0  # no bar spanning the x axis
    labels = legend_labels(drawn[-1])
    assert any(lab.startswith("Tabi (threshold") for lab in labels), labels


def test_prepare_splits_dict_valued_params_by_what_each_policy_reads():
    rows, varying = plots._prepare(ablation_sweep(), ["accuracy"])
    assert varying == ["policy.params.threshold"]
    knobs = rows.groupby("policy")["knob"].unique().map(sorted).to_dict()
    assert knobs["tabi"] == ["threshold=0.3", "threshold=0.5", "threshold=0.7"]
    assert knobs["spaceverse-g"] == knobs["tabi"]
    assert knobs["spaceverse"] == [""]  # it reads tau, which was not swept
    agg = plots.aggregate(rows, ["workload", "preset", "policy", "variant"], ["accuracy"])
    assert set(agg.loc[agg["policy"] != "spaceverse", "n"]) == {3}  # the seeds, nothing else
    legacy, varying = plots._prepare(legacy_offload_sweep(), ["accuracy"])
    assert varying == [plots.THRESHOLD_AXIS]
    assert set(legacy.loc[legacy["policy"] == "tabi", "variant"]) == {
        "threshold=0.2", "threshold=0.4", "threshold=0.6", "threshold=0.8"}
    assert set(legacy.loc[legacy["policy"] == "ai-rg", "variant"]) == {""}  # not its knob


def test_fig11_curves(tmp_path, drawn):
    plots.fig11_ablation(ablation_sweep(), tmp_path / "f")
    assert markers_by_policy(drawn[-1]) == {"tabi": 3, "spaceverse-g": 3,
                                            "spaceverse-g-prime": 3, "spaceverse": 1}


@pytest.mark.parametrize("name", ["fig9", "fig10", "fig11", "fig12"])
def test_every_other_swept_axis_splits(name, tmp_path, drawn):
    base = {"fig9": policies_sweep(traces=("synthetic-vqa-500",)), "fig10": offload_sweep(
        tasks=("vqa",)), "fig11": ablation_sweep(), "fig12": compression_sweep()}[name]
    fast = base.assign(**{"link.rate_mbps": 200.0})
    slow = base.assign(**{"link.rate_mbps": 50.0}, service_mean_s=base["service_mean_s"] * 2,
                       accuracy=base["accuracy"] - 0.01)
    make = {"fig9": plots.fig9_accuracy_latency, "fig10": plots.fig10_accuracy_vs_offloaded,
            "fig11": plots.fig11_ablation, "fig12": plots.fig12_compression}[name]
    make(base, tmp_path / "one")
    one = sum(markers_by_policy(drawn[-1]).values())
    make(pd.concat([fast, slow], ignore_index=True), tmp_path / "two")
    assert sum(markers_by_policy(drawn[-1]).values()) == 2 * one
    assert any("200 Mbps" in lab for lab in legend_labels(drawn[-1]))


def test_breakdown_splits_every_other_axis():
    base = breakdown_sweep()
    both = pd.concat([base.assign(**{"link.rate_mbps": r}) for r in (50.0, 200.0)])
    assert len(plots.breakdown_table(both, "service")) == 2 * len(
        plots.breakdown_table(base, "service"))


# --------------------------------------------------------------------------- Fig. 9 markers


def test_fig9_no_marker_hides_another_and_the_front_is_named(tmp_path, drawn):
    sweep = policies_sweep(traces=("synthetic-vqa-500",))
    written = plots.fig9_accuracy_latency(sweep, tmp_path / "f")
    fig = drawn[-1]
    positions = plots.marker_positions(fig)
    assert {gid for gid, _, _ in positions} == set(plots.POLICY_ORDER)
    for i, (gid_a, xa, ya) in enumerate(positions):
        for gid_b, xb, yb in positions[i + 1:]:
            if gid_a != gid_b:
                assert np.hypot(xa - xb, ya - yb) > 4.0, (gid_a, gid_b)  # points
    assert written.meta["nudged"]  # satellite-only and AI-RG coincide in the table
    shapes = {line.get_gid(): line.get_marker() for line in fig.axes[0].get_lines()
              if line.get_gid()}
    assert len(set(shapes.values())) == len(shapes)
    alphas = [line.get_markerfacecolor()[3] for line in fig.axes[0].get_lines()
              if line.get_gid() and line.get_marker() not in ("x", "+")]
    assert max(alphas) < 1.0  # semi-transparent faces
    front = next(iter(written.meta["fronts"].values()))
    assert front == ["satellite-only", "spaceverse-g", "spaceverse", "ground-only"]
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"Sat-only", "g only", "SpaceVerse", "GS-only"} <= texts
    assert any("Pareto front" in lab for lab in legend_labels(fig))


def test_nudge_offsets_move_only_coinciding_markers():
    offsets = plots.nudge_offsets([0.5, 0.51, 0.9], [0.5, 0.5, 0.1], 200, 150)
    assert np.allclose(offsets[2], 0)
    moved = np.array([0.5 * 200, 0.5 * 150]) + offsets[0], np.array([0.51 * 200, 75]) + offsets[1]
    assert np.hypot(*(moved[0] - moved[1])) == pytest.approx(9.0)


# --------------------------------------------------------------------------- selection


def sweep_folder(tmp_path, name, table):
    folder = tmp_path / name
    folder.mkdir()
    table.to_parquet(folder / "sweep.parquet", index=False)
    return folder


def fig9_zip_sweep():
    """As scenarios/paper/fig9-policies.yaml: compression zipped with the policy."""
    sweep = policies_sweep(presets=PRESETS, seeds=(1, 2), policies=(
        "satellite-only", "ground-only", "tabi", "ai-rg", "spaceverse", "oracle"))
    method = np.where(sweep["policy"] == "spaceverse", "multi-scale", "none")
    return sweep.assign(compression=method, **{"policy.compression.method": method})


def test_figures_only_where_their_axes_were_swept(tmp_path, caplog):
    folder = sweep_folder(tmp_path, "fig9", fig9_zip_sweep())
    with caplog.at_level(logging.INFO, logger="simulator.plots"):
        names = {p.stem for p in plots.plot_results(folder)}
    assert {"fig9_accuracy_latency", "fig4b_latency_breakdown"} <= names
    assert not names & {"fig12_compression", "fig10_accuracy_vs_offloaded", "fig11_ablation",
                        "e2e_latency_vs_altitude"}
    assert "figure fig12 skipped" in caplog.text


def test_no_legend_doubling_with_several_policies(tmp_path, drawn):
    plots.fig12_compression(compression_sweep(policies=("ground-only", "spaceverse")),
                            tmp_path / "f")
    labels = legend_labels(drawn[-1])
    assert any(lab.startswith("multi-scale · SpaceVerse (") for lab in labels), labels
    assert not any(lab.count("SpaceVerse") > 1 for lab in labels), labels


def test_plot_results_picks_named_figures(tmp_path):
    folder = sweep_folder(tmp_path, "s", fig9_zip_sweep())
    written = plots.plot_results(folder, figures=["fig9", "fig4b_latency_breakdown"])
    assert sorted(p.name for p in written) == [
        "fig4b_latency_breakdown.pdf", "fig4b_latency_breakdown.png",
        "fig9_accuracy_latency.pdf", "fig9_accuracy_latency.png"]
    with pytest.raises(InputError, match="did you mean fig12"):
        plots.plot_results(folder, figures=["fig13"])
    with pytest.raises(InputError, match="fig12: no compression"):
        plots.plot_results(folder, figures=["fig12"])
    assert set(plots.FIGURES) >= {"fig4a", "fig4b", "fig9", "fig10", "fig11", "fig12",
                                  "satellite-timeline"}
    assert all(isinstance(v, str) and v for v in plots.FIGURES.values())


# --------------------------------------------------------------------------- offload map

MAP_POINTS = [{"goodput_mbps": 40.0, "image_side_px": 800, "label": "physical"},
              {"goodput_mbps": 9.0, "image_side_px": 800, "label": "paper-calibrated"},
              *plots.dataset_points()]


def synthetic_map():
    goodput = np.geomspace(1, 1000, 25)
    side = np.geomspace(128, 8000, 20)
    g, s = np.meshgrid(goodput, side)
    ratio = 0.3 + (s / 800) ** 2 * 30 / g  # onboard compute ~ fixed, transfer ~ side^2/goodput
    return pd.DataFrame({"goodput_mbps": g.ravel(), "image_side_px": s.ravel(),
                         "latency_ratio": ratio.ravel(), "accuracy_gain": 1.31,
                         "synthetic": True})


def test_offload_map(tmp_path, drawn):
    written = plots.offload_map_figure(synthetic_map(), tmp_path / "map", points=MAP_POINTS,
                                       title="physical compute model; raw RGB images; "
                                             "service latency")
    check_written(written)
    assert written.meta["levels"] == [1.0, plots.PAPER_GS_OVER_ONBOARD]
    norm = written.meta["norm"]
    assert norm(1.0) == pytest.approx(0.5)
    assert norm(0.5) == pytest.approx(1 - norm(2.0))
    ax = drawn[-1].axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    contours = [c for c in ax.collections if type(c).__name__ in ("QuadContourSet",
                                                                   "ContourSet")]
    assert sorted(float(lv) for c in contours for lv in c.levels) == [1.0, 4.14]
    assert "1.31×" in written.text and "service latency" in written.text
    assert says(written.text, "synthetic")
    labels = {t.get_text() for t in ax.texts}
    assert {"physical", "AID", "DOTA-v1.0", "RSVQA-LR / UC Merced"} <= labels
    assert any("offloading faster ↔ onboard faster" in lab for lab in legend_labels(drawn[-1]))
    with pytest.raises(InputError, match="latency_ratio"):
        plots.offload_map_figure(synthetic_map().drop(columns="latency_ratio"), tmp_path / "x")


# --------------------------------------------------------------------------- helpers


def test_pareto_mask():
    lat = [1.0, 2.0, 3.0, 2.5, 1.0, np.nan]
    acc = [0.5, 0.7, 0.8, 0.6, 0.4, 0.99]
    # (2.5, 0.6) is beaten by (2.0, 0.7); (1.0, 0.4) by (1.0, 0.5); NaN never on the front.
    assert plots.pareto_mask(lat, acc).tolist() == [True, True, True, False, False, False]
    # Identical points do not dominate each other.
    assert plots.pareto_mask([1.0, 1.0], [0.5, 0.5]).tolist() == [True, True]
    assert plots.pareto_mask([], []).tolist() == []


def test_pareto_front_excludes_oracle_and_sorts():
    table = pd.DataFrame({"policy": ["a", "b", "c", "oracle", "d"],
                          "accuracy": [0.5, 0.7, 0.6, 0.95, 0.8],
                          "in_contact_mean_s": [1.0, 3.0, 4.0, 0.5, 5.0]})
    front = plots.pareto_front(table)
    assert front["policy"].tolist() == ["a", "b", "d"]
    assert front["accuracy"].is_monotonic_increasing
    with_oracle = plots.pareto_front(table, exclude=())
    assert with_oracle["policy"].tolist() == ["oracle"]


def test_aggregate_over_seeds():
    rows = pd.DataFrame({"policy": ["a", "a", "a", "b"], "x": [1.0, 2.0, 3.0, 5.0]})
    agg = plots.aggregate(rows, ["policy"], ["x"]).set_index("policy")
    assert agg.loc["a", "x"] == pytest.approx(2.0)
    assert agg.loc["a", "x_std"] == pytest.approx(1.0)
    assert agg.loc["b", "x_std"] == 0.0 and agg.loc["b", "n"] == 1


def test_workload_merges_synthetic_seeds_only():
    frame = pd.DataFrame({"trace": ["synthetic-vqa-500-s1", "synthetic-vqa-500-s2", "ucm-s1"],
                          "synthetic": [True, True, False]})
    assert plots.workload_of(frame).tolist() == ["synthetic vqa (500)", "synthetic vqa (500)",
                                                 "ucm-s1"]
    pooled = pd.DataFrame({"trace": ["synthetic-detection-3500-train2000-s2"], "synthetic": [True]})
    assert plots.workload_of(pooled).tolist() == ["synthetic detection (3500)"]


def test_compression_ratio_reading():
    assert plots.compression_x([5.0, 0.2, 1.0, 0.0, np.nan]).tolist()[:3] == [5.0, 5.0, 1.0]
    assert np.isnan(plots.compression_x([0.0, np.nan])).all()


def test_fig4a_and_legacy_contact_fraction(tmp_path):
    table = pd.DataFrame({"altitude_km": [400.0, 570.0, 800.0],
                          "mean_contact_fraction": [0.03, 0.04, 0.05],
                          "pass_fraction_of_period": [0.035, 0.043, 0.052],
                          "overhead_pass_fraction": [0.05, 0.06, 0.07], "synthetic": True})
    written = plots.fig4a_contact_fraction(table, tmp_path / "fig4a")
    check_written(written)
    assert says(written.text, "synthetic")
    two = pd.concat([table.assign(series="1 GS"), table.assign(
        series="3 GS", mean_contact_fraction=table["mean_contact_fraction"] * 3)])
    check_written(plots.fig4a_contact_fraction(two, tmp_path / "fig4a-two"))
    legacy = plots.contact_fraction_vs_altitude(table, tmp_path / "legacy.png",
                                                title="Synthetic Walker shells")
    assert legacy == tmp_path / "legacy.png" and legacy.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(InputError, match="altitude_km"):
        plots.fig4a_contact_fraction(table.drop(columns="altitude_km"), tmp_path / "x")


# --------------------------------------------------------------------------- real run folder


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """One small.yaml run (Tabi, so that some samples stay onboard and some go down)."""
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    base = tmp_path_factory.mktemp("plots-run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPACEVERSE_CACHE", str(base / "cache"))
        scenario = load_scenario("scenarios/small.yaml", ["policy.allocation=tabi",
                                                          "workload.train_fraction=0.05"])
        return run_scenario(scenario, out_dir=base / "results").folder


def test_plot_results_on_a_run_folder(run_folder):
    written = plots.plot_results(run_folder)
    names = {p.name for p in written}
    out = run_folder / "figures"  # the default destination
    assert all(p.parent == out for p in written)
    for stem in ("latency_breakdown", "latency_breakdown_in_contact", "latency_breakdown_service",
                 "satellite_timeline", "contact_timeline"):
        for suffix in (".png", ".pdf"):
            assert f"{stem}{suffix}" in names
            assert (out / f"{stem}{suffix}").stat().st_size > 1000
    assert not list(out.glob(".*tmp*"))
    only = plots.plot_results(run_folder, out_dir=run_folder / "one",
                              figures=["satellite-timeline"])
    assert sorted(p.name for p in only) == ["satellite_timeline.pdf", "satellite_timeline.png"]


def test_run_figures_say_synthetic(run_folder, tmp_path):
    timeline = plots.satellite_timeline(run_folder, tmp_path / "t")
    assert says(timeline.text, "synthetic")
    breakdown = plots.fig4b_latency_breakdown(run_folder, tmp_path / "b", include_wait=False)
    assert says(breakdown.text, "synthetic")


def test_breakdown_adds_up_to_the_latencies(run_folder):
    samples = pd.read_parquet(run_folder / "samples.parquet")
    finished = samples[samples["status"].isin(["onboard", "ground"])]
    for offloaded_only in (True, False):
        means = plots.stage_means(samples, offloaded_only=offloaded_only)
        done = finished[finished["decision"] == "offload"] if offloaded_only else finished
        assert 0 < len(done) <= len(samples)
        assert sum(means.values()) == pytest.approx(done["end_to_end_latency_s"].mean(), rel=1e-9)
        in_contact = sum(v for k, v in means.items() if k != "wait_contact_s")
        assert in_contact == pytest.approx(done["in_contact_latency_s"].mean(), rel=1e-9)
    # Nothing offloaded: the onboard answers' latency.
    onboard = samples[samples["decision"] == "onboard"]
    means = plots.stage_means(onboard)
    done = onboard[onboard["status"] == "onboard"]
    assert sum(means.values()) == pytest.approx(done["end_to_end_latency_s"].mean(), rel=1e-9)
    # The service view adds up to the mean service latency of all samples.
    service = plots.breakdown_table(run_folder, "service")
    stages = [f"{c}_mean" for c, _, _ in plots.SERVICE_STAGES]
    assert service[stages].sum(axis=1).iloc[0] == pytest.approx(
        samples["service_latency_s"].mean(), rel=1e-6)


def test_breakdown_of_a_policy_that_offloads_nothing():
    sweep = policies_sweep(traces=("synthetic-vqa-500",))
    none_sent = sweep["policy"] == "satellite-only"
    stage_cols = [f"{c}_mean" for c, _, _ in plots.STAGES]
    sweep.loc[none_sent, stage_cols] = np.nan
    sweep.loc[none_sent, "offloaded"] = 0
    table = plots.breakdown_table(sweep).set_index("label")
    assert table.loc["Satellite-only", "onboard_s_mean"] == pytest.approx(0.7)
    assert table.loc["Satellite-only", stage_cols].sum() == pytest.approx(0.7)


def test_buffer_occupancy_and_timeline_choice(run_folder, tmp_path):
    summary = json.loads((run_folder / "summary.json").read_text())
    samples = pd.read_parquet(run_folder / "samples.parquet")
    tx = pd.read_parquet(run_folder / "transmissions.parquet")
    for k, sat in enumerate(summary["satellites"]):
        occ = plots.buffer_occupancy(samples, tx, sat, k)
        assert (occ["bytes"] >= 0).all()
        mine = samples[(samples["satellite"] == sat) & (samples["decision"] == "offload")]
        left = mine.loc[mine["tx_end_s"].isna() & (mine["status"] != "dropped"), "bytes_sent"]
        assert occ["bytes"].iloc[-1] == pytest.approx(left.sum() - 0.0, abs=1.0)
    other = summary["satellites"][-1]
    written = plots.satellite_timeline(run_folder, tmp_path / "one", satellite=other)
    assert other in written.title
    with pytest.raises(InputError, match="no satellite"):
        plots.satellite_timeline(run_folder, tmp_path / "x", satellite="NOPE-1")


# --------------------------------------------------------------------------- sweep folders


def test_plot_results_on_a_sweep_folder(tmp_path, caplog):
    folder = tmp_path / "sweep"
    folder.mkdir()
    sweep = pd.concat([ablation_sweep(), offload_sweep(tasks=("vqa",)).assign(
        seed=lambda d: d["seed"] + 10)], ignore_index=True)
    sweep.to_parquet(folder / "sweep.parquet", index=False)
    with caplog.at_level(logging.INFO, logger="simulator.plots"):
        written = plots.plot_results(folder, out_dir=tmp_path / "figs")
    names = {p.name for p in written}
    for stem in ("fig4b_latency_breakdown", "fig4b_latency_breakdown_in_contact",
                 "fig9_accuracy_latency", "fig10_accuracy_vs_offloaded", "fig11_ablation"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert all(p.parent == tmp_path / "figs" for p in written)
    assert "fig12_compression.png" not in names
    assert "figure fig12 skipped" in caplog.text
    assert "figure latency-vs-altitude skipped" in caplog.text


def test_plot_results_altitude_and_compression_sweeps(tmp_path, caplog):
    alt = sweep_folder(tmp_path, "alt", altitude_sweep())
    with caplog.at_level(logging.INFO, logger="simulator.plots"):
        names = {p.name for p in plots.plot_results(alt)}
    assert "e2e_latency_vs_altitude.png" in names
    assert "latency_breakdown_e2e.png" in names
    assert "fig4a_contact_fraction.png" not in names  # no run folders with contacts
    assert "figure fig4a skipped" in caplog.text
    assert "fig9_accuracy_latency.png" not in names  # one policy
    comp = sweep_folder(tmp_path, "comp", compression_sweep())
    assert "fig12_compression.png" in {p.name for p in plots.plot_results(comp)}


def test_plot_results_rejects_other_folders(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        plots.plot_results(tmp_path)
    with pytest.raises(InputError, match="no such results folder"):
        plots.plot_results(tmp_path / "missing")
