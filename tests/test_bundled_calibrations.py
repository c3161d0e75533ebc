"""The compression calibrations shipped in models/calibrations are what the computation
gives, are current, and are read only under their exact name."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from PIL import __version__ as pil_version

from simulator.policies import bundled_calibrations as bundled
from simulator.policies import compression
from simulator.policies import multiscale as ms
from simulator.policies.compression import get_compression


def _index() -> dict:
    return json.loads((bundled.bundled_dir() / bundled.INDEX).read_text())


def _same_libraries(entry: dict) -> bool:
    libs = entry["libraries"]
    return (libs["Pillow"], libs["zlib"], libs["numpy"]) == (
        pil_version, zlib.ZLIB_RUNTIME_VERSION, np.__version__)


def test_every_bundled_scenario_method_ships_current():
    """Fails when the compression code or the images changed without
    ``python -m simulator.policies.bundled_calibrations`` (skipped where the encoding
    libraries differ from those the files were made with: there they are not used)."""
    index = _index()
    if not all(_same_libraries(e) for e in index.values()):
        pytest.skip("encoding libraries differ from the ones the shipped files were made with")
    wanted = {name for name, _, _ in bundled.scenario_compressions(bundled.default_scenarios())}
    assert wanted, "no bundled scenario has a calibrated compression"
    assert wanted == set(index), ("shipped calibrations are stale: run "
                                  "python -m simulator.policies.bundled_calibrations")
    for name in wanted:
        assert (bundled.bundled_dir() / name).is_file()


def test_shipped_values_equal_a_fresh_computation():
    name, key, comp = bundled.scenario_compressions(bundled.default_scenarios())[0]
    if not _same_libraries(_index().get(name, {"libraries": {"Pillow": "", "zlib": "",
                                                             "numpy": ""}})):
        pytest.skip("encoding libraries differ from the ones the shipped files were made with")
    shipped = ms.read_calibration(bundled.bundled_dir() / name)
    fresh = comp._calibrate()
    assert shipped["sample_ids"] == fresh.sample_ids
    for field in ("bytes_ratio", "info_removed", "full_bytes", "bytes_sent"):
        np.testing.assert_array_equal(shipped[field], getattr(fresh, field))


def test_a_run_reads_the_shipped_file_instead_of_computing(monkeypatch, tmp_path):
    monkeypatch.setenv("SPACEVERSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(compression, "_CALIBRATIONS", {})
    comp = get_compression("multi-scale", {})
    name = ms.calibration_cache_name(comp._bytes_key())
    if not (bundled.bundled_dir() / name).is_file():
        pytest.skip("no shipped calibration under this machine's name (other libraries)")

    def no(*_):
        raise AssertionError("computed although a calibration ships")

    monkeypatch.setattr(type(comp), "_calibrate", no)
    cal = comp.calibration()
    assert len(cal) == 24 and 0 < cal.bytes_ratio.mean() < 1


def test_other_parameters_or_a_damaged_file_compute(monkeypatch, tmp_path):
    monkeypatch.setenv("SPACEVERSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(compression, "_CALIBRATIONS", {})
    comp = get_compression("multi-scale", {})
    name = ms.calibration_cache_name(comp._bytes_key())
    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / name).write_text("{not json")
    monkeypatch.setattr(bundled, "bundled_dir", lambda: folder)
    calls = []
    real = type(comp)._calibrate

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(type(comp), "_calibrate", counted)
    cal = comp.calibration()
    assert calls == [1] and len(cal) == 24
    assert bundled.read_bundled(None, lambda p: 1) is None
    assert bundled.read_bundled("missing.json", lambda p: 1) is None


def test_refresh_writes_the_files_and_the_index(tmp_path):
    scenario = bundled.default_scenarios()[0]
    for path in bundled.default_scenarios():
        if "default" in path.name:
            scenario = path
    (tmp_path / "stale.json").write_text("{}")
    names = bundled.refresh([scenario], folder=tmp_path)
    assert names and all((tmp_path / n).is_file() for n in names)
    assert not (tmp_path / "stale.json").exists()
    index = json.loads((tmp_path / bundled.INDEX).read_text())
    assert sorted(index) == names


def test_regenerating_from_a_bad_scenario_is_one_line_and_keeps_the_files(
        monkeypatch, tmp_path, capsys):
    (tmp_path / "kept.json").write_text("{}")
    monkeypatch.setattr(bundled, "bundled_dir", lambda: tmp_path)
    assert bundled.main([str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "missing.yaml" in err[0]
    assert (tmp_path / "kept.json").exists()
