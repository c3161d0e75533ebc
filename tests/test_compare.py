"""`spaceverse compare`: every policy on one workload, the Fig. 9 table, the Pareto verdict."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import main
from simulator.compare import COLUMNS, DEFAULT_POLICIES, compare_policies, pareto_front, verdict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ucm(tmp_path_factory):
    return compare_policies(ROOT / "scenarios" / "ucm-recorded.yaml", DEFAULT_POLICIES,
                            overrides=["workload.train_fraction=0.05"],
                            out_dir=tmp_path_factory.mktemp("ucm"))


def test_table_has_every_policy_and_column(ucm):
    assert list(ucm.columns) == COLUMNS
    assert list(ucm.policy) == list(DEFAULT_POLICIES)
    assert (ucm.finished == 1995).all()          # 5 % of 2,100 rows held out for training
    assert not ucm.synthetic.any()
    by = ucm.set_index("policy")
    assert by.loc["satellite-only", "offload_fraction"] == 0
    assert by.loc["ground-only", "offload_fraction"] == 1
    assert by.loc["oracle", "accuracy"] > by.drop(index="oracle").accuracy.max()
    assert not by.loc["oracle", "pareto"]        # the oracle is not a contender


def test_spaceverse_on_the_pareto_front_of_ucm(ucm):
    by = ucm.set_index("policy")
    assert by.loc["spaceverse", "pareto"]
    assert by.loc["spaceverse", "accuracy"] > by.loc["satellite-only", "accuracy"]
    assert verdict(ucm).startswith("spaceverse is on the accuracy-latency Pareto front")


def test_verdict_is_honest_when_dominated():
    t = pd.DataFrame({"policy": ["satellite-only", "spaceverse", "tabi", "oracle"],
                      "accuracy": [0.6, 0.65, 0.7, 0.9], "in_contact_mean_s": [1.0, 3.0, 2.0, 1.0]})
    t["pareto"] = pareto_front(t)
    assert t.pareto.tolist() == [True, False, True, False]
    assert verdict(t) == "spaceverse is NOT on the Pareto front: dominated by tabi on this workload"


def test_cli_compare_prints_the_table(tmp_path, capsys):
    csv = tmp_path / "cmp.csv"
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(ROOT / "scenarios" / "small.yaml"), "--out", str(tmp_path),
              "--policies", "satellite-only,ground-only,spaceverse", "--set",
              "workload.train_fraction=0.1", "--csv", str(csv)])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "Pareto" in out
    table = pd.read_csv(csv)
    assert table.policy.tolist() == ["satellite-only", "ground-only", "spaceverse"]


def test_cli_train_confidence(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "confidence", "--trace", "vqav2-qwen2vl-2b-vs-7b", "--out",
              str(tmp_path) + "/"])
    assert exc.value.code == 0
    assert "best validation loss" in capsys.readouterr().out
    assert (tmp_path / "vqav2-qwen2vl-2b-vs-7b-progressive.pt").stat().st_size > 0
    assert (tmp_path / "vqav2-qwen2vl-2b-vs-7b-progressive.json").exists()
