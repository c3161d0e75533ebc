"""The ``spaceverse`` command line: outputs, the cache, and one-line errors.

Most tests call :func:`simulator.cli.main` in-process (it always ends with
``SystemExit``); a few run ``python -m simulator`` as a real subprocess.  Every
run uses small constellations and a few hours so the whole file stays fast.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import __version__
from simulator.cli import main
from simulator.orbits import contacts as contacts_module
from simulator.orbits.contacts import WINDOW_COLUMNS
from simulator.orbits.stations import load_station_catalog
from simulator.paths import tle_dir

EO_FILE = tle_dir() / "celestrak_2026-06-14" / "eo_iss_from_active.tle"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--workers", "1"]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``spaceverse ARGS`` in-process; return (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else code), out, err


def run_ok(capsys, *args) -> tuple[str, str]:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out, err


def assert_one_line_error(code: int, err: str) -> str:
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def eo_records(n: int) -> list[list[str]]:
    """The first ``n`` three-line records of the bundled Earth-observation catalog."""
    lines = [line.rstrip() for line in EO_FILE.read_text().splitlines() if line.strip()]
    return [lines[i:i + 3] for i in range(0, 3 * n, 3)]


def with_bad_checksum(record: list[str]) -> list[str]:
    name, line1, line2 = record
    wrong = str((int(line1[68]) + 1) % 10)
    return [name, line1[:68] + wrong, line2]


# ---------------------------------------------------------------------------
# Contact windows written to files


def check_windows(table: pd.DataFrame, masks: dict[str, float], tol: float) -> None:
    """Sanity of a window table: order of times, durations, elevation above the mask."""
    assert list(table.columns) == WINDOW_COLUMNS
    assert len(table) > 0
    assert set(table["station"]) <= set(masks)
    rise, cul, set_ = table["rise_s"], table["culmination_s"], table["set_s"]
    assert (rise <= cul + tol).all()
    assert (cul <= set_ + tol).all()
    assert (rise >= -tol).all()
    assert np.allclose(table["duration_s"], set_ - rise, atol=2 * tol)
    assert (table["duration_s"] >= 0).all()
    floor = table["station"].map(masks) - 1e-6 - tol
    assert (table["max_elevation_deg"] >= floor).all()
    assert (table["max_elevation_deg"] <= 90.0).all()


def test_contacts_csv_and_parquet(capsys, tmp_path):
    masks = {s.name: s.min_elevation_deg for s in load_station_catalog() if s.network == "ksat"}
    csv_path, pq_path = tmp_path / "X.csv", tmp_path / "X.parquet"
    args = ["contacts", "--tle", "eo", "--station", "network:ksat", "--hours", "3", *FAST]

    out, _ = run_ok(capsys, *args, "--out", csv_path)
    assert f"wrote {csv_path}" in out
    assert "eo@2026-06-14: 11 satellites" in out
    with csv_path.open() as handle:
        assert handle.readline().strip().split(",") == WINDOW_COLUMNS
    table = pd.read_csv(csv_path)
    check_windows(table, masks, tol=2e-6)  # CSV rounds to microseconds
    assert table["satellite"].nunique() <= 11
    # every time column tells the same story: rise_utc - rise_s is the start for all rows
    start = pd.to_datetime(table["rise_utc"], utc=True) - pd.to_timedelta(table["rise_s"], "s")
    assert (start - start.iloc[0]).abs().max() < pd.Timedelta(milliseconds=1)
    assert table["set_s"].max() <= 3 * 3600 + 1e-6

    run_ok(capsys, *args, "--out", pq_path)
    parquet = pd.read_parquet(pq_path)
    assert list(parquet.columns) == WINDOW_COLUMNS
    check_windows(parquet, masks, tol=0.0)
    assert len(parquet) == len(table)
    np.testing.assert_allclose(parquet["rise_s"], table["rise_s"], atol=1e-5)
    assert list(parquet["station"]) == list(table["station"])


def test_inline_station_with_mask(capsys, tmp_path):
    path = tmp_path / "inline.parquet"
    out, _ = run_ok(capsys, "contacts", "--tle", "eo", "--station", "Test:48.1:11.6:500",
                    "--min-elevation", "10", "--hours", "6", "--out", path, *FAST)
    assert "Test" in out
    table = pd.read_parquet(path)
    assert set(table["station"]) == {"Test"}
    check_windows(table, {"Test": 10.0}, tol=0.0)
    # a higher mask keeps fewer or shorter passes
    strict = tmp_path / "strict.parquet"
    run_ok(capsys, "contacts", "--tle", "eo", "--station", "Test:48.1:11.6:500",
           "--min-elevation", "40", "--hours", "6", "--out", strict, *FAST)
    high = pd.read_parquet(strict)
    assert high["duration_s"].sum() < table["duration_s"].sum()
    assert (high["max_elevation_deg"] >= 40 - 1e-6).all()


def test_plot_writes_png(capsys, tmp_path):
    png = tmp_path / "sub" / "F.png"
    out, _ = run_ok(capsys, "contacts", "--tle", "eo", "--station", "network:ksat",
                    "--hours", "2", "--plot", png, *FAST)
    assert f"wrote {png}" in out
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000
    assert not list(png.parent.glob(".*tmp*")), "temporary files left behind"


def test_altitude_sweep(capsys, tmp_path):
    csv_path, png = tmp_path / "T.csv", tmp_path / "A.png"
    out, _ = run_ok(capsys, "contacts", "--altitudes", "400,600", "--planes", "4",
                    "--per-plane", "5", "--hours", "6", "--out", csv_path, "--plot", png, *FAST)
    assert "synthetic Walker shells" in out
    table = pd.read_csv(csv_path)
    for col in ("altitude_km", "mean_contact_fraction", "overhead_pass_fraction", "synthetic"):
        assert col in table.columns
    assert list(table["altitude_km"]) == [400.0, 600.0]
    assert table["synthetic"].astype(str).str.lower().eq("true").all()
    assert list(table["satellites"]) == [20, 20]
    for col in ("mean_contact_fraction", "overhead_pass_fraction"):
        assert table[col].between(0, 1, inclusive="neither").all(), col
    overhead = table.set_index("altitude_km")["overhead_pass_fraction"]
    assert overhead[600.0] > overhead[400.0]
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_walker_constellation(capsys, tmp_path):
    path = tmp_path / "walker.parquet"
    out, _ = run_ok(capsys, "contacts", "--tle", "walker:550:53:4:5", "--hours", "6",
                    "--out", path, *FAST)
    assert "20 satellites" in out
    assert "(synthetic)" in out
    table = pd.read_parquet(path)
    check_windows(table, {"Shanghai": load_shanghai_mask()}, tol=0.0)
    assert table["satellite"].nunique() <= 20
    assert table["norad_id"].nunique() == table["satellite"].nunique()


def load_shanghai_mask() -> float:
    [shanghai] = [s for s in load_station_catalog() if s.name == "Shanghai"]
    return shanghai.min_elevation_deg


# ---------------------------------------------------------------------------
# The cache


def test_second_run_reads_the_cache_and_no_cache_recomputes(capsys, tmp_path, monkeypatch,
                                                            spaceverse_cache):
    calls = []
    real = contacts_module._search_and_build  # the search behind cached_contacts

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(contacts_module, "_search_and_build", counting)
    args = ["contacts", "--tle", "eo", "--station", "network:ksat", "--hours", "2", *FAST]

    first = tmp_path / "first.parquet"
    run_ok(capsys, *args, "--out", first)
    assert len(calls) == 1
    cached = list(spaceverse_cache.rglob("*.parquet"))
    assert len(cached) == 1
    assert not (Path.home() / ".cache" / "spaceverse" / "contacts" / cached[0].name).exists()

    second = tmp_path / "second.parquet"
    _, err = run_ok(capsys, "-v", *args, "--out", second)
    assert len(calls) == 1, "the second identical run must not search again"
    assert "from cache" in err
    pd.testing.assert_frame_equal(pd.read_parquet(first), pd.read_parquet(second))

    third = tmp_path / "third.parquet"
    run_ok(capsys, *args, "--no-cache", "--out", third)
    assert len(calls) == 2, "--no-cache must recompute"
    pd.testing.assert_frame_equal(pd.read_parquet(first), pd.read_parquet(third))
    assert len(list(spaceverse_cache.rglob("*.parquet"))) == 1

    # a different interval is a different cache entry
    run_ok(capsys, *args[:-4], "--hours", "1", *FAST)
    assert len(calls) == 3
    assert len(list(spaceverse_cache.rglob("*.parquet"))) == 2


def test_corrupt_cache_entry_is_recomputed(capsys, spaceverse_cache, tmp_path):
    args = ["contacts", "--tle", "walker:550:53:4:5", "--hours", "2", *FAST]
    good = tmp_path / "good.parquet"
    run_ok(capsys, *args, "--out", good)
    [entry] = spaceverse_cache.rglob("*.parquet")
    entry.write_bytes(b"not parquet")
    again = tmp_path / "again.parquet"
    _, err = run_ok(capsys, *args, "--out", again)
    assert "warning:" in err and "cache" in err
    pd.testing.assert_frame_equal(pd.read_parquet(good), pd.read_parquet(again))


# ---------------------------------------------------------------------------
# User mistakes: one line on stderr, exit status 2


def _tle_file(tmp_path: Path, name: str, records) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(line for record in records for line in record) + "\n")
    return path


BAD_INPUTS = {
    "unknown-catalog": (["--tle", "nosuch-catalog"], "nosuch-catalog"),
    "station-two-fields": (["--station", "Oslo:59.9"], "Oslo:59.9"),
    "station-bad-lat": (["--station", "X:abc:10"], "LAT"),
    "station-lat-91": (["--station", "X:91:0"], "lat_deg"),
    "unknown-station": (["--station", "Svalbrd"], "did you mean"),
    "unknown-network": (["--station", "network:nosuch"], "known networks"),
    "negative-hours": (["--hours", "-1"], "--hours"),
    "hours-not-a-number": (["--hours", "abc"], "--hours"),
    "mask-95": (["--min-elevation", "95"], "--min-elevation"),
    "bad-start": (["--start", "yesterday"], "yesterday"),
    "unknown-option": (["--bogus"], "--bogus"),
    "bad-altitudes": (["--altitudes", "400,abc"], "--altitudes"),
    "empty-altitudes": (["--altitudes", ","], "--altitudes"),
    "altitude-below-150": (["--altitudes", "50", "--planes", "2", "--per-plane", "2"],
                           "altitude"),
    "bad-suffix": (["--out", "{tmp}/file.txt"], "file.txt"),
    "walker-too-short": (["--tle", "walker:550:53"], "walker:550:53"),
    "walker-not-numbers": (["--tle", "walker:abc:53:4:5"], "walker:abc:53:4:5"),
    "walker-zero-planes": (["--tle", "walker:550:53:0:5"], "planes"),
    "walker-with-name": (["--tle", "walker:550:53:4:5", "--name", "X"], "name"),
    "name-matches-nothing": (["--name", "no-such-satellite"], "no-such-satellite"),
    "bad-checksum": (["--tle", "{tmp}/bad.tle"], "{tmp}/bad.tle:5"),
    "empty-tle": (["--tle", "{tmp}/empty.tle"], "empty"),
    "missing-tle": (["--tle", "{tmp}/missing.tle"], "missing.tle"),
    "tle-directory": (["--tle", "{tmp}"], "{tmp}"),
    "bad-station-csv": (["--stations-catalog", "{tmp}/stations.csv", "--station", "A"],
                        "{tmp}/stations.csv:3"),
    "missing-station-csv": (["--stations-catalog", "{tmp}/nope.csv", "--station", "A"],
                            "nope.csv"),
    "duplicate-station": (["--station", "A:10:20", "--station", "a:11:20"], "already used"),
    "step-too-small": (["--step", "0.5"], "--step"),
}


@pytest.fixture
def bad_files(tmp_path) -> Path:
    records = eo_records(3)
    records[1] = with_bad_checksum(records[1])  # line 1 of record 2 is file line 5
    _tle_file(tmp_path, "bad.tle", records)
    (tmp_path / "empty.tle").write_text("")
    (tmp_path / "stations.csv").write_text("name,lat_deg,lon_deg\nA,10,20\nB,95,20\n")
    return tmp_path


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(capsys, bad_files, case):
    extra, expected = BAD_INPUTS[case]
    extra = [a.replace("{tmp}", str(bad_files)) for a in extra]
    args = ["contacts", "--tle", "eo", "--hours", "1", *FAST]
    code, _, err = run_cli(capsys, *args, *extra)
    line = assert_one_line_error(code, err)
    assert expected.replace("{tmp}", str(bad_files)) in line


def test_bad_checksum_message_names_the_line(capsys, bad_files):
    code, _, err = run_cli(capsys, "contacts", "--tle", bad_files / "bad.tle", "--hours", "1")
    line = assert_one_line_error(code, err)
    assert line.startswith(f"error: {bad_files / 'bad.tle'}:5: checksum of line 1")


def test_unknown_command(capsys):
    code, _, err = run_cli(capsys, "bogus")
    assert "bogus" in assert_one_line_error(code, err)


# Mistakes that once ended in a traceback.
FORMER_TRACEBACKS = {
    "plot-bad-suffix": ["--plot", "{tmp}/figure.xyz"],
    "altitudes-plot-bad-suffix": ["--altitudes", "400", "--planes", "2", "--per-plane", "2",
                                  "--plot", "{tmp}/figure.xyz"],
    "out-unwritable": ["--out", "/proc/spaceverse-test.csv"],
    "station-csv-not-utf8": ["--stations-catalog", "{tmp}/latin1.csv", "--station", "A"],
}


@pytest.mark.parametrize("case", list(FORMER_TRACEBACKS))
def test_former_tracebacks_are_one_line_errors(capsys, tmp_path, case):
    (tmp_path / "latin1.csv").write_bytes(b"name,lat_deg,lon_deg\n\xe9A,10,20\n")
    extra = [a.replace("{tmp}", str(tmp_path)) for a in FORMER_TRACEBACKS[case]]
    code, _, err = run_cli(capsys, "contacts", "--tle", "eo", "--hours", "1", *FAST, *extra)
    assert_one_line_error(code, err)


def test_lenient_skips_a_bad_record_with_a_warning(capsys, tmp_path):
    records = eo_records(4)
    bad = with_bad_checksum(records[2])
    records[2] = bad
    path = _tle_file(tmp_path, "mixed.tle", records)
    out_path = tmp_path / "mixed.parquet"

    code, _, err = run_cli(capsys, "contacts", "--tle", path, "--hours", "2", *FAST)
    assert_one_line_error(code, err)

    out, err = run_ok(capsys, "contacts", "--tle", path, "--lenient", "--hours", "2",
                      "--station", "network:ksat", "--out", out_path, *FAST)
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings, err
    assert any("checksum" in w for w in warnings)
    assert all(line.startswith("warning:") for line in err.splitlines())
    assert "3 satellites" in out
    bad_name = bad[0].strip()
    table = pd.read_parquet(out_path)
    assert bad_name not in set(table["satellite"])


def test_lenient_with_only_bad_records_is_an_error(capsys, tmp_path):
    path = _tle_file(tmp_path, "allbad.tle", [with_bad_checksum(r) for r in eo_records(2)])
    code, _, err = run_cli(capsys, "contacts", "--tle", path, "--lenient", "--hours", "1")
    assert code == 2
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no valid TLE records" in errors[0]


# ---------------------------------------------------------------------------
# Other commands


def test_catalogs_lists_tle_catalogs_and_networks(capsys):
    out, err = run_ok(capsys, "catalogs")
    assert err == ""
    assert "starlink@2026-06-14" in out
    assert "eo@2026-06-14" in out
    assert "ground stations:" in out
    for network in ("ksat", "nen", "starlink-gateway", "paper"):
        assert network in out


def test_version(capsys):
    out, _ = run_ok(capsys, "--version")
    assert out.strip() == f"spaceverse, version {__version__}"


def test_help(capsys):
    out, _ = run_ok(capsys, "contacts", "--help")
    assert "--altitudes" in out and "--no-cache" in out


# ---------------------------------------------------------------------------
# A real process: ``python -m simulator``


def _spaceverse(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_python_m_simulator_runs(tmp_path, spaceverse_cache):
    proc = _spaceverse("contacts", "--tle", "eo", "--station", "network:ksat", "--hours", "2",
                       "--out", "w.csv", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    header = (tmp_path / "w.csv").read_text().splitlines()[0]
    assert header.split(",") == WINDOW_COLUMNS
    # the subprocess inherited the test's cache folder
    assert list(spaceverse_cache.rglob("*.parquet"))


@pytest.mark.parametrize("args, expected", [
    (["contacts", "--tle", "bad.tle", "--hours", "1"], "bad.tle:5"),
    (["contacts", "--station", "X:91:0", "--hours", "1"], "lat_deg"),
    (["contacts", "--hours", "-1"], "--hours"),
])
def test_python_m_simulator_errors_are_one_line(bad_files, args, expected):
    proc = _spaceverse(*args, cwd=bad_files)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert proc.stdout == ""


def test_python_m_simulator_version(tmp_path):
    proc = _spaceverse("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert __version__ in proc.stdout


_FROZEN_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs last
{call}
"""


@pytest.mark.parametrize("call, frozen", [
    # the process itself: the collector's passes at shutdown are skipped
    ("sys.argv = ['spaceverse', '--version']\nfrom simulator.cli import main\nmain()", True),
    # a call from code (tests, notebooks): the caller's collector is left alone
    ("from simulator.cli import main\nmain(['--version'])", False),
    # a spawned sweep worker's initializer
    ("from simulator.sweep.executors import _ignore_interrupts\n_ignore_interrupts()", True),
])
def test_processes_we_own_skip_the_final_collections(tmp_path, call, frozen):
    proc = subprocess.run([sys.executable, "-c", _FROZEN_AT_EXIT.format(call=call)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"frozen at exit: {frozen}" in proc.stdout
    assert ("--version" not in call) or __version__ in proc.stdout  # still printed, flushed
