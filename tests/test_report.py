"""The HTML report: self-contained, escaped, honest about synthetic data."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from simulator import __version__
from simulator.errors import InputError
from simulator.paths import project_root
from simulator.report import render_report, write_report

ROOT = project_root()

NASTY = "<b>bold</b> & <script>alert(1)</script>"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A small.yaml run (synthetic trace) whose description needs escaping."""
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    base = tmp_path_factory.mktemp("report-run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPACEVERSE_CACHE", str(base / "cache"))
        scenario = load_scenario("scenarios/small.yaml", [f"description={NASTY}"])
        return run_scenario(scenario, out_dir=base / "results").folder


def external_refs(text: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)""", text,
                      flags=re.IGNORECASE)


def check_self_contained(text: str) -> None:
    # the interactive view is an iframe srcdoc: escaped HTML, checked by tests/test_view.py
    text = re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', text)
    assert "data:image/png;base64," in text
    assert external_refs(text) == []
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text


def test_run_report_is_self_contained_and_escaped(run_folder, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    assert not (folder / "figures").exists()
    out = write_report(folder)
    assert out == folder / "report.html"
    text = out.read_text(encoding="utf-8")
    check_self_contained(text)
    # no absolute local path: neither the results folder nor the project's
    assert str(tmp_path) not in text and str(ROOT) not in text
    assert "Interactive view" in text
    # The figures were made because the folder had none, and every one is inlined.
    pngs = sorted((folder / "figures").glob("*.png"))
    assert {p.stem for p in pngs} >= {"latency_breakdown", "latency_breakdown_in_contact",
                                      "satellite_timeline"}
    assert text.count("data:image/png;base64,") == len(pngs)
    # The resolved YAML is there, escaped.
    assert NASTY not in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "ground_stations:" in text and "Svalbard (ksat)" in text
    # Synthetic, provenance and version.
    assert "SYNTHETIC" in text
    summary = json.loads((folder / "summary.json").read_text())
    assert html_escaped(summary["trace"]["licence"]) in text
    assert html_escaped(summary["trace"]["source"]) in text
    assert f"spaceverse {__version__}" in text
    assert not list(folder.glob(".*tmp*"))


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_report_uses_existing_figures_and_out_path(run_folder, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    (folder / "figures").mkdir()
    # One ready-made PNG: the report inlines it and does not re-plot.
    from simulator.plots import satellite_timeline

    satellite_timeline(folder, folder / "figures" / "satellite_timeline")
    out = write_report(folder, out=tmp_path / "elsewhere" / "r.html")
    text = out.read_text()
    assert text.count("data:image/png;base64,") == 1
    assert sorted(p.name for p in (folder / "figures").iterdir()) == [
        "satellite_timeline.pdf", "satellite_timeline.png"]


def sweep_table(run_dir: str, *, synthetic: bool) -> pd.DataFrame:
    rows = []
    for policy, acc, lat in (("satellite-only", 0.55, 0.7), ("ground-only", 0.8, 2.9),
                             ("spaceverse", 0.76, 1.1)):
        for seed in (1, 2):
            rows.append(dict(point=len(rows), key=f"k{len(rows)}", status="ok", error=None,
                             run_dir=run_dir, seed=seed, policy=policy, compression="none",
                             trace="synthetic-vqa-200-s1" if synthetic else "rsvqa",
                             synthetic=synthetic, score_modelled=False, samples=200,
                             finished=200, offloaded=100, accuracy=acc + 0.01 * seed,
                             accuracy_all=acc, in_contact_mean_s=lat + 0.05 * seed,
                             in_contact_p50_s=lat, in_contact_p95_s=2 * lat,
                             end_to_end_mean_s=4000.0, end_to_end_p95_s=9000.0,
                             offload_fraction=0.5, bytes_raw=10**7, bytes_sent=5 * 10**6,
                             compression_ratio=1.0, onboard_s_mean=0.6, onboard_queue_s_mean=0.0,
                             compress_s_mean=0.0, buffer_queue_s_mean=0.01,
                             wait_contact_s_mean=3000.0, tx_s_mean=0.5, propagation_s_mean=0.005,
                             ground_queue_s_mean=0.05, ground_s_mean=0.2,
                             onboard_only_latency_mean_s=0.7, contact_windows=10, satellites=3,
                             stations=2, wall_s=1.0, **{"policy.allocation": policy}))
    rows.append(dict(rows[-1], point=len(rows), status="error", error="worker died <oops>",
                     accuracy=None))
    return pd.DataFrame(rows)


def test_sweep_report(run_folder, tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    shutil.copytree(run_folder, folder / "runs" / "p0")
    sweep_table("runs/p0", synthetic=True).to_parquet(folder / "sweep.parquet", index=False)
    (folder / "sweep.yaml").write_text(f"base: scenarios/small.yaml\nnote: {NASTY}\n")
    text = write_report(folder).read_text()
    check_self_contained(text)
    assert "SYNTHETIC" in text
    assert "fig9_accuracy_latency.png" in text
    assert "7 points, 6 finished, 1 failed" in text
    assert "worker died &lt;oops&gt;" in text
    assert NASTY not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "CC0-1.0" in text  # the run's trace licence
    assert "spaceverse" in text and "± " in text


def test_real_sweep_has_no_synthetic_banner(tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    sweep_table("runs/missing", synthetic=False).to_parquet(folder / "sweep.parquet", index=False)
    text = render_report(folder)
    check_self_contained(text)
    assert "SYNTHETIC" not in text
    assert "rsvqa" in text


def test_not_a_results_folder(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        write_report(tmp_path)
    with pytest.raises(InputError, match="no such results folder"):
        write_report(tmp_path / "nope")


def test_run_report_names_and_defines_every_metric(run_folder, tmp_path):
    from simulator.results import METRICS, format_value

    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    text = render_report(folder)
    summary = json.loads((folder / "summary.json").read_text())
    plain = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    for name in ("accuracy_every_answer", "accuracy_all_samples", "accuracy_finished_samples"):
        value = format_value(name, summary[name])
        assert f"{name} {value} fraction (0-1) " in plain
        assert html_escaped(METRICS[name].what) in text
    assert "training pool (rows, never simulated)" in text


def test_sweep_report_says_warnings_and_defines_metrics(run_folder, tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    shutil.copytree(run_folder, folder / "runs" / "p0")
    table = sweep_table("runs/p0", synthetic=True).rename(
        columns={"accuracy": "accuracy_finished_samples", "accuracy_all": "accuracy_all_samples"})
    table["accuracy_every_answer"] = table["accuracy_all_samples"]
    table["warnings"] = ["tabi offloaded 0 % of the samples: its decisions are "
                         "satellite-only's"] + [""] * (len(table) - 1)
    table.to_parquet(folder / "sweep.parquet", index=False)
    text = render_report(folder)
    assert "WARNINGS: degenerate results" in text
    assert "its decisions are satellite-only&#x27;s" in text
    assert "Metric definitions" in text and "accuracy_every_answer" in text
    assert "55.00 % ± 0.00 %" in text  # formatted as every table formats it
