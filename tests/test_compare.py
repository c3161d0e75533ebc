"""`spaceverse compare`: every policy on one workload as a one-axis sweep over policies, the
Fig. 9 table, the Pareto verdicts, resuming, and its folder plotted and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulator.cli import main
from simulator.compare import (COLUMNS, DEFAULT_POLICIES, compare_policies, compare_sweep,
                               comparison_table, verdict, verdicts)
from simulator.results import pareto_front, read_sweep_table, sweep_kind

ROOT = Path(__file__).resolve().parent.parent
UCM = ROOT / "scenarios" / "ucm-recorded.yaml"
SMALL = ROOT / "scenarios" / "small.yaml"
#: UC Merced shortened: 200 samples, 2 h (+4 h to drain): the same policies, in seconds.
SHORT_UCM = ["workload.samples=200", "time.duration_h=2", "time.drain_h=4"]


@pytest.fixture(scope="module")
def ucm(tmp_path_factory):
    return compare_policies(UCM, DEFAULT_POLICIES, overrides=["workload.train_fraction=0.05"],
                            out_dir=tmp_path_factory.mktemp("ucm"))


def test_table_has_every_policy_and_column(ucm):
    assert list(ucm.columns) == COLUMNS
    assert list(ucm.policy) == list(DEFAULT_POLICIES)
    assert (ucm.finished == 1995).all()          # 5 % of 2,100 rows held out for training
    assert (ucm.training_pool_rows == 105).all() and (ucm.samples == 1995).all()
    assert not ucm.synthetic.any() and (ucm.status == "ok").all()
    by = ucm.set_index("policy")
    assert by.loc["satellite-only", "offload_fraction"] == 0
    assert by.loc["ground-only", "offload_fraction"] == 1
    others = by.drop(index="oracle")
    assert by.loc["oracle", "accuracy_every_answer"] > others.accuracy_every_answer.max()
    assert not by.loc["oracle", "pareto"] and not by.loc["oracle", "pareto_under_load"]


def test_spaceverse_pareto_verdicts_on_ucm(ucm):
    by = ucm.set_index("policy")
    assert by.loc["spaceverse", "accuracy_every_answer"] > by.loc["satellite-only",
                                                                  "accuracy_every_answer"]
    # under the run's load SpaceVerse is on the front; on the paper's pair (each sample
    # alone) the physical ground model is as fast and more accurate: ground-only wins
    assert by.loc["spaceverse", "pareto_under_load"] and not by.loc["spaceverse", "pareto"]
    paper, load = verdicts(ucm)
    assert paper.startswith("spaceverse is NOT on the Pareto front of accuracy_every_answer vs "
                            "service_mean_s: dominated by ground-only")
    assert load.startswith("spaceverse is on the Pareto front of accuracy_all_samples vs "
                           "in_contact_mean_s")
    assert verdict(ucm) == f"{paper}; {load}"
    # degenerate results are said: 105 training rows; Tabi offloads nothing here
    warnings = dict(zip(ucm.policy, ucm.warnings))
    assert "spaceverse learned from 105 training rows, fewer than 1,000" in warnings["spaceverse"]
    assert "its decisions are satellite-only's" in warnings["tabi"]


def test_a_comparison_is_a_sweep_folder(ucm):
    folder = Path(ucm.attrs["out_dir"])
    assert sweep_kind(folder) == "compare"
    resolved = yaml.safe_load((folder / "sweep.yaml").read_text())
    assert resolved["kind"] == "compare" and resolved["axes"] == {
        "policy.allocation": list(DEFAULT_POLICIES)}  # ucm compresses nothing: one axis
    table = read_sweep_table(folder)
    assert list(table["policy"]) == list(DEFAULT_POLICIES)
    assert all((folder / run_dir / "summary.json").is_file() for run_dir in table.run_dir)
    pd.testing.assert_frame_equal(comparison_table(folder), comparison_table(table, folder))
    assert list(comparison_table(folder)["run"]) == list(ucm["run"])


def test_baselines_send_raw_images_unless_asked(tmp_path):
    sweep = compare_sweep(ROOT / "scenarios" / "default.yaml",
                          ["ground-only", "spaceverse"])
    points = {p.scenario.policy.allocation: p.scenario for p in sweep.points()}
    assert points["ground-only"].policy.compression.method == "none"
    assert points["spaceverse"].policy.compression.method == "multi-scale"
    assert list(sweep.axes) == ["policy.allocation", "policy.compression.method",
                                "policy.compression.params"]
    same = compare_sweep(ROOT / "scenarios" / "default.yaml", ["ground-only", "spaceverse"],
                         same_compression=True)
    assert {p.scenario.policy.compression.method for p in same.points()} == {"multi-scale"}
    assert list(same.axes) == ["policy.allocation"]


def test_verdict_is_honest_when_dominated():
    t = pd.DataFrame({"policy": ["satellite-only", "spaceverse", "tabi", "oracle"],
                      "accuracy_every_answer": [0.6, 0.65, 0.7, 0.9],
                      "service_mean_s": [1.0, 3.0, 2.0, 1.0]})
    t["pareto"] = pareto_front(t)
    assert t.pareto.tolist() == [True, False, True, False]
    assert verdict(t) == ("spaceverse is NOT on the Pareto front of accuracy_every_answer vs "
                          "service_mean_s: dominated by tabi")


def test_verdict_says_when_it_is_within_the_noise():
    t = pd.DataFrame({"policy": ["satellite-only", "spaceverse", "oracle"],
                      "accuracy_every_answer": [0.600, 0.602, 0.9],
                      "service_mean_s": [1.0, 1.005, 1.0]})
    assert verdict(t) == ("spaceverse is on the Pareto front of accuracy_every_answer vs "
                          "service_mean_s (non-oracle policies) -- within the noise "
                          "(seed-to-seed spread or 1 %)")


def test_cli_compare_prints_the_table(tmp_path, capsys):
    csv = tmp_path / "cmp.csv"
    out_dir = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(SMALL), "--out", str(out_dir),
              "--policies", "satellite-only,ground-only,spaceverse", "--set",
              "workload.train_fraction=0.1", "--csv", str(csv)])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "Pareto" in out and "(3 computed, 0 read back)" in out
    assert "accuracy_every_answer: mean score of the answer every sample gets" in out
    table = pd.read_csv(csv)
    assert table.policy.tolist() == ["satellite-only", "ground-only", "spaceverse"]
    assert (out_dir / "sweep.parquet").is_file() and len(list((out_dir / "points").iterdir())) == 3


def test_compare_resumes_plots_and_reports_a_shortened_ucm(tmp_path, capsys):
    """`spaceverse compare scenarios/ucm-recorded.yaml --plot --report`, shortened: a figure
    and a report; the second call computes nothing new; plot and report work on its folder."""
    folder = tmp_path / "ucm"
    args = ["compare", str(UCM), "--out", str(folder), "--plot", "--report",
            "--policies", "satellite-only,ground-only,spaceverse"]
    for override in SHORT_UCM:
        args += ["--set", override]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "(3 computed, 0 read back)" in out
    assert (folder / "figures" / "fig9_accuracy_latency.png").stat().st_size > 0
    html = (folder / "report.html").read_text()
    assert "Comparison ucm" in html and "fig9_accuracy_latency.png" in html
    assert "accuracy_every_answer" in html and "Metric definitions" in html
    stamps = {p.name: p.stat().st_mtime_ns for p in (folder / "points").glob("*/summary.json")}
    table = (folder / "sweep.parquet").read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(args[:4] + args[6:])  # no --plot --report this time
    assert exc.value.code == 0
    assert "(0 computed, 3 read back)" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns
            for p in (folder / "points").glob("*/summary.json")} == stamps
    assert pd.read_parquet(folder / "sweep.parquet").drop(columns="wall_s").equals(
        pd.read_parquet(pd.io.common.BytesIO(table)).drop(columns="wall_s"))
    for command in (["plot", str(folder), "--out", str(tmp_path / "figs")],
                    ["report", str(folder), "--out", str(tmp_path / "r.html")]):
        with pytest.raises(SystemExit) as exc:
            main(command)
        assert exc.value.code == 0
    assert (tmp_path / "figs" / "fig9_accuracy_latency.png").exists()
    assert "spaceverse" in (tmp_path / "r.html").read_text()


def test_compare_folder_reads_back_its_summaries(ucm):
    folder = Path(ucm.attrs["out_dir"])
    for run in ucm["run"]:
        summary = json.loads((Path(run) / "summary.json").read_text())
        assert "accuracy_every_answer" in summary and "accuracy" not in summary
        assert summary["accuracy_every_answer"] == pytest.approx(
            float(ucm.loc[ucm.run == run, "accuracy_every_answer"].iloc[0]))
    assert folder.is_dir()


def test_cli_train_confidence(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "confidence", "--trace", "vqav2-qwen2vl-2b-vs-7b", "--out",
              str(tmp_path) + "/"])
    assert exc.value.code == 0
    assert "best validation loss" in capsys.readouterr().out
    assert (tmp_path / "vqav2-qwen2vl-2b-vs-7b-progressive.pt").stat().st_size > 0
    assert (tmp_path / "vqav2-qwen2vl-2b-vs-7b-progressive.json").exists()
