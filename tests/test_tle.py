"""Tests for simulator.orbits.tle: real snapshots, parsing rules, errors, catalogs."""

from __future__ import annotations

import doctest
import logging
import pickle
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator.orbits.tle as tle_module
from simulator.errors import InputError, SpaceverseError
from simulator.orbits.tle import (
    Catalog,
    ElementSet,
    epoch_warnings,
    filter_names,
    list_catalogs,
    load_catalog,
    parse_tle,
    read_tle_file,
)
from simulator.paths import tle_dir

UTC = timezone.utc

# Three real records (CelesTrak, 2026-06-14; eo_iss_from_active.tle).
ISS = (
    "ISS (ZARYA)",
    "1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990",
    "2 25544  51.6333 316.6832 0004955 182.4672 177.6293 15.49214103571238",
)
TERRA = (
    "TERRA",
    "1 25994U 99068A   26164.88860163  .00000364  00000+0  83151-4 0  9994",
    "2 25994  97.9457 214.5655 0001324 201.8095 331.1346 14.61100761409129",
)
AQUA = (
    "AQUA",
    "1 27424U 02022A   26164.90537926  .00000715  00000+0  15200-3 0  9998",
    "2 27424  98.4276 134.1226 0001228  53.6532   2.8336 14.62153733282798",
)
RECORDS = (ISS, TERRA, AQUA)


def text_of(*records, newline="\n", names=True) -> str:
    lines = []
    for name, line1, line2 in records:
        lines += ([name] if names else []) + [line1, line2]
    return newline.join(lines) + newline


def fix_checksum(line: str) -> str:
    """Independent re-implementation of the TLE checksum, to build test records."""
    total = sum(int(c) if c.isdigit() else 1 if c == "-" else 0 for c in line[:68])
    return line[:68] + str(total % 10)


def with_epoch(line1: str, epoch_field: str) -> str:
    assert len(epoch_field) == 14
    return fix_checksum(line1[:18] + epoch_field + line1[32:])


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def starlink_2026() -> Catalog:
    return load_catalog("starlink@2026-06-14")


# --- the real snapshots -----------------------------------------------------

REAL_COUNTS = {
    "starlink@2026-06-14": 10_544,
    "planet@2026-06-14": 133,
    "eo@2026-06-14": 11,
    "stations@2026-06-14": 25,
    "starlink@2024-07-16": 6_227,  # no duplicate NORAD ids in the file
    "planet@2024-07-16": 139,
    "earth-resources@2024-07-16": 162,
    "stations@2024-07-16": 24,
}


@pytest.mark.parametrize("name, count", sorted(REAL_COUNTS.items()))
def test_real_snapshots_load_with_documented_counts(name, count, starlink_2026):
    catalog = starlink_2026 if name == "starlink@2026-06-14" else load_catalog(name)
    assert catalog.name == name
    assert len(catalog) == count
    assert len({e.norad_id for e in catalog.elements}) == count
    assert catalog.sources == (str(list_catalogs()[name]),)
    date = datetime.fromisoformat(name.partition("@")[2]).replace(tzinfo=UTC)
    oldest, newest = catalog.epoch_span()
    assert date - timedelta(days=20) < oldest <= newest < date + timedelta(days=1)
    assert all(len(e.line1) == len(e.line2) == 69 for e in catalog.elements)


def test_starlink_2026_epochs_and_first_record(starlink_2026):
    oldest, newest = starlink_2026.epoch_span()
    assert oldest.date().isoformat() == "2026-06-09"
    assert newest.date().isoformat() == "2026-06-14"
    first = starlink_2026.elements[0]
    assert (first.name, first.norad_id, first.line_number) == ("STARLINK-1008", 44714, 2)


def test_big_starlink_file_parses_fast():
    import time

    text = (tle_dir() / "celestrak_2026-06-14" / "starlink.tle").read_text()
    start = time.perf_counter()
    elements = parse_tle(text, "starlink.tle")
    assert time.perf_counter() - start < 1.0
    assert len(elements) == 10_544


def test_bare_names_mean_newest_snapshot():
    catalogs = list_catalogs()
    assert catalogs["starlink"] == catalogs["starlink@2026-06-14"]
    assert catalogs["planet"] == catalogs["planet@2026-06-14"]
    assert catalogs["stations"] == catalogs["stations@2026-06-14"]
    assert all(path.is_file() for path in catalogs.values())
    catalog = load_catalog("planet")
    assert catalog.name == "planet@2026-06-14" and len(catalog) == 133


def test_2026_files_are_crlf_and_2024_files_lf():
    assert b"\r\n" in (tle_dir() / "celestrak_2026-06-14" / "planet_from_active.tle").read_bytes()
    assert b"\r" not in (tle_dir() / "celestrak_2024-07-16" / "planet.txt").read_bytes()


def test_provenance_lists_every_bundled_file_with_its_sha256():
    import hashlib

    provenance = (tle_dir() / "PROVENANCE.md").read_text()
    files = [p for p in tle_dir().rglob("*") if p.is_file() and p.name != "PROVENANCE.md"]
    assert len(files) == 9
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in provenance, path.name


# --- parsing rules ------------------------------------------------------------

def test_crlf_and_lf_give_identical_elements(tmp_path):
    crlf = (tle_dir() / "celestrak_2026-06-14" / "eo_iss_from_active.tle").read_bytes()
    lf_file = tmp_path / "eo_lf.tle"
    lf_file.write_bytes(crlf.replace(b"\r\n", b"\n"))
    from_crlf = load_catalog("eo@2026-06-14")
    from_lf = load_catalog(str(lf_file))
    strip = lambda c: [(e.name, e.norad_id, e.line1, e.line2, e.epoch) for e in c.elements]  # noqa: E731
    assert strip(from_crlf) == strip(from_lf)
    assert len(from_lf) == 11
    assert from_crlf.content_hash == from_lf.content_hash
    assert not any("\r" in e.line1 + e.line2 + e.name for e in from_crlf.elements)


def test_two_line_records_get_norad_names_and_mix_with_three_line_ones():
    text = text_of(ISS) + "\n\n" + text_of(TERRA, names=False) + "   \n" + text_of(AQUA)
    elements = parse_tle(text)
    assert [e.name for e in elements] == ["ISS (ZARYA)", "NORAD 25994", "AQUA"]
    assert [e.line_number for e in elements] == [2, 6, 10]


def test_3le_name_line_with_leading_zero():
    text = "0 ISS (ZARYA)\n" + "\n".join(ISS[1:]) + "\n"
    [element] = parse_tle(text)
    assert element.name == "ISS (ZARYA)"


def test_trailing_blanks_are_ignored():
    text = "ISS (ZARYA)             \n" + ISS[1] + "  \n" + ISS[2] + "\t\n"
    [element] = parse_tle(text)
    assert element.line1 == ISS[1] and element.line2 == ISS[2]


def test_epoch_is_utc_from_the_epoch_field():
    [element] = parse_tle(text_of(ISS))
    assert element.epoch.tzinfo is not None and element.epoch.utcoffset() == timedelta(0)
    expected = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=164.83523427 - 1)
    assert abs(element.epoch - expected) < timedelta(microseconds=2)
    line1 = with_epoch(ISS[1], "99001.50000000")
    [old] = parse_tle(f"OLD\n{line1}\n{ISS[2]}\n")
    assert old.epoch == datetime(1999, 1, 1, 12, tzinfo=UTC)


def test_alpha5_satellite_numbers():
    line1 = fix_checksum("1 A0001" + ISS[1][7:])
    line2 = fix_checksum("2 A0001" + ISS[2][7:])
    [element] = parse_tle(f"{line1}\n{line2}\n")
    assert element.norad_id == 100001 and element.name == "NORAD 100001"
    assert element.satrec().satnum == 100001
    bad2 = fix_checksum("2 B0001" + ISS[2][7:])
    with pytest.raises(InputError, match="does not match"):
        parse_tle(f"{line1}\n{bad2}\n")


# --- errors ---------------------------------------------------------------------

def test_checksum_error_names_file_line_and_checksum(tmp_path):
    bad = TERRA[1][:68] + str((int(TERRA[1][68]) + 3) % 10)
    path = tmp_path / "bad.tle"
    path.write_text(text_of(ISS) + f"{TERRA[0]}\n{bad}\n{TERRA[2]}\n")
    with pytest.raises(InputError) as exc:
        read_tle_file(path)
    message = one_line(exc)
    assert message.startswith(f"{path}:5: ")
    assert "checksum of line 1 is 7, expected 4" in message
    assert "TERRA" in message and "25994" in message
    assert isinstance(exc.value, SpaceverseError)


def test_checksum_error_on_line_2():
    bad = AQUA[2][:68] + "0"
    with pytest.raises(InputError, match=r"^<string>:3: checksum of line 2 is 0, expected 8"):
        parse_tle(f"{AQUA[0]}\n{AQUA[1]}\n{bad}\n")


def test_mismatched_satellite_numbers():
    line2 = fix_checksum(ISS[2][:2] + "25545" + ISS[2][7:])
    with pytest.raises(InputError) as exc:
        parse_tle(f"{ISS[0]}\n{ISS[1]}\n{line2}\n", "x.tle")
    assert one_line(exc).startswith("x.tle:3: satellite number 25545 of line 2 does not match 25544")


def test_truncated_record_at_end_of_file():
    with pytest.raises(InputError) as exc:
        parse_tle(text_of(ISS) + f"{TERRA[0]}\n{TERRA[1]}\n", "t.tle")
    assert one_line(exc).startswith("t.tle:5: truncated record")
    with pytest.raises(InputError, match=r"^t\.tle:4: name line 'TERRA' is the last line"):
        parse_tle(text_of(ISS) + "TERRA\n", "t.tle")


def test_garbage_line_is_reported_with_its_line_number():
    text = text_of(ISS) + "this is not a TLE\n" + text_of(TERRA)
    with pytest.raises(InputError) as exc:
        parse_tle(text, "g.tle")
    message = one_line(exc)
    assert message.startswith("g.tle:4: name line 'this is not a TLE' is not followed by line 1")
    assert "line 5" in message


def test_line_2_without_line_1():
    with pytest.raises(InputError, match=r"^<string>:1: line 2 without a line 1"):
        parse_tle(ISS[2] + "\n" + text_of(TERRA))


def test_line_1_followed_by_something_else():
    with pytest.raises(InputError, match=r"^<string>:3: expected line 2 after line 2"):
        parse_tle(f"{ISS[0]}\n{ISS[1]}\n{TERRA[1]}\n{TERRA[2]}\n")


def test_wrong_line_length_is_an_error():
    short = ISS[1][:40] + ISS[1][41:]
    with pytest.raises(InputError, match="line 1 has 68 characters, expected 69"):
        parse_tle(f"{ISS[0]}\n{short}\n{ISS[2]}\n")


def test_unreadable_fields_are_errors():
    bad_bstar = fix_checksum(ISS[1][:53] + " abcd-3" + ISS[1][60:])
    with pytest.raises(InputError, match=r"^<string>:1: line 1 field 'bstar' is not a number"):
        parse_tle(f"{bad_bstar}\n{ISS[2]}\n")
    no_motion = fix_checksum(ISS[2][:52] + " 0.00000000" + ISS[2][63:])
    with pytest.raises(InputError, match="SGP4 rejects the elements"):
        parse_tle(f"{ISS[1]}\n{no_motion}\n")
    bad_day = with_epoch(ISS[1], "26000.50000000")
    with pytest.raises(InputError, match=r"^<string>:1: epoch '26000.50000000'"):
        parse_tle(f"{bad_day}\n{ISS[2]}\n")


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match=r"nope\.tle: no such file$"):
        read_tle_file(tmp_path / "nope.tle")
    (tmp_path / "empty.tle").write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        read_tle_file(tmp_path / "empty.tle")
    with pytest.raises(InputError, match="directory"):
        read_tle_file(tmp_path)
    with pytest.raises(InputError, match="no TLE records"):
        parse_tle("")


# --- lenient mode and duplicates ------------------------------------------------

def test_lenient_mode_skips_bad_record_and_logs_it(caplog):
    bad = TERRA[2][:68] + str((int(TERRA[2][68]) + 1) % 10)
    text = text_of(ISS) + f"{TERRA[0]}\n{TERRA[1]}\n{bad}\n" + text_of(AQUA)
    with pytest.raises(InputError) as exc:
        parse_tle(text, "l.tle")
    strict_message = str(exc.value)
    with caplog.at_level(logging.WARNING, logger="simulator.orbits.tle"):
        elements = parse_tle(text, "l.tle", lenient=True)
    assert [e.name for e in elements] == ["ISS (ZARYA)", "AQUA"]
    assert elements[1].line_number == 8
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert strict_message in warnings


def test_lenient_mode_resyncs_after_garbage_and_keeps_names(caplog):
    text = text_of(ISS) + "garbage\nmore garbage\n" + ISS[2] + "\n" + text_of(TERRA, AQUA)
    with caplog.at_level(logging.WARNING):
        elements = parse_tle(text, lenient=True)
    assert [e.name for e in elements] == ["ISS (ZARYA)", "TERRA", "AQUA"]
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" ")[0] for m in messages[:3]] == ["<string>:4:", "<string>:5:", "<string>:6:"]
    assert "skipped 3 bad record(s), kept 3" in messages[3]


def test_lenient_mode_with_nothing_valid_is_an_error():
    with pytest.raises(InputError, match="no valid TLE records"):
        parse_tle("junk\nmore junk\n", lenient=True)


def test_duplicate_norad_keeps_newest_epoch(caplog):
    newer = with_epoch(ISS[1], "26165.00000000")
    older = with_epoch(ISS[1], "26160.00000000")
    text = (text_of(("ISS NEWER", newer, ISS[2])) + text_of(TERRA)
            + text_of(("ISS OLDER", older, ISS[2])) + text_of(("ISS MID", ISS[1], ISS[2])))
    with caplog.at_level(logging.INFO, logger="simulator.orbits.tle"):
        elements = parse_tle(text)
    assert [e.name for e in elements] == ["ISS NEWER", "TERRA"]
    assert any("dropped 2 duplicate" in r.getMessage() for r in caplog.records)
    # the kept record keeps its own position in the file
    assert [e.name for e in parse_tle(text_of(TERRA, ISS) + text_of(("ISS NEWER", newer, ISS[2])))] \
        == ["TERRA", "ISS NEWER"]


# --- names and catalogs -------------------------------------------------------------

def test_filter_names_glob_substring_and_errors():
    elements = load_catalog("eo@2026-06-14").elements
    assert [e.name for e in filter_names(elements, ["sentinel-2*"])] == [
        "SENTINEL-2A", "SENTINEL-2B", "SENTINEL-2C"]
    assert [e.name for e in filter_names(elements, ["landsat", "ISS"])] == [
        "ISS (ZARYA)", "LANDSAT 8", "LANDSAT 9"]
    assert [e.name for e in filter_names(elements, "25994")] == ["TERRA"]
    assert [e.name for e in filter_names(elements, ["S?NTINEL-1[AC]"])] == [
        "SENTINEL-1A", "SENTINEL-1C"]
    with pytest.raises(InputError) as exc:
        filter_names(elements, ["TERRA", "HUBBLE*", "nothing"])
    message = one_line(exc)
    assert "'HUBBLE*'" in message and "'nothing'" in message and "'TERRA'" not in message


def test_load_catalog_applies_names():
    catalog = load_catalog("starlink@2024-07-16", names=["STARLINK-100?"])
    everything = load_catalog("starlink@2024-07-16").elements
    expected = [e for e in everything if len(e.name) == 13 and e.name.startswith("STARLINK-100")]
    assert 1 <= len(expected) <= 10
    assert list(catalog.elements) == expected


def test_unknown_catalog_suggests_close_names():
    with pytest.raises(InputError) as exc:
        load_catalog("starlnk")
    message = one_line(exc)
    assert message.startswith("unknown catalog 'starlnk': not a file")
    assert "did you mean 'starlink'" in message
    assert "known catalogs:" in message and "eo@2026-06-14" in message
    with pytest.raises(InputError) as exc:
        load_catalog("xyz")
    assert "did you mean" not in str(exc.value)


def test_load_catalog_from_a_file_path(tmp_path):
    path = tmp_path / "mine.tle"
    path.write_text(text_of(TERRA, AQUA))
    catalog = load_catalog(str(path))
    assert catalog.name == str(path) and catalog.sources == (str(path),)
    assert [e.norad_id for e in catalog] == [25994, 27424]
    assert catalog.elements[0].source == str(path)


# --- epoch warnings ------------------------------------------------------------------

def test_epoch_warnings_for_old_elements(caplog):
    catalog = load_catalog("eo@2026-06-14")
    _, newest = catalog.epoch_span()
    assert epoch_warnings(catalog, newest + timedelta(days=1)) == []
    with caplog.at_level(logging.WARNING, logger="simulator.orbits.tle"):
        messages = epoch_warnings(catalog, newest + timedelta(days=60))
    assert len(messages) == 1
    assert "11 of 11" in messages[0] and "more than 14 days" in messages[0]
    assert "60.0 to 60.1 days" in messages[0]
    assert [r.getMessage() for r in caplog.records] == messages


def test_epoch_warnings_for_start_before_epochs():
    catalog = load_catalog("eo@2026-06-14")
    messages = epoch_warnings(catalog, datetime(2026, 6, 1))  # naive = UTC
    assert len(messages) == 1 and "11 of 11" in messages[0] and "after the simulation start" in messages[0]
    oldest, newest = catalog.epoch_span()
    between = oldest + (newest - oldest) / 2
    [message] = epoch_warnings(catalog, between)
    assert "of 11 element sets have epochs after" in message


def test_epoch_warnings_for_spread_epochs():
    old = with_epoch(TERRA[1], "26100.00000000")
    elements = parse_tle(text_of(ISS, (TERRA[0], old, TERRA[2])))
    catalog = Catalog("mixed", tuple(elements))
    messages = epoch_warnings(catalog, elements[0].epoch + timedelta(days=1), max_age_days=100)
    assert len(messages) == 1 and "spread over 64.8 days" in messages[0]
    assert epoch_warnings(catalog, elements[0].epoch, max_age_days=100, max_spread_days=70) == []


# --- content hash and SGP4 ---------------------------------------------------------------

def test_content_hash_ignores_order_line_ends_and_names():
    base = Catalog("a", tuple(parse_tle(text_of(*RECORDS))))
    shuffled = Catalog("b", tuple(parse_tle(
        text_of(("X", *AQUA[1:]), ISS, newline="\r\n") + text_of(TERRA, names=False))))
    assert base.content_hash == shuffled.content_hash
    assert len(base.content_hash) == 64
    changed = Catalog("a", tuple(parse_tle(text_of(ISS, TERRA, (AQUA[0], with_epoch(
        AQUA[1], "26164.90537927"), AQUA[2])))))
    assert changed.content_hash != base.content_hash
    fewer = Catalog("a", base.elements[:2])
    assert fewer.content_hash != base.content_hash


def test_satrec_propagates_at_epoch():
    for element in load_catalog("eo@2026-06-14").elements:
        sat = element.satrec()
        assert sat is element.satrec()  # built once
        error, position, velocity = sat.sgp4_tsince(0.0)
        assert error == 0
        radius = sum(x * x for x in position) ** 0.5
        speed = sum(v * v for v in velocity) ** 0.5
        assert 6_600 < radius < 7_500 and 7.0 < speed < 8.0
        assert sat.satnum == element.norad_id


def test_element_sets_pickle_and_compare_by_value():
    [element] = parse_tle(text_of(ISS), "iss.tle")
    element.satrec()
    copy = pickle.loads(pickle.dumps(element))
    assert copy == element and hash(copy) == hash(element)
    assert copy.satrec().sgp4_tsince(0.0)[0] == 0
    direct = ElementSet("ISS", 25544, ISS[1], ISS[2], element.epoch)
    assert direct.satrec().satnum == 25544


def test_module_doctests():
    result = doctest.testmod(tle_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


# --- properties ----------------------------------------------------------------------------

def _digit_positions(line: str) -> list[int]:
    return [i for i, c in enumerate(line[:68]) if c.isdigit()]


@settings(max_examples=150, deadline=None)
@given(record=st.sampled_from(RECORDS), which=st.sampled_from([1, 2]), data=st.data())
def test_single_digit_change_without_checksum_fix_is_always_rejected(record, which, data):
    line = record[which]
    position = data.draw(st.sampled_from(_digit_positions(line)), label="position")
    new_digit = data.draw(st.sampled_from([d for d in "0123456789" if d != line[position]]),
                          label="digit")
    mutated = line[:position] + new_digit + line[position + 1:]
    lines = list(record)
    lines[which] = mutated
    with pytest.raises(InputError) as exc:
        parse_tle("\n".join(lines) + "\n", "h.tle")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("h.tle:")


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(3)), crlf=st.booleans(), blank=st.booleans(),
       names=st.lists(st.booleans(), min_size=3, max_size=3))
def test_content_hash_property(order, crlf, blank, names):
    reference = Catalog("r", tuple(parse_tle(text_of(*RECORDS)))).content_hash
    newline = "\r\n" if crlf else "\n"
    parts = [text_of(RECORDS[i], newline=newline, names=named) for i, named in zip(order, names)]
    text = (newline if blank else "").join(parts)
    elements = parse_tle(text)
    assert [e.norad_id for e in elements] == [int(RECORDS[i][1][2:7]) for i in order]
    assert Catalog("x", tuple(elements)).content_hash == reference


def test_random_real_records_roundtrip(starlink_2026):
    rng = random.Random(7)
    sample = rng.sample(starlink_2026.elements, 50)
    text = "".join(f"{e.name}\r\n{e.line1}\r\n{e.line2}\r\n" for e in sample)
    again = parse_tle(text)
    assert [(e.name, e.line1, e.line2, e.epoch) for e in again] == \
        [(e.name, e.line1, e.line2, e.epoch) for e in sample]


def test_project_code_never_reads_shared():
    source = Path(tle_module.__file__).read_text()
    assert "/work/shared" not in source and "shared/data" not in source


def test_a_constellation_is_built_once_per_parsed_catalogue(tmp_path):
    """Sweep points share a catalogue's orbits; new content (or other filters) builds anew."""
    from simulator.orbits.constellations import load_constellation

    root = Path(__file__).resolve().parent.parent
    source = (root / "tle" / "celestrak_2026-06-14" / "planet_from_active.tle"
              ).read_text().splitlines()
    path = tmp_path / "mine.tle"
    path.write_text("\n".join(source[:9]) + "\n")
    first = load_constellation(str(path))
    assert load_constellation(str(path)) is first and len(first.orbits) == 3
    one = first.orbits[0].name
    named = load_constellation(str(path), names=[one])
    assert named is not first and [o.name for o in named.orbits] == [one]
    path.write_text("\n".join(source[:6]) + "\n")                   # the file changes
    assert [o.name for o in load_constellation(str(path)).orbits] == [o.name for o in
                                                                     first.orbits[:2]]
