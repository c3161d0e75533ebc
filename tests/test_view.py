"""The view's data side: positions, footprints, transfers, buffers, folders, the page."""

from __future__ import annotations

import base64
import html
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.errors import InputError
from simulator.view import activity, embed_for_report, geometry, write_view
from simulator.view.data import build_payload, position_step_s
from simulator.view.folders import resolve
from simulator.view.page import PLOTLY_FILE

#: XML namespaces: strings, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink",
              "http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/xmlns/",
              "http://www.w3.org/XML/1998/namespace"}
URL = re.compile(r"""https?://[^\s"'<>()\\`]*""")
LOADING = re.compile(r"""(?:\bsrc|\bhref|\bsrcset|\baction|\bposter|\bdata)\s*=\s*["']?\s*"""
                     r"""(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A real small run: scenarios/small.yaml, 2 hours of captures."""
    from simulator.config import load_scenario
    from simulator.engine.world import run_scenario

    base = tmp_path_factory.mktemp("view-run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPACEVERSE_CACHE", str(base / "cache"))
        scenario = load_scenario("scenarios/small.yaml", ["time.duration_h=2"])
        return run_scenario(scenario, out_dir=base / "results").folder


@pytest.fixture(scope="module")
def payload(run_folder):
    return build_payload(resolve(run_folder))


def library_urls() -> set[str]:
    """URL strings inside the shipped plotly.js bundle (licence comments, a help link
    shown when WebGL is missing, defaults of features the gl3d bundle lacks)."""
    return set(URL.findall(PLOTLY_FILE.read_text(encoding="utf-8")))


def test_positions_are_the_contact_search_propagation(run_folder, payload):
    from simulator.config import load_scenario
    from simulator.engine.world import constellation_of
    from simulator.orbits.geometry import PassGeometry

    orbits, stations, start = constellation_of(load_scenario(run_folder / "scenario.yaml"))
    sats = payload["sats"]
    assert sats["names"] == [o.name for o in orbits] == json.loads(
        (run_folder / "summary.json").read_text())["satellites"]
    stored = np.frombuffer(base64.b64decode(sats["positions"]), dtype="<f4").reshape(
        sats["times"], len(orbits), 3)
    times = np.arange(sats["times"]) * sats["step_s"]
    assert times[-1] >= payload["meta"]["horizon_s"]
    reference = PassGeometry(orbits, stations, start)
    for k, orbit in enumerate(orbits):
        exact = reference.position_km(k, times)
        # float32 kilometres: within a metre of the geometry module at every sample time
        assert np.max(np.linalg.norm(stored[:, k] - exact, axis=1)) < 1e-3
        assert np.allclose(geometry.positions_km(orbits, start, times)[:, k], exact,
                           rtol=0, atol=1e-9)
    # one satellite at one time each, as the transfers and contact arcs use them
    picks = np.array([0, len(orbits) - 1, 1]), np.array([10.0, 3600.5, 7000.25])
    got = geometry.positions_of(orbits, start, *picks)
    for (k, t), r in zip(zip(*picks), got):
        assert np.allclose(r, reference.position_km(int(k), float(t)), atol=1e-9)


def test_footprint_is_the_spherical_earth_formula():
    r, h, m = geometry.EARTH_RADIUS_KM, 550.0, math.radians(25.0)
    expected = r * (math.acos(r * math.cos(m) / (r + h)) - m)
    assert geometry.footprint_radius_km(550.0, 25.0) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(940.5, abs=0.1)
    # Geometric check: at the footprint's edge a satellite 550 km up is at 25 degrees.
    angle = geometry.footprint_angle_rad(550.0, 25.0)
    sat = np.array([r + h, 0.0, 0.0])
    ground = r * np.array([math.cos(angle), math.sin(angle), 0.0])
    los = sat - ground
    elevation = math.degrees(math.asin(los @ ground / (np.linalg.norm(los) * r)))
    assert elevation == pytest.approx(25.0, abs=1e-9)
    # The drawn ring lies at that central angle from the station, all the way round.
    lat, lon = geometry.footprint_ring(31.3, 121.5, angle)
    centre = geometry.unit_vector(31.3, 121.5)
    ring = geometry.unit_vector(lat, lon)
    assert np.allclose(np.arccos(np.clip(ring @ centre, -1, 1)), angle, atol=1e-9)
    assert geometry.footprint_radius_km(550.0, 90.0) == pytest.approx(0.0, abs=1e-9)


def test_station_footprints_use_the_shell_altitude(payload):
    altitude = payload["meta"]["shell_altitude_km"]
    assert 560 < altitude < 590  # the 570 km shell
    for st in payload["stations"]:
        assert st["footprint_km"] == pytest.approx(
            geometry.footprint_radius_km(altitude, st["mask_deg"]), abs=0.6)


def test_transfers_are_merged_and_coloured_raw_or_compressed():
    samples = pd.DataFrame({"bytes_raw": [1000, 1000, 1000], "bytes_sent": [1000, 400, 1000]})
    pieces = pd.DataFrame([
        # sample 0: two back-to-back pieces, then a resumption in the next window
        (0, 0, 0, 10.0, 10.1, 300.0), (0, 0, 0, 10.1, 10.2, 600.0), (0, 0, 0, 500.0, 500.1, 100.0),
        # sample 1 (compressed), satellite 1 to station 1
        (1, 1, 1, 20.0, 20.3, 400.0),
        # sample 2 (raw) right after sample 0's pieces, same satellite: its own transfer
        (2, 0, 0, 10.2, 10.4, 1000.0),
    ], columns=["row", "satellite_index", "station_index", "start_s", "end_s", "bytes"])
    merged = activity.transfers(pieces, samples)
    assert merged[["sample", "start_s", "end_s", "bytes", "pieces", "kind"]].values.tolist() == [
        [0, 10.0, 10.2, 900.0, 2, "raw"], [2, 10.2, 10.4, 1000.0, 1, "raw"],
        [1, 20.0, 20.3, 400.0, 1, "compressed"], [0, 500.0, 500.1, 100.0, 1, "raw"]]
    assert activity.transfers(pieces.iloc[0:0], samples).empty


def test_transfers_of_a_real_run(run_folder, payload):
    samples = pd.read_parquet(run_folder / "samples.parquet")
    pieces = pd.read_parquet(run_folder / "transmissions.parquet")
    x = payload["transfers"]
    assert len(x["start"]) > 0
    assert sum(x["bytes"]) == pytest.approx(pieces["bytes"].sum())
    assert sum(x["pieces"]) == len(pieces)
    smaller = (samples["bytes_sent"] < samples["bytes_raw"]).to_numpy()
    assert x["compressed"] == [int(smaller[k]) for k in x["sample"]]
    # every transfer lies inside one of its satellite's contact windows with its station
    c = payload["contacts"]
    for sat, st, a, b in zip(x["sat"], x["st"], x["start"], x["end"]):
        assert any(cs == sat and ct == st and r - 1e-3 <= a and b <= s + 1e-3
                   for cs, ct, r, s in zip(c["sat"], c["st"], c["rise"], c["set"]))


def test_buffer_levels_match_the_timeline_figure(run_folder, payload):
    from simulator.plots.beyond import buffer_occupancy

    samples = pd.read_parquet(run_folder / "samples.parquet")
    pieces = pd.read_parquet(run_folder / "transmissions.parquet")
    merged = activity.transfers(pieces, samples)
    for k, name in enumerate(payload["sats"]["names"]):
        t, level = activity.buffer_levels(samples, merged, payload["sats"]["names"])[k]
        figure = buffer_occupancy(samples, pieces, name, k)
        at = np.r_[merged.loc[merged["satellite"] == k, "end_s"].to_numpy(), t[-1]]
        ours = level[np.searchsorted(t, at, side="right") - 1]
        theirs = figure["bytes"].to_numpy()[np.searchsorted(figure["t_s"], at, side="right") - 1]
        assert np.allclose(ours, theirs)
        assert level.max() == pytest.approx(figure["bytes"].max())


def test_latency_views(run_folder, payload):
    samples = pd.read_parquet(run_folder / "samples.parquet")
    curve = payload["cdf"]["ground-only"]
    finite = np.isfinite(samples["end_to_end_latency_s"])
    assert curve["end to end"]["n"] == int(finite.sum())
    assert curve["end to end"]["x"][-1] == pytest.approx(
        samples["end_to_end_latency_s"].max(), abs=1e-3)
    assert curve["service"]["p"][-1] == 1.0
    part = payload["breakdown"]
    done = samples[samples["status"].isin(["onboard", "ground"])].sort_values(
        "end_to_end_latency_s", kind="stable")
    total = np.sum(part["values"], axis=0)
    assert np.allclose(total, done["end_to_end_latency_s"], atol=1e-2)
    many = activity.latency_cdf(np.arange(10_000.0), points=100)
    assert len(many["x"]) == 100 and many["x"][-1] == 9999.0 and many["n"] == 10_000


def test_step_grows_with_the_constellation():
    assert position_step_s(10, 48 * 3600.0) == 60.0
    assert position_step_s(1000, 4 * 3600.0) == 80.0
    assert position_step_s(1000, 24 * 3600.0) == 440.0
    assert position_step_s(100_000, 24 * 3600.0) == 600.0


def check_offline(text: str, run_folder: Path) -> None:
    """No remote URL where a browser would load it, no URL of ours at all, no absolute path."""
    plotly = PLOTLY_FILE.read_text(encoding="utf-8")
    ours = text.replace(plotly, "")
    assert len(ours) < len(text)  # the bundle is inline, verbatim
    assert set(URL.findall(ours)) <= NAMESPACES, set(URL.findall(ours)) - NAMESPACES
    assert set(URL.findall(text)) <= NAMESPACES | library_urls()
    assert not LOADING.search(ours)
    assert "Content-Security-Policy" in text and "connect-src 'none'" in text
    for folder in {run_folder, run_folder.resolve()}:
        assert str(folder) not in text
        assert str(folder.parent) not in text


def test_page_is_small_and_offline(run_folder, tmp_path):
    out = write_view(run_folder, tmp_path / "view.html")
    text = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 3_000_000  # 1.75 MB of it is plotly.js
    check_offline(text, run_folder)
    assert text.count('id="sv-data"') == 1 and "SYNTHETIC" in text
    data = json.loads(text.split('id="sv-data">')[1].split("</script>")[0])
    assert data["meta"]["run_id"] == run_folder.name and data["land"]["raster"]["rows"] == 181


def test_assets_folder(run_folder, tmp_path):
    out = write_view(run_folder, tmp_path / "page.html", assets="folder")
    files = tmp_path / "page_files"
    assert sorted(p.name for p in files.iterdir()) == [
        "data.js", "plotly-gl3d.min.js", "view.css", "view.js"]
    text = out.read_text(encoding="utf-8")
    assert 'src="page_files/plotly-gl3d.min.js"' in text and len(text) < 20_000
    assert (files / "data.js").read_text().startswith("window.SV_DATA = {")
    for path in [out, *files.iterdir()]:
        assert str(run_folder) not in path.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="expected one of inline, folder"):
        write_view(run_folder, tmp_path / "x.html", assets="cdn")


def test_embed_for_report_is_inert(run_folder):
    fragment = embed_for_report(run_folder)
    assert fragment.startswith('<iframe class="spaceverse-view"')
    assert 'sandbox="allow-scripts"' in fragment
    assert "<script" not in fragment.lower() and "<link" not in fragment.lower()
    assert re.search(r"\(\d+\.\d MB in this report", fragment)
    inner = html.unescape(fragment.split('srcdoc="')[1].split('"></iframe>')[0])
    assert inner.startswith("<!DOCTYPE html>")
    check_offline(inner, run_folder)
    outer = fragment.split('srcdoc="')[0] + fragment.split('"></iframe>')[1]
    assert not URL.search(outer)


def fake_sweep(run_folder: Path, root: Path) -> Path:
    """A sweep folder of four copies of the run: two policies, two seeds each."""
    rows = []
    for k, (policy, seed) in enumerate([("ground-only", 1), ("ground-only", 2),
                                        ("satellite-only", 1), ("satellite-only", 2)]):
        key = f"{k:x}{'abcdef0123'[k]}00ff{k}"
        folder = root / "points" / key
        shutil.copytree(run_folder, folder)
        summary = json.loads((folder / "summary.json").read_text())
        summary["policy"] = {"name": policy}
        (folder / "summary.json").write_text(json.dumps(summary))
        rows.append({"point": k, "key": key, "status": "ok", "error": "",
                     "run_dir": f"points/{key}", "seed": seed, "policy": policy,
                     "policy.allocation": policy})
    rows.append({"point": 4, "key": "deadbeef0000", "status": "failed", "error": "boom",
                 "run_dir": "", "seed": 3, "policy": "tabi", "policy.allocation": "tabi"})
    pd.DataFrame(rows).to_parquet(root / "sweep.parquet")
    return root


def test_sweep_and_compare_folders(run_folder, tmp_path):
    sweep = fake_sweep(run_folder, tmp_path / "sweep")
    found = resolve(sweep)
    assert (found.kind, found.point) == ("sweep", "0a00ff0")
    assert {k: len(v) for k, v in found.curves.items()} == {"ground-only": 2, "satellite-only": 2}
    assert resolve(sweep, "2c").point == "2c00ff2"
    with pytest.raises(InputError, match="matches none"):
        resolve(sweep, "zz")
    out = write_view(sweep, point="3d00ff3")
    assert out == sweep / "view.html"
    data = json.loads(out.read_text().split('id="sv-data">')[1].split("</script>")[0])
    assert data["meta"]["kind"] == "sweep" and data["meta"]["point"] == "3d00ff3"
    assert set(data["cdf"]) == {"ground-only", "satellite-only"}
    assert data["cdf"]["ground-only"]["runs"] == 2
    # a folder of compared runs: one curve per run's policy
    compare = tmp_path / "compare"
    for name in ("a-run", "b-run"):
        shutil.copytree(sweep / "points" / ("0a00ff0" if name == "a-run" else "2c00ff2"),
                        compare / name)
    found = resolve(compare)
    assert (found.kind, found.point, sorted(found.curves)) == (
        "compare", "a-run", ["ground-only", "satellite-only"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a run folder"):
        resolve(tmp_path / "empty")
    with pytest.raises(InputError, match="is a run folder, not a sweep"):
        resolve(run_folder, "abc")


def test_command(run_folder, tmp_path, monkeypatch):
    from simulator.view.command import view

    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    out = tmp_path / "v.html"
    result = CliRunner().invoke(view, [str(run_folder), "--out", str(out), "--open"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out} (") and out.is_file()
    assert opened == [out.resolve().as_uri()]
    result = CliRunner().invoke(view, [str(run_folder), "--point", "x", "--out", str(out)])
    assert result.exit_code == 1 and "is a run folder, not a sweep" in result.output
    result = CliRunner().invoke(view, [str(tmp_path), "--out", str(tmp_path / "w.html")])
    assert result.exit_code == 1 and "not a run folder" in result.output
