"""The paper-vs-ours table from sweep tables, and the plot/report/sweep commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.reproduce import SWEEPS, paper_vs_ours, table_markdown
from simulator.sweep import load_sweep

ROOT = Path(__file__).resolve().parent.parent


def sweep_rows(rows):
    t = pd.DataFrame(rows)
    t["status"] = "ok"
    return t


def test_every_paper_sweep_is_valid():
    for name in SWEEPS:
        sweep = load_sweep(ROOT / "scenarios" / "paper" / f"{name}.yaml")
        assert len(sweep) >= 2, name


def test_paper_vs_ours_arithmetic():
    fig4b = sweep_rows([
        {"policy": "satellite-only", "in_contact_mean_s": 2.0, "tx_s_mean": np.nan},
        {"policy": "ground-only", "in_contact_mean_s": 8.0, "tx_s_mean": 6.0}])
    fig9 = sweep_rows([
        {"workload.synthetic.task": t, "policy": p, "accuracy_all": a, "in_contact_mean_s": l}
        for t in ("vqa", "classification")
        for p, a, l in (("satellite-only", 0.5, 1.0), ("ground-only", 0.8, 4.0),
                        ("tabi", 0.6, 2.0), ("ai-rg", 0.6, 1.0), ("spaceverse", 0.72, 1.5),
                        ("oracle", 0.9, 1.0))])
    table = paper_vs_ours({"fig4b-latency-breakdown": fig4b, "fig9-policies": fig9}, None)
    by = table.set_index("number")
    assert by.loc["76.39 %", "ours"] == pytest.approx(0.75)
    assert by.loc["4.14x", "ours"] == pytest.approx(4.0)
    assert by.loc["36.2 %", "ours"] == pytest.approx(0.2)       # 0.6 / 0.5 - 1
    assert by.loc["69.9 %", "ours"] == pytest.approx(1.0)       # 2.0 / 1.0 - 1
    assert by.loc["74.8 %", "ours"] == pytest.approx(0.75)      # 0.6 / 0.8
    gains = np.mean([0.72 / 0.5 - 1, 0.72 / 0.8 - 1, 0.72 / 0.6 - 1, 0.72 / 0.6 - 1])
    assert by.loc["31.2 %", "ours"] == pytest.approx(gains)
    assert by.loc["82.7 %", "kind"] == "model input"
    assert by.loc["+14.09 %", "kind"] == "not reproduced"
    text = table_markdown(table)
    assert "| 4.14x | 4.00x |" in text and "| 76.39 % | 75.0 % |" in text


def test_plot_and_report_commands(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(ROOT / "scenarios" / "small.yaml"), "--out", str(tmp_path),
              "--set", "policy.allocation=ground-only"])
    assert exc.value.code == 0
    [run] = [p for p in tmp_path.iterdir() if p.is_dir()]
    with pytest.raises(SystemExit) as exc:
        main(["plot", str(run)])
    assert exc.value.code == 0
    assert list((run / "figures").glob("*.png"))
    with pytest.raises(SystemExit) as exc:
        main(["report", str(run)])
    assert exc.value.code == 0
    html = (run / "report.html").read_text()
    assert "data:image/png;base64" in html and "SYNTHETIC" in html
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["plot", str(tmp_path / "missing")])
    assert exc.value.code == 2
