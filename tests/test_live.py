"""Live models through the whole simulator, then replayed from the recorded trace.

Tiny real Qwen2-VL checkpoints (built from configs, saved and loaded through the
same ``from_pretrained`` path as real weights) answer three bundled CHOICE images;
the run uses their measured timings.  Replaying the recorded trace with the cached
backend must give the same decisions, scores and timings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator.config import load_scenario
from simulator.engine.world import record_live, run_scenario
from simulator.inference.tiny_models import build_tiny_qwen2vl
from simulator.inference.traces import read_trace, write_trace

SCENARIO = """
name: live-tiny
seed: 4
time: {{duration_h: 2, drain_h: 4}}
constellation:
  catalog: starlink@2026-06-14
  select: {{altitude_km: 570, inclination_deg: 70, count: 2}}
ground_stations: [Shanghai, "Svalbard (ksat)"]
link: {{availability: always}}
compute:
  timing: measured
  satellite: {{device: jetson-agx-orin, model: qwen2-vl-2b}}
workload:
  trace: {trace}
{live}
policy:
  allocation: {policy}
  params: {{stages: 2, stage_tokens: 2}}
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_qwen2vl(root / "onboard", seed=0), build_tiny_qwen2vl(root / "ground", seed=1)


def scenario_file(tmp_path, trace, policy, live=""):
    path = tmp_path / f"{policy}-{Path(trace).stem}.yaml"
    path.write_text(SCENARIO.format(trace=trace, policy=policy, live=live))
    return path


@pytest.mark.parametrize("policy", ["satellite-only", "ground-only", "oracle"])
def test_live_run_and_replay_agree(tmp_path, models, policy):
    onboard, ground = models
    live = (f"  live: {{onboard_model_dir: {onboard}, ground_model_dir: {ground}, "
            f"dataset: choice-scene-classification, limit: 3, max_new_tokens: 5}}")
    scenario = load_scenario(scenario_file(tmp_path, "live", policy, live))
    first = run_scenario(scenario, out_dir=tmp_path / "live")
    assert first.summary["synthetic"] is False
    assert (first.folder / "trace.parquet").exists()

    trace = record_live(scenario.workload.live, stage_tokens=2)
    assert trace.meta["synthetic"] is False and len(trace.table) == 3
    path = write_trace(trace, tmp_path / "tiny-recorded.parquet")
    replay = run_scenario(load_scenario(scenario_file(tmp_path, path, policy)),
                          out_dir=tmp_path / "replay")

    a, b = first.samples, replay.samples
    assert (a.decision.to_numpy() == b.decision.to_numpy()).all()
    assert (a.stage.to_numpy() == b.stage.to_numpy()).all()
    assert np.array_equal(a.score.to_numpy(), b.score.to_numpy(), equal_nan=True)
    assert (a.status == "onboard").sum() + (a.status == "ground").sum() == 3
    # Timings are the measured ones: the onboard seconds of a satellite-only sample are the
    # recorded encode + prefill + decode of the whole answer.
    if policy == "satellite-only":
        t = read_trace(path).table
        expected = t.onboard_encode_s + t.onboard_prefill_s + t.onboard_stage_seconds.map(sum)
        got = b.set_index("sample_id").loc[t.sample_id, "onboard_s"].to_numpy()
        assert np.allclose(got, expected.to_numpy())
        assert (got > 0).all()


def test_measured_timing_needs_recorded_times(tmp_path):
    from simulator.errors import InputError

    text = SCENARIO.format(trace="synthetic", policy="ground-only", live="")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match="compute.timing.*real backend"):
        run_scenario(load_scenario(path), out_dir=tmp_path)


def test_live_block_is_validated(tmp_path):
    from simulator.errors import InputError

    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(trace="live", policy="oracle", live=""))
    with pytest.raises(InputError, match="workload.live"):
        load_scenario(path)
    path.write_text(SCENARIO.format(
        trace="live", policy="oracle",
        live="  live: {onboard_model_dir: /no/such/dir, dataset: choice-scene-classification}"))
    with pytest.raises(InputError, match="/no/such/dir"):
        run_scenario(load_scenario(path), out_dir=tmp_path)
