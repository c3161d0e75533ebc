"""simulator.results: one name per metric, old folders read, the Pareto front and its noise,
degenerate results, sweep --set, and the results index (runs list / show / diff).

The central check: ``run``, ``compare``, ``sweep`` and ``report`` print the same accuracy
for the same run, each under its name and with its definition."""

from __future__ import annotations

import html
import json
import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import plots, results
from simulator.cli import main
from simulator.errors import InputError
from simulator.results import (ACCURACIES, METRICS, canonical_summary, definitions_table,
                               format_value, pareto_front, pareto_noise, read_summary,
                               read_sweep_table, run_warnings, warnings_for)
from simulator.sweep import COLUMNS, load_sweep

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios" / "small.yaml"
TINY = ["workload.synthetic.samples=60", "time.duration_h=1", "time.drain_h=2"]
BORDERS = re.compile(r"[│┃┏┓┗┛━─┡┩╇┼┬┴├┤└┘┌┐╭╮╰╯]+")


def cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code or 0, out, err


def flat(text: str) -> str:
    """Terminal tables as one line of words (borders removed, wrapped cells joined)."""
    return " ".join(BORDERS.sub(" ", text).split())


# ---------------------------------------------------------------------------
# the definition table


def test_every_metric_has_one_name_a_definition_and_a_unit():
    assert ACCURACIES == ("accuracy_every_answer", "accuracy_all_samples",
                          "accuracy_finished_samples")
    assert set(ACCURACIES) <= set(METRICS)
    for name, metric in METRICS.items():
        assert metric.name == name and metric.what and metric.unit
        assert name in COLUMNS  # a column of sweep.parquet under the same name
    table = definitions_table()
    assert list(table.columns) == ["name", "what it counts", "unit"] and len(table) == len(METRICS)
    assert "unfinished when the run ends scores 0" in METRICS["accuracy_all_samples"].what
    assert "paper's accuracy" in METRICS["accuracy_every_answer"].what
    assert format_value("accuracy_every_answer", 0.655) == "65.50 %"
    assert format_value("service_mean_s", 0.2912) == "0.291 s"
    assert format_value("samples", 1995) == "1,995" and format_value("tx_s_mean", None) == "-"


def test_old_summaries_and_tables_are_read_with_todays_names(tmp_path):
    old = {"accuracy": 0.7, "accuracy_all_samples": 0.6, "accuracy_service": 0.65,
           "samples": 10, "policy": {"name": "tabi"}}
    summary = canonical_summary(old)
    assert list(summary) == ["accuracy_finished_samples", "accuracy_all_samples",
                             "accuracy_every_answer", "samples", "policy"]
    assert summary["accuracy"] == 0.7 and summary.get("accuracy_service") == 0.65  # old names read
    assert "accuracy" not in json.loads(json.dumps(summary))                        # never written
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(old))
    assert read_summary(run)["accuracy_every_answer"] == 0.65
    table = pd.DataFrame({"point": [0], "key": ["k"], "status": ["ok"], "accuracy": [0.7],
                          "accuracy_all": [0.6], "accuracy_service": [0.65], "seed": [1]})
    table.to_parquet(tmp_path / "sweep.parquet")
    back = read_sweep_table(tmp_path)
    assert {"accuracy_finished_samples", "accuracy_all_samples", "accuracy_every_answer"} <= set(
        back.columns) and "accuracy" not in back.columns
    # the figures' reader also keeps the old names as copies for the figure code
    figure = plots.read_table_file(tmp_path / "sweep.parquet", "sweep table")
    assert figure["accuracy_service"].iloc[0] == figure["accuracy_every_answer"].iloc[0] == 0.65
    assert plots.sweep_axes(figure) == ["seed"]  # the old names are no axes


# ---------------------------------------------------------------------------
# the Pareto front and its noise


def test_one_pareto_front():
    t = pd.DataFrame({"policy": ["a", "b", "c", "oracle", "d"],
                      "accuracy_every_answer": [0.5, 0.7, 0.6, 0.95, np.nan],
                      "service_mean_s": [1.0, 3.0, 4.0, 0.5, 1.0]})
    assert pareto_front(t).tolist() == [True, True, False, False, False]
    assert pareto_front(t, exclude=()).tolist() == [False, False, False, True, False]
    drawn = plots.pareto_front(t, latency="service_mean_s", accuracy="accuracy_every_answer")
    assert list(drawn["policy"]) == ["a", "b"]          # the figures' rows: the same front
    assert results.pareto_mask([1.0, 3.0], [0.5, 0.7]).tolist() == [True, True]


def test_pareto_within_the_noise():
    t = pd.DataFrame({"policy": ["a", "b", "c"],
                      "accuracy_every_answer": [0.800, 0.830, 0.60],
                      "service_mean_s": [1.00, 1.20, 0.5],
                      "accuracy_every_answer_std": [0.0, 0.0, 0.0],
                      "service_mean_s_std": [0.0, 0.0, 0.0]})
    assert pareto_noise(t) == {}  # 3 points and 20 %: not noise
    t["accuracy_every_answer_std"] = [0.03, 0.03, 0.0]   # seeds spread by 3 points
    t["service_mean_s_std"] = [0.3, 0.3, 0.0]
    noise = pareto_noise(t)
    assert set(noise) == {0, 1}
    assert noise[0].startswith("a is on the Pareto front of accuracy_every_answer vs "
                               "service_mean_s only within the noise: b")


# ---------------------------------------------------------------------------
# degenerate results


def samples_of(decisions, stages):
    return pd.DataFrame({"decision": decisions, "stage": stages})


def test_degenerate_decisions_and_training_rows():
    never = samples_of(["onboard"] * 3, ["final"] * 3)
    at_capture = samples_of(["offload"] * 3, ["capture"] * 3)
    later = samples_of(["offload"] * 3, ["point1"] * 3)
    codes = lambda s, name, notes=None: [w["code"] for w in run_warnings(  # noqa: E731
        {"policy": {"name": name}, "policy_notes": notes or {}}, s)]
    assert codes(never, "spaceverse") == ["same_as_satellite_only"]
    assert codes(never, "satellite-only") == []
    assert codes(at_capture, "ai-rg") == ["same_as_ground_only"]
    assert codes(at_capture, "ground-only") == []
    assert codes(later, "spaceverse") == ["offloads_everything"]
    mixed = samples_of(["offload", "onboard"], ["point1", "final"])
    assert codes(mixed, "spaceverse", {"training": {"n_rows": 105}}) == ["few_training_rows"]
    assert codes(mixed, "tabi", {"train_samples": 2000}) == []
    assert codes(mixed, "tabi", {"train_samples": 999}) == ["few_training_rows"]


def test_sweep_table_marks_the_front_and_noise_over_seeds(tmp_path):
    """Two seeds per policy: the front is of the seed means, the noise their spread."""
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent(f"""\
        base: {SMALL}
        set: [{', '.join(TINY)}]
        axes:
          policy.allocation: [satellite-only, ground-only, oracle]
          seed: [1, 2]
        """))
    from simulator.sweep import run_sweep

    table = run_sweep(load_sweep(path), out_dir=tmp_path / "out")
    by = table.groupby("policy")["pareto"].agg(lambda v: set(v.tolist()))
    assert by["oracle"] == {False}                   # never a contender
    assert by["satellite-only"] == {True} or by["ground-only"] == {True}
    assert table["warnings"].map(type).eq(str).all()
    assert warnings_for(table) == warnings_for(tmp_path / "out")


# ---------------------------------------------------------------------------
# the same accuracy everywhere


def test_run_compare_sweep_report_print_the_same_accuracy(tmp_path, capsys):
    """One run of small.yaml (ground-only, 60 samples), as `run`, as a `compare` point, as a
    `sweep` point and in its `report`: the same accuracy, under the same name, defined."""
    sets = [a for s in TINY for a in ("--set", s)]
    code, out_run, err = cli(capsys, "run", SMALL, "--out", tmp_path / "runs", *sets)
    assert code == 0, err
    [run] = (tmp_path / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    code, out_cmp, err = cli(capsys, "compare", SMALL, "--out", tmp_path / "cmp",
                             "--policies", "ground-only,satellite-only", *sets)
    assert code == 0, err
    sweep_file = tmp_path / "w.yaml"
    sweep_file.write_text(f"base: {SMALL}\naxes:\n  policy.allocation: [ground-only]\n")
    code, out_sweep, err = cli(capsys, "sweep", sweep_file, "--out", tmp_path / "sw", *sets)
    assert code == 0, err
    code, _, err = cli(capsys, "report", run)
    assert code == 0, err
    report = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", (run / "report.html").read_text()))
                      .split())
    compare_row = flat(out_cmp).split("ground-only", 1)[1].split("satellite-only", 1)[0]
    sweep_row = flat(out_sweep).split("ground-only", 1)[1][:120]
    for name in ACCURACIES:
        value = format_value(name, summary[name])
        definition = METRICS[name].what
        assert f"{name} {value} {definition}" in flat(out_run), name          # run
        assert f"{name} {value} fraction (0-1) {definition}" in report, name  # report
        if name != "accuracy_finished_samples":                                # compare
            assert f"{name}: {definition}" in out_cmp and value in compare_row, name
        if name == "accuracy_every_answer":                                    # sweep
            assert f"{name}: {definition}" in out_sweep and value in sweep_row
    # the three are the same numbers in every table: summary.json, sweep.parquet
    cmp = read_sweep_table(tmp_path / "cmp").set_index("policy").loc["ground-only"]
    swept = read_sweep_table(tmp_path / "sw").iloc[0]
    for name in ACCURACIES:
        assert cmp[name] == swept[name] == summary[name]
    # and in the index
    code, out_show, _ = cli(capsys, "runs", "show", run)
    value = format_value("accuracy_every_answer", summary["accuracy_every_answer"])
    assert f"accuracy_every_answer {value} fraction (0-1)" in flat(out_show)


# ---------------------------------------------------------------------------
# sweep --set and the printed table


def test_sweep_set_applies_to_every_point_before_the_axes(tmp_path, capsys):
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent(f"""\
        base: {SMALL}
        set: [workload.synthetic.samples=500]
        axes:
          policy.allocation: [ground-only, satellite-only]
          link.rate_mbps: [50, 100]
          seed: [1]
        zip: [[policy.allocation, link.rate_mbps]]
        """))
    sweep = load_sweep(path, ["workload.synthetic.samples=40", "time.duration_h=1",
                              "link.rate_mbps=7"])
    points = sweep.points()
    assert [p.scenario.workload.synthetic.samples for p in points] == [40, 40]  # after set
    assert [p.scenario.link.rate_mbps for p in points] == [50, 100]            # before axes
    assert sweep.set[-3:] == ["workload.synthetic.samples=40", "time.duration_h=1",
                              "link.rate_mbps=7"]
    assert "workload.synthetic.samples=40" in sweep.resolved_yaml()
    code, out, err = cli(capsys, "sweep", path, "--out", tmp_path / "out", "--set",
                         "workload.synthetic.samples=40", "--set", "time.duration_h=1",
                         "--set", "time.drain_h=1")
    assert code == 0, err
    text = flat(out)
    for column in ("point", "policy.allocation", "link.rate_mbps", "seed",
                   "accuracy_every_answer", "service_mean_s", "pareto"):
        assert column in text, column  # every swept axis, and the headline metrics
    assert "2 of 2 points ok" in text


@pytest.mark.parametrize("override, words", [
    ("time.duration_h=x", "w.yaml (from --set): time.duration_h: expected a number, got 'x'"),
    ("nosuch.key=1", "w.yaml (from --set): nosuch: unknown key"),
    ("noequals", "--set noequals: expected KEY=VALUE"),
])
def test_sweep_set_errors_are_one_line(tmp_path, capsys, override, words):
    path = tmp_path / "w.yaml"
    path.write_text(f"base: {SMALL}\naxes:\n  seed: [1, 2]\n")
    code, out, err = cli(capsys, "sweep", path, "--out", tmp_path / "out", "--set", override)
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# runs list / show / diff


@pytest.fixture(scope="module")
def results_tree(tmp_path_factory):
    """A results folder: two runs (seeds 1 and 2) and a sweep of two policies."""
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario
    from simulator.sweep import run_sweep

    root = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPACEVERSE_CACHE", str(root.parent / "cache"))
        for seed in (1, 2):
            run_scenario(load_scenario(SMALL, TINY + [f"seed={seed}"]), out_dir=root)
        path = root.parent / "w.yaml"
        path.write_text(f"name: pols\nbase: {SMALL}\nset: [{', '.join(TINY)}]\naxes:\n"
                        f"  policy.allocation: [ground-only, satellite-only]\n")
        run_sweep(load_sweep(path), out_dir=root / "sweeps" / "pols")
    return root


def test_runs_list(results_tree, capsys):
    table = results.list_results(results_tree)
    assert list(table.columns) == results.index.LIST_COLUMNS
    assert sorted(table["kind"]) == ["run", "run", "sweep"]
    assert table["date"].is_monotonic_decreasing                    # newest first
    sweep = table[table.kind == "sweep"].iloc[0]
    assert sweep["id"] == "sweeps/pols" and sweep["policy"] == "ground-only, satellite-only"
    assert sweep["samples"].startswith("2 points × 60")
    runs = table[table.kind == "run"]
    assert runs["samples"].str.startswith("60 (+2,000 training pool)").all()
    assert runs["accuracy_every_answer"].str.endswith("%").all()
    code, out, _ = cli(capsys, "runs", "list", results_tree)
    assert code == 0 and "sweeps/pols" in flat(out) and "accuracy_every_answer:" in out


def test_runs_show_and_diff(results_tree, capsys):
    runs = sorted(p for p in results_tree.iterdir() if (p / "summary.json").exists())
    info = results.show(runs[0])
    assert list(info["table"]["metric"]) == list(METRICS)
    code, out, _ = cli(capsys, "runs", "show", runs[0].name, "--results", results_tree)
    assert code == 0 and "training pool" in out and "what it counts" in flat(out)
    code, out, _ = cli(capsys, "runs", "show", "sweeps/pols", "--results", results_tree)
    assert code == 0 and "policy.allocation" in flat(out)
    result = results.diff(runs[0], runs[1])
    assert list(result["scenario"]["field"]) == ["seed"]
    assert "accuracy_every_answer" in set(result["metrics"]["metric"]) or \
        len(result["metrics"]) > 0
    code, out, _ = cli(capsys, "runs", "diff", runs[0], runs[1])
    assert code == 0 and "seed" in out and "B - A" in out
    # a sweep point is a run: by its key
    key = next((results_tree / "sweeps" / "pols" / "points").iterdir()).name
    assert results.resolve(key, results_tree).name == key


@pytest.mark.parametrize("args, words", [
    (["runs", "list", "nope"], "nope: no such results folder"),
    (["runs", "show", "zzz", "--results", "{root}"], "zzz: no such run or sweep"),
    (["runs", "show", "small-", "--results", "{root}"], "names 2 results"),
    (["runs", "diff", "{sweep}", "{run}"], "runs diff compares two runs"),
    (["runs", "show", "{root}"], "not a run folder"),
])
def test_runs_errors_are_one_line(results_tree, capsys, args, words):
    run = next(p for p in results_tree.iterdir() if (p / "summary.json").exists())
    places = {"root": str(results_tree), "sweep": str(results_tree / "sweeps" / "pols"),
              "run": str(run)}
    code, out, err = cli(capsys, *[a.format(**places) for a in args])
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err


def test_runs_list_shows_a_damaged_folder(results_tree, tmp_path, capsys):
    root = tmp_path / "r"
    shutil.copytree(results_tree, root)
    run = next(p for p in root.iterdir() if (p / "summary.json").exists())
    (run / "summary.json").write_text("{")
    table = results.list_results(root)
    damaged = table[table.kind == "damaged"]
    assert len(damaged) == 1 and "damaged run summary" in damaged["scenario"].iloc[0]
    with pytest.raises(InputError, match="damaged run summary"):
        results.show(run)
