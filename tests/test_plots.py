"""Figures: every function on hand-made tables, provenance labels, Pareto helper,
plot_results on a real run folder and on hand-made sweep folders."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pandas as pd
import pytest

from simulator import plots
from simulator.errors import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

STAGE_MEANS = {"onboard_s_mean": 0.6, "onboard_queue_s_mean": 0.05, "compress_s_mean": 0.02,
               "buffer_queue_s_mean": 0.02, "propagation_s_mean": 0.005,
               "ground_queue_s_mean": 0.1}
POLICY_POINTS = {  # accuracy, in-contact latency (s), offload fraction
    "satellite-only": (0.55, 0.7, 0.0), "ground-only": (0.78, 2.9, 1.0),
    "tabi": (0.70, 2.0, 0.4), "ai-rg": (0.62, 1.6, 0.45), "spaceverse": (0.76, 1.1, 0.35),
    "oracle": (0.85, 1.0, 0.3), "spaceverse-g": (0.68, 0.8, 0.3),
    "spaceverse-g-prime": (0.74, 1.6, 0.33)}


def sweep_row(policy, seed, *, trace="synthetic-vqa-500", synthetic=True, modelled=False,
              acc=None, lat=None, off=None, compression="none", ratio=1.0, **axes):
    """One row of ``sweep.parquet`` with every documented column."""
    a, lat0, o = POLICY_POINTS.get(policy, (0.6, 1.0, 0.5))
    a = (acc if acc is not None else a) + 0.01 * np.sin(seed)
    lat = (lat if lat is not None else lat0) * (1 + 0.03 * np.cos(seed))
    o = off if off is not None else o
    n = 500
    row = dict(point=0, key=f"k{seed}", status="ok", error=None, run_dir=f"runs/p{seed}",
               seed=seed, policy=policy, compression=compression,
               trace=f"{trace}-s{seed}" if synthetic else trace, synthetic=synthetic,
               score_modelled=modelled, samples=n, finished=n, offloaded=round(o * n),
               accuracy=a, accuracy_all=a, in_contact_mean_s=lat, in_contact_p50_s=0.8 * lat,
               in_contact_p95_s=2 * lat, end_to_end_mean_s=lat + 3000 * o,
               end_to_end_p95_s=lat + 9000 * o, offload_fraction=o, bytes_raw=n * 197191,
               bytes_sent=int(n * o * 197191 / ratio), compression_ratio=ratio,
               onboard_only_latency_mean_s=0.7, contact_windows=36, satellites=10, stations=1,
               wall_s=2.0, tx_s_mean=1.8 * o, wait_contact_s_mean=2000 * o,
               ground_s_mean=0.25 * o, **STAGE_MEANS)
    row["policy.allocation"] = policy
    row.update(axes)
    return row


def policies_sweep(*, synthetic=True, traces=("synthetic-vqa-500", "synthetic-cls-500")):
    return pd.DataFrame([sweep_row(p, s, trace=t, synthetic=synthetic)
                         for t in traces for p in plots.POLICY_ORDER for s in (1, 2, 3)])


def offload_sweep():
    rows = []
    for seed in (1, 2):
        for thr in (0.2, 0.4, 0.6, 0.8):
            for p, base in (("tabi", 0.55), ("spaceverse", 0.57), ("ai-rg", 0.53)):
                rows.append(sweep_row(p, seed, acc=base + 0.25 * (1 - (1 - thr) ** 2), off=thr,
                                      **{plots.THRESHOLD_AXIS: thr}))
        rows.append(sweep_row("satellite-only", seed))
        rows.append(sweep_row("ground-only", seed))
    return pd.DataFrame(rows)


def ablation_sweep():
    rows = []
    for seed in (1, 2, 3):
        for thr in (0.1, 0.3, 0.5, 0.7, 0.9):
            rows.append(sweep_row("tabi", seed, acc=0.6 + 0.15 * thr, lat=0.8 + 2 * thr, off=thr,
                                  **{plots.THRESHOLD_AXIS: thr}))
        for p in ("spaceverse", "spaceverse-g", "spaceverse-g-prime"):
            rows.append(sweep_row(p, seed))
    return pd.DataFrame(rows)


def compression_sweep(*, modelled=True):
    rows = []
    drops = {"multi-scale": 0.01, "attention-only": 0.04, "uniform-downsample": 0.08,
             "random-mask": 0.18}
    for seed in (1, 2):
        rows.append(sweep_row("ground-only", seed, acc=0.8, **{
            "policy.compression.method": "none", "policy.compression.params.ratio": None}))
        for method, drop in drops.items():
            for masked in (0.2, 0.4, 0.6, 0.8):
                cr = 1 / (1 - masked)
                rows.append(sweep_row("ground-only", seed, modelled=modelled,
                                      acc=0.8 * (1 - drop * cr), compression=method, ratio=cr,
                                      **{"policy.compression.method": method,
                                         "policy.compression.params.ratio": masked}))
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


def check_written(written, stem_dir=None):
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


FIGURES = {
    "fig4b": lambda p: plots.fig4b_latency_breakdown(policies_sweep(), p),
    "fig4b-in-contact": lambda p: plots.fig4b_latency_breakdown(policies_sweep(), p,
                                                                include_wait=False),
    "fig9": lambda p: plots.fig9_accuracy_latency(policies_sweep(), p),
    "fig9-e2e": lambda p: plots.fig9_accuracy_latency(policies_sweep(), p,
                                                      latency="end_to_end_mean_s"),
    "fig10": lambda p: plots.fig10_accuracy_vs_offloaded(offload_sweep(), p),
    "fig10-fraction": lambda p: plots.fig10_accuracy_vs_offloaded(offload_sweep(), p,
                                                                  fraction=True),
    "fig11": lambda p: plots.fig11_ablation(ablation_sweep(), p),
    "fig12": lambda p: plots.fig12_compression(compression_sweep(), p),
    "e2e-altitude": lambda p: plots.e2e_latency_vs_altitude(altitude_sweep(), p),
    "fig4b-altitude": lambda p: plots.fig4b_latency_breakdown(altitude_sweep(), p),
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


def test_fonts_are_at_least_7_pt(tmp_path, monkeypatch):
    seen = []
    original = plots._save_all

    def spy(fig, path):
        seen.append([t.get_fontsize() for t in fig.findobj(lambda o: hasattr(o, "get_fontsize"))
                     if getattr(t, "get_text", lambda: "")()])
        return original(fig, path)

    monkeypatch.setattr(plots, "_save_all", spy)
    for name in ("fig4b", "fig12"):
        FIGURES[name](tmp_path / name)
    assert len(seen) == 2
    for sizes in seen:
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
    assert plots.workload_of(frame).tolist() == ["synthetic-vqa-500", "synthetic-vqa-500",
                                                 "ucm-s1"]


def test_variant_names_swept_parameters():
    rows, varying = plots._prepare(offload_sweep(), ["accuracy"])
    assert varying == [plots.THRESHOLD_AXIS]
    assert set(rows.loc[rows["policy"] == "tabi", "variant"]) == {
        "threshold=0.2", "threshold=0.4", "threshold=0.6", "threshold=0.8"}


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
    for stem in ("latency_breakdown", "latency_breakdown_in_contact", "satellite_timeline",
                 "contact_timeline"):
        for suffix in (".png", ".pdf"):
            assert f"{stem}{suffix}" in names
            assert (out / f"{stem}{suffix}").stat().st_size > 1000
    assert not list(out.glob(".*tmp*"))


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
        assert 0 < len(done) < len(samples)
        assert sum(means.values()) == pytest.approx(done["end_to_end_latency_s"].mean(), rel=1e-9)
        in_contact = sum(v for k, v in means.items() if k != "wait_contact_s")
        assert in_contact == pytest.approx(done["in_contact_latency_s"].mean(), rel=1e-9)
    # Nothing offloaded: the onboard answers' latency.
    onboard = samples[samples["decision"] == "onboard"]
    means = plots.stage_means(onboard)
    done = onboard[onboard["status"] == "onboard"]
    assert sum(means.values()) == pytest.approx(done["end_to_end_latency_s"].mean(), rel=1e-9)


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
    sweep = pd.concat([ablation_sweep(), offload_sweep().assign(seed=lambda d: d["seed"] + 10)],
                      ignore_index=True)
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
    assert "e2e latency vs altitude skipped" in caplog.text


def test_plot_results_altitude_and_compression_sweeps(tmp_path, caplog):
    alt = tmp_path / "alt"
    alt.mkdir()
    altitude_sweep().to_parquet(alt / "sweep.parquet", index=False)
    with caplog.at_level(logging.INFO, logger="simulator.plots"):
        names = {p.name for p in plots.plot_results(alt)}
    assert "e2e_latency_vs_altitude.png" in names
    assert "fig4a_contact_fraction.png" not in names  # no run folders with contacts
    assert "figure fig4a skipped" in caplog.text
    comp = tmp_path / "comp"
    comp.mkdir()
    compression_sweep().to_parquet(comp / "sweep.parquet", index=False)
    assert "fig12_compression.png" in {p.name for p in plots.plot_results(comp)}


def test_plot_results_rejects_other_folders(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        plots.plot_results(tmp_path)
    with pytest.raises(InputError, match="no such results folder"):
        plots.plot_results(tmp_path / "missing")
