"""Relay over inter-satellite links: it cuts the wait for contact, and every hop is conserved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.config import load_scenario
from simulator.engine.world import run_scenario
from simulator.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
RELAY = ROOT / "scenarios" / "isl-relay.yaml"
SHORT = ["time.duration_h=6", "time.drain_h=8"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("isl")
    with_isl = run_scenario(load_scenario(RELAY, SHORT), out_dir=out)
    without = run_scenario(load_scenario(RELAY, SHORT + ["isl=null"]), out_dir=out)
    return with_isl, without


def test_relaying_cuts_the_wait_for_contact(runs):
    with_isl, without = runs
    off = lambda r: r.samples[r.samples["decision"] == "offload"]  # noqa: E731
    assert off(with_isl)["wait_contact_s"].mean() < 0.8 * off(without)["wait_contact_s"].mean()
    assert (with_isl.samples["isl_hops"] > 0).mean() > 0.2
    assert (without.samples["isl_hops"] == 0).all()
    assert with_isl.summary["isl"]["links"] > 0 and without.summary["isl"] is None


def test_every_hop_is_conserved(runs):
    with_isl, _ = runs
    folder = with_isl.folder
    hops = pd.read_parquet(folder / "hops.parquet")
    samples = with_isl.samples
    assert len(hops) == int(samples["isl_hops"].sum()) > 0
    # bytes: each hop carries the whole sample
    sent = samples["bytes_sent"].to_numpy()
    assert (hops["bytes"].to_numpy() == sent[hops["row"].to_numpy()]).all()
    # one ISL terminal per satellite: its hops never overlap
    for _, sat in hops.sort_values("start_s").groupby("from_satellite"):
        assert (sat["start_s"].to_numpy()[1:] >= sat["end_s"].to_numpy()[:-1] - 1e-9).all()
    # hops in order, never straight back, and the downlink after the last arrival
    names = samples["satellite"].to_numpy()
    for row, h in hops.sort_values(["row", "hop"]).groupby("row"):
        assert h["hop"].tolist() == list(range(1, len(h) + 1))
        arrive = (h["end_s"] + h["light_s"]).to_numpy()
        assert (h["start_s"].to_numpy()[1:] >= arrive[:-1] - 1e-9).all()
        assert h["from_satellite"].iloc[0] == names[row]
        assert (h["from_satellite"].to_numpy()[1:] == h["to_satellite"].to_numpy()[:-1]).all()
        if len(h) > 1:
            assert (h["to_satellite"].to_numpy()[1:] != h["from_satellite"].to_numpy()[:-1]).all()
        assert int(samples.loc[row, "isl_hops"]) == len(h)
        if samples.loc[row, "status"] == "ground":
            assert samples.loc[row, "tx_start_s"] >= arrive[-1] - 1e-9
        assert samples.loc[row, "isl_path"].count(">") == len(h)


def test_one_antenna_per_satellite_still_holds(runs):
    with_isl, _ = runs
    tx = pd.read_parquet(with_isl.folder / "transmissions.parquet")
    for _, sat in tx.sort_values("start_s").groupby("satellite_index"):
        assert (sat["start_s"].to_numpy()[1:] >= sat["end_s"].to_numpy()[:-1] - 1e-9).all()
    delivered = tx.groupby("row")["bytes"].sum()
    sent = with_isl.samples["bytes_sent"]
    ground = with_isl.samples["status"] == "ground"
    np.testing.assert_allclose(delivered.loc[ground[ground].index].to_numpy(),
                               sent[ground].to_numpy(), rtol=1e-9)


def test_isl_block_errors_name_the_field(tmp_path):
    with pytest.raises(InputError, match="isl.pairs"):
        load_scenario(RELAY, ["isl.neighbours=explicit"])
    with pytest.raises(InputError, match=r"isl.rate_mbps"):
        load_scenario(RELAY, ["isl.rate_mbps=-1"])
