"""Runs on real recorded traces reproduce the recorded accuracies (issue 4 acceptance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import load_scenario
from simulator.engine.world import run_scenario
from simulator.inference.traces import read_trace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ucm_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ucm")
    runs = {}
    for policy in ("satellite-only", "ground-only", "oracle"):
        scenario = load_scenario(ROOT / "scenarios" / "ucm-recorded.yaml",
                                 [f"policy.allocation={policy}"])
        runs[policy] = run_scenario(scenario, out_dir=out).summary
    return runs


def test_ucm_accuracies_match_the_recorded_models(ucm_runs):
    table = read_trace("ucm-llava15-7b-vs-geochat-7b").table
    llava = table.onboard_score.mean()     # LLaVA-1.5-7B, 66.33 % on GeoChat-Bench UCM
    geochat = table.ground_score.mean()    # GeoChat-7B, 84.48 %
    assert llava == pytest.approx(0.6633, abs=5e-5) and geochat == pytest.approx(0.8448, abs=5e-5)
    sat, ground, oracle = (ucm_runs[p] for p in ("satellite-only", "ground-only", "oracle"))
    for summary in (sat, ground, oracle):
        assert summary["synthetic"] is False
        assert summary["status"]["unfinished"] == 0 and summary["status"]["dropped"] == 0
    assert abs(sat["accuracy"] - llava) <= 0.005
    assert abs(ground["accuracy"] - geochat) <= 0.005
    assert oracle["accuracy"] > max(sat["accuracy"], ground["accuracy"])
    assert 0 < oracle["offload_fraction"] < 1


def test_ground_only_pays_for_the_downlink(ucm_runs):
    sat, ground = ucm_runs["satellite-only"], ucm_runs["ground-only"]
    assert ground["in_contact_latency_s"]["mean"] > sat["in_contact_latency_s"]["mean"]
    assert ground["end_to_end_latency_s"]["mean"] > 100 * ground["in_contact_latency_s"]["mean"]
    assert ground["bytes_sent"] == 2100 * 256 * 256 * 3   # raw RGB tiles (workload.image_bytes: raw)
