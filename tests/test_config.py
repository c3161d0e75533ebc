"""Scenario schema and loader: every bundled scenario loads, defaults are the paper's,
resolved dumps round-trip, and every user mistake is one line naming file, line and field.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from simulator.config import (MAX_PROBLEMS, Scenario, ScenarioError, StationSpec,
                              apply_overrides, dump_resolved, load_scenario, parse_scenario,
                              scenario_hash, scenario_json_schema, slug)
from simulator.errors import InputError, SpaceverseError

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, overrides=(), name: str = "bad.yaml") -> str:
    """The one-line message of loading ``text`` from a file, checked to be one line."""
    path = write(tmp_path, text, name)
    with pytest.raises(InputError) as info:
        load_scenario(path, overrides)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    return message


# ---------------------------------------------------------------------------
# bundled scenarios
# ---------------------------------------------------------------------------

def test_the_expected_scenarios_exist():
    names = {p.stem for p in SCENARIO_FILES}
    assert {"default", "always-connected", "walker-550", "budget-link", "trace-link",
            "small"} <= names


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_bundled_scenario_loads_and_round_trips(path):
    scenario = load_scenario(path)
    assert scenario.source_path == path.resolve()
    again = parse_scenario(dump_resolved(scenario))
    assert again == scenario
    assert scenario_hash(again) == scenario_hash(scenario)


def test_default_scenario_is_the_paper_setting():
    s = load_scenario(SCENARIOS / "default.yaml")
    assert s.seed == 1
    assert (s.time.duration_h, s.time.drain_h) == (24, 24)
    assert s.constellation.catalog == "starlink@2026-06-14"
    sel = s.constellation.select
    assert (sel.count, sel.altitude_km, sel.inclination_deg) == (10, 570, 70)
    [gs] = s.ground_stations
    assert (gs.kind, gs.name, gs.min_elevation_deg) == ("catalog", "Shanghai", 25)
    assert (s.link.model, s.link.rate_mbps, s.link.availability) == ("constant", 110.67,
                                                                      "orbital")
    assert s.policy.allocation == "spaceverse"
    # the training pool is generated apart from the evaluated samples; the load is explicit
    assert (s.workload.rate_per_satellite_h, s.workload.arrival) == (4, "periodic")
    assert (s.workload.image_bytes, s.workload.bands, s.preset) == ("raw", 3, "physical")
    assert s.policy.params == {"stages": 2, "tau": [0.5, 0.4]}
    assert s.policy.compression.method == "multi-scale"
    assert s.policy.compression.params == {"alpha": 0.35, "beta": 0.55, "regions": 100}
    assert (s.workload.trace, s.workload.synthetic.task, s.workload.synthetic.samples) == \
        ("synthetic", "vqa", 1000)
    assert (s.compute.satellite.model, s.compute.ground.model) == ("qwen2-vl-2b",
                                                                   "qwen2-vl-7b")


def test_other_bundled_scenarios_say_what_their_names_promise():
    assert load_scenario(SCENARIOS / "always-connected.yaml").link.availability == "always"
    walker = load_scenario(SCENARIOS / "walker-550.yaml")
    w = walker.constellation.walker
    assert walker.constellation.kind == "walker" and walker.constellation.catalog is None
    assert (w.altitude_km, w.inclination_deg, w.planes, w.per_plane, w.size) == \
        (550, 53, 6, 5, 30)
    assert [g.name for g in walker.ground_stations] == [
        "Shanghai", "Svalbard (ksat)", "Hartebeesthoek (ksat)"]
    budget = load_scenario(SCENARIOS / "budget-link.yaml")
    assert budget.link.model == "budget" and budget.link.budget.frequency_ghz == 8.2
    assert budget.constellation.catalog.startswith("planet@2026")
    assert budget.constellation.select.count == 12
    assert [(g.kind, g.network) for g in budget.ground_stations] == [("network", "ksat")]
    trace = load_scenario(SCENARIOS / "trace-link.yaml")
    assert trace.link.model == "trace" and trace.link.trace.file
    small = load_scenario(SCENARIOS / "small.yaml")
    assert small.constellation.select.count == 3
    assert small.workload.synthetic.samples == 200 and small.time.duration_h == 6


# ---------------------------------------------------------------------------
# defaults, kinds, normalisation
# ---------------------------------------------------------------------------

def test_defaults_are_filled():
    s = parse_scenario("name: minimal")
    assert s.name == "minimal" and s.description == "" and s.seed == 0
    assert s.time.start is None and s.time.duration_h == 24 and s.time.drain_h == 24
    assert s.time.contact_step_s == 360 and s.time.end_s == 48 * 3600
    assert s.constellation.catalog == "starlink@2026-06-14"
    assert s.constellation.select.count == 10 and s.constellation.select.strategy == "spread"
    assert [g.name for g in s.ground_stations] == ["Shanghai"]
    assert s.link.rate_mbps == 110.67 and s.link.trace is None and s.link.budget is None
    assert s.compute.satellite.device == "jetson-agx-xavier" and s.compute.ground.gpus == 1
    assert s.workload.synthetic.samples == 1000 and s.workload.samples is None
    assert (s.workload.assignment, s.workload.arrival) == ("round_robin", "uniform")
    assert s.policy.allocation == "satellite-only" and s.policy.compression.method == "none"
    assert s.buffer.capacity_mb == 16000 and s.buffer.discipline == "fifo"
    assert s.output.dir == "results" and s.output.run_id is None and s.output.save_contacts
    assert Scenario() == parse_scenario("name: unnamed")


def test_model_blocks_are_filled_for_their_model():
    assert parse_scenario("link: {model: trace}").link.trace.file == \
        "starlink-autobahn-2024-04-19"
    assert parse_scenario("link: {model: budget}").link.budget.bandwidth_mhz == 150
    assert parse_scenario("workload: {trace: my.parquet}").workload.synthetic is None


def test_station_kinds_and_inline_defaults():
    s = parse_scenario(
        "ground_stations:\n"
        "  - Shanghai\n"
        "  - {name: Svalbard (ksat), antennas: 2}\n"
        "  - {network: ksat, min_elevation_deg: 5}\n"
        "  - {name: Lab, lat_deg: 31.3, lon_deg: 121.5}\n")
    kinds = [g.kind for g in s.ground_stations]
    assert kinds == ["catalog", "catalog", "network", "inline"]
    lab = s.ground_stations[3]
    assert (lab.alt_m, lab.min_elevation_deg, lab.antennas) == (0, 10, 1)
    assert s.ground_stations[0].min_elevation_deg is None  # catalog keeps its own mask
    assert StationSpec.model_validate("Shanghai").name == "Shanghai"


def test_policy_names_are_normalised_and_start_is_utc():
    s = parse_scenario("policy: {allocation: Satellite_Only, compression: {method: Multi_Scale}}\n"
                       "time: {start: 2026-06-14T08:00:00+08:00}")
    assert s.policy.allocation == "satellite-only"
    assert s.policy.compression.method == "multi-scale"
    assert s.time.start == datetime(2026, 6, 14, tzinfo=timezone.utc)
    assert s.time.start.utcoffset().total_seconds() == 0
    naive = parse_scenario("time: {start: '2026-06-14T01:00:00'}").time.start
    assert naive == datetime(2026, 6, 14, 1, tzinfo=timezone.utc)
    day = parse_scenario("time: {start: 2026-06-14}").time.start
    assert day == datetime(2026, 6, 14, tzinfo=timezone.utc)


def test_relative_paths_resolve_next_to_the_scenario_file(tmp_path):
    (tmp_path / "mine.tle").write_text("")
    (tmp_path / "gs.csv").write_text("")
    path = write(tmp_path, "constellation: {catalog: mine.tle}\nstations_catalog: gs.csv\n"
                           "link: {model: trace, trace: {file: nowhere.csv}}\n")
    s = load_scenario(path)
    assert s.constellation.catalog == str((tmp_path / "mine.tle").resolve())
    assert s.stations_catalog == str((tmp_path / "gs.csv").resolve())
    assert s.link.trace.file == "nowhere.csv"  # not there: kept as written
    assert parse_scenario("constellation: {catalog: mine.tle}").constellation.catalog == \
        "mine.tle"  # from a string: nothing to resolve against


# ---------------------------------------------------------------------------
# dump, hash, run id, schema
# ---------------------------------------------------------------------------

def test_dump_resolved_is_complete_yaml_with_utc_times(tmp_path):
    s = parse_scenario("seed: 4\ntime: {start: 2026-06-14T06:30:00+02:00}\n"
                       "policy: {params: {tau: [0.6, 0.3]}}")
    text = dump_resolved(s)
    data = yaml.safe_load(text)
    assert re.search(r"^  start: 2026-06-14T04:30:00Z$", text, re.M)
    assert set(data) == set(Scenario.model_fields)
    assert data["link"]["rate_mbps"] == 110.67 and data["seed"] == 4
    again = load_scenario(write(tmp_path, text, "resolved.yaml"))
    assert again == s and again.policy.params["tau"] == [0.6, 0.3]


def test_scenario_hash_is_stable_and_tracks_content():
    a = parse_scenario("seed: 1")
    assert scenario_hash(a) == scenario_hash(parse_scenario("seed: 1\nname: unnamed"))
    assert re.fullmatch(r"[0-9a-f]{12}", scenario_hash(a))
    assert scenario_hash(a) != scenario_hash(parse_scenario("seed: 2"))
    assert scenario_hash(a) != scenario_hash(parse_scenario("seed: 1\nlink: {rate_mbps: 50}"))
    # where results go and free text do not change what is simulated
    assert scenario_hash(a) == scenario_hash(parse_scenario(
        "seed: 1\noutput: {dir: elsewhere, save_contacts: false}\ndescription: hello"))
    # the hash survives a dump and reload
    assert scenario_hash(a) == scenario_hash(parse_scenario(dump_resolved(a)))


def test_run_id():
    s = parse_scenario("name: Paper Default (v2)\nseed: 3")
    assert s.run_id == f"paper-default-v2-{scenario_hash(s)}"
    assert parse_scenario("output: {run_id: mine}").run_id == "mine"
    assert slug("§§§") == "scenario"


def test_json_schema_is_json_and_describes_every_field():
    schema = scenario_json_schema()
    text = json.dumps(schema)
    assert json.loads(text)["title"] == "spaceverse scenario"
    assert schema["$schema"].startswith("https://json-schema.org/")
    missing = []
    for where, block in [("Scenario", schema), *schema["$defs"].items()]:
        for key, prop in block.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{where}.{key}")
        assert block["additionalProperties"] is False, where  # unknown keys are errors
    assert not missing, missing
    assert len(schema["$defs"]) >= 15
    assert schema["$defs"]["LinkSpec"]["properties"]["model"]["enum"] == [
        "constant", "trace", "budget"]
    station_item = schema["properties"]["ground_stations"]["items"]
    assert {"type": "string"} in [{k: v for k, v in alt.items() if k == "type"}
                                  for alt in station_item["anyOf"]]


def test_readme_documents_every_field():
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    from simulator.config import _all_field_paths, _format_path
    undocumented = [_format_path(p) for p in _all_field_paths(Scenario)
                    if f"`{_format_path(p)}`" not in readme]
    assert not undocumented, undocumented


# ---------------------------------------------------------------------------
# --set overrides
# ---------------------------------------------------------------------------

def test_overrides_number_list_datetime_and_new_nested_keys(tmp_path):
    path = write(tmp_path, "name: x\nseed: 1\n")
    s = load_scenario(path, ["seed=3", "link.rate_mbps=50", "policy.params.tau=[0.6,0.3]",
                             "time.start=2026-06-14T00:00:00Z",
                             "policy.compression.params.alpha=0.3",
                             "ground_stations=[Shanghai, {network: ksat}]"])
    assert s.seed == 3 and s.link.rate_mbps == 50
    assert s.policy.params == {"tau": [0.6, 0.3]}
    assert s.time.start == datetime(2026, 6, 14, tzinfo=timezone.utc)
    assert s.policy.compression.params == {"alpha": 0.3}
    assert [g.kind for g in s.ground_stations] == ["catalog", "network"]
    # list items by index, both spellings
    s2 = load_scenario(path, ["ground_stations=[Shanghai]", "ground_stations.0.antennas=2",
                              "ground_stations[0].min_elevation_deg=30"])
    assert (s2.ground_stations[0].antennas, s2.ground_stations[0].min_elevation_deg) == (2, 30)
    # the file itself is not modified
    assert load_scenario(path).seed == 1


def test_apply_overrides_to_a_loaded_scenario():
    base = parse_scenario("seed: 1")
    changed = apply_overrides(base, ["seed=9", "link.availability=always"])
    assert (changed.seed, changed.link.availability) == (9, "always")
    assert base.seed == 1


@pytest.mark.parametrize("override, expected", [
    ("seed", "--set seed: expected KEY=VALUE"),
    ("=3", "--set =3: the key before '=' is empty"),
    ("link..rate_mbps=3", "--set link..rate_mbps=3: empty part in the key"),
    ("seed.value=3", "--set seed.value=3: seed is a number (1), not a mapping"),
    ("seed=[1,", "--set seed=[1,: cannot read the value as YAML"),
    ("ground_stations.0.name=X", "--set ground_stations.0.name=X: ground_stations is not "
                                 "given"),
])
def test_bad_overrides(tmp_path, override, expected):
    message = error_of(tmp_path, "seed: 1\n", [override])
    assert message.startswith(expected), message


def test_validation_errors_from_overrides_say_so(tmp_path):
    message = error_of(tmp_path, "seed: 1\nlink:\n  rate_mbps: 5\n", ["link.rate_mbps=-3"])
    assert message == "{}/bad.yaml (from --set): link.rate_mbps: must be > 0, got -3".format(
        tmp_path)
    message = error_of(tmp_path, "seed: 1\n", ["link.rate_mpbs=3"])
    assert "(from --set): link.rate_mpbs: unknown key (did you mean 'rate_mbps'?)" in message
    # an error in the file is still reported at its line next to an override
    message = error_of(tmp_path, "seed: 1\nbuffer: {capacity_mb: 0}\n", ["seed=2"])
    assert message.endswith("bad.yaml:2: buffer.capacity_mb: must be > 0, got 0")


# ---------------------------------------------------------------------------
# wrong files: message names the file, the line and the field
# ---------------------------------------------------------------------------

BAD_FILES = [
    # (id, text, line, field path, words the message must contain)
    ("wrong type", "seed: 1\nlink:\n  model: constant\n  rate_mbps: fast\n",
     4, "link.rate_mbps", "expected a number, got 'fast'"),
    ("negative seed", "name: x\nseed: -1\n", 2, "seed", "must be >= 0, got -1"),
    ("zero duration", "seed: 1\ntime:\n  start: null\n  duration_h: 0\n",
     4, "time.duration_h", "must be > 0, got 0"),
    ("too long", "time:\n  duration_h: 1000\n", 2, "time.duration_h", "must be <= 720"),
    ("elevation 95", "ground_stations:\n  - Shanghai\n  - name: Lab\n    lat_deg: 1\n"
                     "    lon_deg: 2\n    min_elevation_deg: 95\n",
     6, "ground_stations[1].min_elevation_deg", "must be < 90, got 95"),
    ("unknown key", "name: x\nsead: 1\n", 2, "sead", "unknown key (did you mean 'seed'?)"),
    ("nested unknown key", "seed: 1\nlink: {rate_mpbs: 3}\n",
     2, "link.rate_mpbs", "did you mean 'rate_mbps'?"),
    ("unknown key in a list item", "ground_stations:\n  - name: Shanghai\n    antenas: 2\n",
     3, "ground_stations[0].antenas", "did you mean 'antennas'?"),
    ("key in the wrong block", "seed: 1\nrate_mbps: 50\n", 2, "rate_mbps",
     "belongs under link: link.rate_mbps"),
    ("both catalog and walker",
     "constellation:\n  catalog: starlink\n  walker:\n    altitude_km: 550\n"
     "    inclination_deg: 53\n    planes: 2\n    per_plane: 2\n",
     3, "constellation.walker", "exactly one of catalog or walker"),
    ("neither catalog nor walker", "seed: 1\nconstellation:\n  lenient: true\n",
     2, "constellation", "needs exactly one of catalog"),
    ("walker field missing", "constellation:\n  walker:\n    altitude_km: 550\n"
                             "    inclination_deg: 53\n    planes: 2\n",
     2, "constellation.walker.per_plane", "required field is missing"),
    ("names with walker", "constellation:\n  names: [STARLINK]\n  walker: {altitude_km: 550, "
                          "inclination_deg: 53, planes: 2, per_plane: 2}\n",
     2, "constellation.names", "only applies to a catalog"),
    ("lat without lon", "ground_stations:\n  - Shanghai\n  - name: Lab\n    lat_deg: 30\n",
     3, "ground_stations[1]", "needs both lat_deg and lon_deg"),
    ("name and network", "ground_stations:\n  - {name: A, network: ksat}\n",
     2, "ground_stations[0].network", "not both"),
    ("trace block with constant model", "link:\n  model: constant\n  trace:\n    scale: 2\n",
     3, "link.trace", "is only used with model: trace"),
    ("synthetic block with a trace file", "workload:\n  trace: x.parquet\n  synthetic: {}\n",
     3, "workload.synthetic", "only used with trace: synthetic"),
    ("bad enum", "workload:\n  arrival: sometimes\n", 2, "workload.arrival",
     "expected one of: periodic, uniform, poisson, at_start; got 'sometimes'"),
    ("bad link model", "link: {model: fibre}\n", 1, "link.model",
     "expected one of: constant, trace, budget"),
    ("bool as number", "seed: true\n", 1, "seed", "expected an integer, got true"),
    ("fraction as integer", "compute:\n  ground:\n    gpus: 2.5\n", 3, "compute.ground.gpus",
     "expected an integer"),
    ("bad start", "time: {start: yesterday}\n", 1, "time.start", "expected an ISO 8601"),
    ("list expected", "ground_stations: Shanghai\n", 1, "ground_stations", "expected a list"),
    ("empty list", "ground_stations: []\n", 1, "ground_stations", "must not be empty"),
    ("mapping expected", "seed: 1\nlink: 100\n", 2, "link", "expected a mapping"),
    ("not finite", "link: {rate_mbps: .inf}\n", 1, "link.rate_mbps", "finite"),
    ("phasing too large", "constellation:\n  walker: {altitude_km: 550, inclination_deg: 53, "
                          "planes: 2, per_plane: 2, phasing: 2}\n",
     2, "constellation.walker.phasing", "between 0 and planes - 1"),
    ("run id with slash", "output:\n  run_id: a/b\n", 2, "output.run_id", "plain folder name"),
    ("duplicate key", "seed: 1\nname: a\nseed: 2\n", 3, "seed", "duplicate key (first given "
                                                                "on line 1)"),
    ("override value", "compute:\n  satellite:\n    overrides:\n      prefill: fast\n",
     4, "compute.satellite.overrides.prefill", "expected a number"),
]


@pytest.mark.parametrize("text, line, field, words", [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_bad_file_names_file_line_and_field(tmp_path, text, line, field, words):
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path}/bad.yaml:{line}: {field}: "), message
    assert words in message, message


def test_errors_are_scenario_errors_with_problems(tmp_path):
    path = write(tmp_path, "seed: -1\nlink: {rate_mbps: 0}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert isinstance(info.value, InputError) and isinstance(info.value, SpaceverseError)
    assert [(w.rsplit(":", 1)[1], f) for w, f, _ in info.value.problems] == [
        ("1", "seed"), ("2", "link.rate_mbps")]


def test_several_problems_share_one_line_in_line_order(tmp_path):
    message = error_of(tmp_path, "link: {rate_mbps: 0}\nseed: -1\n")
    first, second = message.split("; ")
    assert first.endswith("bad.yaml:1: link.rate_mbps: must be > 0, got 0")
    assert second.endswith("bad.yaml:2: seed: must be >= 0, got -1")


def test_many_problems_are_capped(tmp_path):
    text = "".join(f"k{i}: 1\n" for i in range(MAX_PROBLEMS + 3))
    message = error_of(tmp_path, text)
    assert message.count("unknown key") == MAX_PROBLEMS
    assert message.endswith("(and 3 more)")
    assert f"bad.yaml:{MAX_PROBLEMS}: k{MAX_PROBLEMS - 1}" in message


def test_yaml_syntax_error_has_its_line(tmp_path):
    message = error_of(tmp_path, "seed: 1\nlink:\n  rate_mbps: [1, 2\nname: x\n")
    assert re.match(rf"{re.escape(str(tmp_path))}/bad\.yaml:4: YAML syntax error: ", message)
    assert "starts on line 3" in message
    message = error_of(tmp_path, "seed: 1\nlink:\n\trate_mbps: 3\n")
    assert "bad.yaml:3: YAML syntax error" in message and "not tabs" in message
    message = error_of(tmp_path, "name: x\n  seed: 1\n")
    assert "bad.yaml:2: YAML syntax error" in message


@pytest.mark.parametrize("text, words", [
    ("", "the scenario is empty"),
    ("# only a comment\n\n", "the scenario is empty"),
    ("---\n", "the scenario is empty"),
    ("- a\n- b\n", "bad.yaml:1: expected a mapping of settings at the top level"),
    ("just text\n", "bad.yaml:1: expected a mapping of settings at the top level"),
    ("a: 1\n---\nb: 2\n", "bad.yaml:2: YAML syntax error: a second YAML document"),
])
def test_files_without_a_mapping(tmp_path, text, words):
    message = error_of(tmp_path, text)
    assert words in message and str(tmp_path) in message, message


def test_missing_file_directory_and_non_utf8(tmp_path):
    with pytest.raises(InputError, match=r"nope\.yaml: no such scenario file$"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match=r": is a folder, expected a YAML scenario file$"):
        load_scenario(tmp_path)
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: x\ndescription: caf\xe9\n")
    with pytest.raises(InputError, match=r"latin\.yaml:2: not UTF-8 text"):
        load_scenario(path)


def test_later_stages_can_point_at_the_line(tmp_path):
    path = write(tmp_path, "seed: 1\nground_stations:\n  - Shangai\n")
    s = load_scenario(path, ["link.rate_mbps=3"])
    error = s.input_error("ground_stations[0].name", "unknown station 'Shangai'")
    assert isinstance(error, InputError)
    assert str(error) == f"{path}:3: ground_stations[0].name: unknown station 'Shangai'"
    assert s.location("link.rate_mbps") == f"{path} (from --set)"
    assert s.location(("seed",)) == f"{path}:1"


# ---------------------------------------------------------------------------
# a property: valid scenarios survive dump_resolved unchanged
# ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63),
       duration_h=st.floats(min_value=1e-3, max_value=720, allow_nan=False),
       drain_h=st.floats(min_value=0, max_value=720, allow_nan=False),
       rate=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
       name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                    min_size=1, max_size=20).filter(lambda s: s.strip()),
       start=st.none() | st.datetimes(min_value=datetime(2000, 1, 1),
                                      max_value=datetime(2100, 1, 1),
                                      timezones=st.just(timezone.utc)))
def test_property_resolved_dump_round_trips(seed, duration_h, drain_h, rate, name, start):
    s = Scenario.model_validate({"name": name, "seed": seed,
                                 "time": {"duration_h": duration_h, "drain_h": drain_h,
                                          "start": start},
                                 "link": {"rate_mbps": rate}})
    again = parse_scenario(dump_resolved(s))
    assert again == s
    assert scenario_hash(again) == scenario_hash(s)
    assert again.time.start == start


# ---------------------------------------------------------------------------
# fuzz: whatever the user writes, the answer is a Scenario or one line
# ---------------------------------------------------------------------------

_KEYS = sorted({str(part) for path in __import__("simulator.config", fromlist=["x"])
                ._all_field_paths(Scenario) for part in path} | {"sead", "x"})
_SCALARS = (st.none() | st.booleans() | st.integers(-10**6, 10**20)
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.sampled_from(["", "fast", "Shanghai", "2026-06-14T00:00:00Z", "ksat", "trace",
                               "walker", "synthetic", "round_robin", "always", "budget"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
                       max_leaves=12)


def _assert_clean(call):
    try:
        return call()
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return None


@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(st.sampled_from(_KEYS), _VALUES, min_size=1, max_size=6))
def test_fuzz_random_mappings_never_raise_anything_but_one_line(data):
    text = yaml.safe_dump(data, sort_keys=False)
    scenario = _assert_clean(lambda: parse_scenario(text, source="fuzz.yaml"))
    if scenario is not None:
        assert parse_scenario(dump_resolved(scenario)) == scenario


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80),
       overrides=st.lists(st.text(st.sampled_from("seed=.link[]0 rate_mbps:{}-1x,\"'"),
                                  max_size=20), max_size=2))
def test_fuzz_random_text_and_overrides(text, overrides):
    _assert_clean(lambda: parse_scenario(text, source="fuzz.yaml", overrides=overrides))


# ---------------------------------------------------------------------------
# hostile input: every file, however made, is a Scenario or one line, quickly
# ---------------------------------------------------------------------------

def _laughs(indent: str = "") -> str:
    """A "billion laughs" document: nine levels of ten aliases, 10^9 values expanded."""
    lines = [f'{indent}lol0: &l0 "lol"']
    lines += [f"{indent}lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


ALIAS_BOMBS = {
    "top level": _laughs(),
    "policy.params": "seed: 1\npolicy:\n  params:\n" + _laughs("    "),
    "merge keys": "policy:\n  params:\n    m0: &m0 {a0: 1, b0: 2}\n" + "".join(
        f"    m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], a{i}: 1}}\n" for i in range(1, 40)),
}


def timed_error(call) -> tuple[str, float]:
    """The one-line message of ``call()`` (an InputError) and how long it took to come."""
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        call()
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message, message
    return message, elapsed


def cli_error(capsys, *args: str) -> tuple[str, float]:
    """Run ``spaceverse ARGS``; check exit status 2 and one ``error:`` line; time it."""
    from simulator.cli import main

    with pytest.raises(SystemExit):  # a first call imports what the commands need, untimed
        main(["validate", str(Path(os.devnull).with_name("no-such-scenario.yaml"))])
    capsys.readouterr()
    start = time.perf_counter()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert info.value.code == 2, (out, err)
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    return err.strip(), elapsed


@pytest.mark.parametrize("text", ALIAS_BOMBS.values(), ids=ALIAS_BOMBS.keys())
def test_alias_bombs_are_refused_at_the_alias_within_a_second(tmp_path, text):
    message, elapsed = timed_error(lambda: parse_scenario(text, source="bomb.yaml"))
    assert elapsed < 1.0, elapsed
    assert re.match(r"bomb\.yaml:\d+: the alias \*\w+ makes the document expand to more than "
                    r"100,000 values", message), message
    line = int(message.split(":")[1])
    assert "*" in text.splitlines()[line - 1]  # the line of the alias that crossed the limit


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("text", ALIAS_BOMBS.values(), ids=ALIAS_BOMBS.keys())
def test_alias_bombs_through_the_command_line(tmp_path, capsys, command, text):
    path = write(tmp_path, text, "bomb.yaml")
    message, elapsed = cli_error(capsys, command, str(path))
    assert elapsed < 1.0, elapsed
    assert message.startswith(f"error: {path}:") and "more than 100,000 values" in message


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_50_mb_scenario_is_refused_before_it_is_read(tmp_path, capsys, command):
    path = write(tmp_path, "name: big\n", "big.yaml")
    os.truncate(path, 50_000_000)
    message, elapsed = cli_error(capsys, command, str(path))
    assert elapsed < 1.0, elapsed
    assert message == (f"error: {path}: the file is 50.0 MB, more than the 1 MB a scenario "
                       f"file may have (a scenario is a few KB; is this the right file?)")
    message, elapsed = timed_error(lambda: parse_scenario("#" * 2_000_000, source="s.yaml"))
    assert message.startswith("s.yaml: 2,000,000 characters, more than the 1,000,000")


def test_sweep_files_share_the_limits(tmp_path):
    from simulator.sweep import load_sweep, parse_sweep

    message, elapsed = timed_error(lambda: parse_sweep(
        "base: s.yaml\naxes:\n  seed: [1, 2]\n" + _laughs(), source="bomb-sweep.yaml"))
    assert elapsed < 1.0 and "bomb-sweep.yaml:" in message and "100,000 values" in message
    path = write(tmp_path, "base: s.yaml\n", "big-sweep.yaml")
    os.truncate(path, 50_000_000)
    message, elapsed = timed_error(lambda: load_sweep(path))
    assert elapsed < 1.0 and message.startswith(f"{path}: the file is 50.0 MB, more than the "
                                                f"1 MB a sweep file may have")


def test_expanded_python_data_is_refused_before_validation():
    # Aliases become shared Python objects; validation would walk all 10^9 of them.
    from simulator import config

    bomb: list = ["lol"]
    for _ in range(9):
        bomb = [bomb] * 10
    message, elapsed = timed_error(lambda: config._build(
        {"policy": {"params": {"x": bomb}}}, "x.yaml", {}, [], None, None))
    assert elapsed < 1.0 and message == ("x.yaml: the settings expand to more than 100,000 "
                                         "values (limit of a settings file)")
    cycle: dict = {}
    cycle["self"] = cycle
    message, _ = timed_error(lambda: config._build({"policy": {"params": cycle}}, "x.yaml", {},
                                                   [], None, None))
    assert "contain themselves" in message


def test_the_line_map_indexes_each_node_once():
    text = "policy:\n  params:\n" + "".join(
        f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 4) if i else '1, 2'}]\n" for i in range(7))
    scenario = parse_scenario(text, source="x.yaml")
    lines = scenario._lines
    assert len(lines._tables) < 20  # one table per written list/mapping, not per expansion
    assert scenario.location(("policy", "params", "a6", 3, 2, 1, 0, 1, 0, 1)) == "x.yaml:3"
    assert scenario.location("policy.params.a2") == "x.yaml:5"


# --- merge keys ------------------------------------------------------------

MERGED = """\
compute:
  satellite:
    overrides: &speed {prefill_tokens_per_s: 900, decode_tokens_per_s: 20}
  ground:
    overrides:
      <<: *speed
      decode_tokens_per_s: 40
"""


def test_merge_keys_follow_yaml_merge_semantics(tmp_path):
    s = load_scenario(write(tmp_path, MERGED))
    assert s.compute.ground.overrides == {"prefill_tokens_per_s": 900, "decode_tokens_per_s": 40}
    assert s.compute.satellite.overrides["decode_tokens_per_s"] == 20
    # an explicit key keeps its own line; a merged one points where it is written
    assert s.location("compute.ground.overrides.decode_tokens_per_s").endswith(":7")
    assert s.location("compute.ground.overrides.prefill_tokens_per_s").endswith(":3")
    # a list of merges: explicit keys win, then the earlier mapping over the later
    s = parse_scenario("policy:\n  params:\n    a: &a {x: 1, y: 1}\n    b: &b {x: 2, z: 2}\n"
                       "    c:\n      y: 3\n      <<: [*a, *b]\n")
    assert s.policy.params["c"] == {"x": 1, "y": 3, "z": 2}
    assert list(s.policy.params["c"]) == ["y", "x", "z"]  # written order, merges in place


def test_a_real_duplicate_key_is_still_reported_next_to_a_merge(tmp_path):
    message = error_of(tmp_path, "policy:\n  params:\n    a: &a {x: 1}\n    c:\n      <<: *a\n"
                                 "      y: 3\n      y: 4\n")
    assert message == f"{tmp_path}/bad.yaml:7: policy.params.c.y: duplicate key (first given " \
                      f"on line 6)"
    message = error_of(tmp_path, "link: &l {rate_mbps: 3}\nbuffer:\n  <<: 3\n")
    assert message.startswith(f"{tmp_path}/bad.yaml:3: expected a mapping or list of mappings "
                              f"for merging")


# --- keys as written --------------------------------------------------------

@pytest.mark.parametrize("key", ["null", "~", "7", "true", "0x1F", "2026-06-14", "1.5"])
def test_non_text_keys_are_unknown_keys_at_their_line(tmp_path, key):
    message = error_of(tmp_path, f"name: x\nlink:\n  rate_mbps: 3\n  {key}: 1\n")
    assert message.startswith(f"{tmp_path}/bad.yaml:4: link.{key}: unknown key"), message
    message = error_of(tmp_path, f"name: x\n{key}: 1\n")
    assert message.startswith(f"{tmp_path}/bad.yaml:2: {key}: unknown key"), message


def test_keys_of_free_parameters_are_text():
    params = parse_scenario("policy:\n  params: {7: a, null: b, true: c}\n").policy.params
    assert params == {"7": "a", "null": "b", "true": "c"}
    s = parse_scenario("policy:\n  params: {7: a}\n", overrides=["policy.params.7=b"])
    assert s.policy.params == {"7": "b"}


# --- sizes have upper bounds ---------------------------------------------------

SIZE_BOUNDS = [
    ("compute:\n  satellite:\n    slots: 1000000000000\n", 3, "compute.satellite.slots",
     "must be <= 10000, got 1000000000000"),
    ("compute:\n  ground:\n    gpus: 1000000000000\n", 3, "compute.ground.gpus",
     "must be <= 10000"),
    ("ground_stations:\n  - name: Shanghai\n    antennas: 5000000\n", 3,
     "ground_stations[0].antennas", "must be <= 1000"),
    ("workload:\n  samples: 1000000000\n", 2, "workload.samples", "must be <= 10000000"),
    ("output:\n  run_id: " + "r" * 300 + "\n", 2, "output.run_id",
     "is too long (300): at most 120 characters"),
    ("output:\n  run_id: 'my run'\n", 2, "output.run_id", "plain folder name"),
    ("constellation:\n  walker: {altitude_km: 550, inclination_deg: 53, planes: 1000,\n"
     "            per_plane: 1000}\n", 3, "constellation.walker.per_plane",
     "planes x per_plane = 1000 x 1000 = 1,000,000 satellites, more than 20,000"),
    ("constellation:\n  catalog: starlink\n  select: {count: 1000000}\n", 3,
     "constellation.select.count", "must be <= 20000"),
    ("time: {duration_h: 720}\nconstellation:\n  walker: {altitude_km: 550, inclination_deg: 53,"
     " planes: 100, per_plane: 100}\nworkload:\n  rate_per_satellite_h: 1000\n", 5,
     "workload.rate_per_satellite_h", "1000 captures/h x 10,000 satellites x 720 h = "
     "7,200,000,000 samples, more than 10,000,000 per run"),
    ("constellation:\n  catalog: starlink\n  select: {count: 10}\nworkload:\n"
     "  rate_per_satellite_h: 100000\n", 5, "workload.rate_per_satellite_h",
     "= 24,000,000 samples, more than 10,000,000"),
    ("link:\n  transport: {receive_window_bytes: 99999999999}\n", 2,
     "link.transport.receive_window_bytes", "must be <= 1073741824"),
    ("buffer: {capacity_mb: 1e300}\n", 1, "buffer.capacity_mb", "must be <= 1000000000"),
    ("output:\n  dir: " + "d" * 300 + "\n", 2, "output.dir",
     "each part of a path has at most 255 bytes"),
    ("time:\n  start: 9999-12-31T23:59:59-01:00\n", 2, "time.start",
     "must lie between 1900-01-01 and 2200-01-01"),
]


@pytest.mark.parametrize("text, line, field, words", SIZE_BOUNDS,
                         ids=[case[2] for case in SIZE_BOUNDS])
def test_every_size_has_an_upper_bound(tmp_path, text, line, field, words):
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path}/bad.yaml:{line}: {field}: "), message
    assert words in message, message


def test_generous_bounds_still_allow_real_use():
    s = parse_scenario("compute: {satellite: {slots: 16}, ground: {gpus: 64}}\n"
                       "ground_stations: [{name: Shanghai, antennas: 40}]\n"
                       "constellation:\n  walker: {altitude_km: 550, inclination_deg: 53, "
                       "planes: 72, per_plane: 22}\n"
                       "workload: {rate_per_satellite_h: 60}\n"
                       "output: {run_id: paper-default-v2_3.1}\n")
    assert s.constellation.walker.size == 1584 and s.run_id == "paper-default-v2_3.1"
    # a whole catalog: the satellite count is known only when the run starts
    assert parse_scenario("workload: {rate_per_satellite_h: 1000}\n"
                          "constellation: {catalog: starlink}").workload.rate_per_satellite_h


# --- everything else a hostile file can hold -----------------------------------

HOSTILE_TEXT = [
    # (id, text, line or None, words)
    ("deep lists", "policy:\n  params:\n    x: " + "[" * 5000 + "]" * 5000 + "\n", 3,
     "nest more than 64 levels deep"),
    ("deep mappings", "policy:\n  params:\n    x: " + "{a: " * 3000 + "1" + "}" * 3000, 3,
     "nest more than 64 levels deep"),
    ("deep block mappings", "policy:\n  params:\n" + "".join(
        "  " * (i + 2) + f"k{i}:\n" for i in range(200)), 64, "nest more than 64 levels deep"),
    ("recursive alias", "policy:\n  params: &p\n    x: *p\n", 3, "refers to a mapping or list "
                                                             "that contains it"),
    ("huge integer", "seed: 1" + "0" * 5000 + "\n", 1, "an integer of 5,001 characters"),
    ("huge hex integer", "policy: {params: {x: 0x" + "f" * 20000 + "}}\n", 1, "too large"),
    ("65-bit integer", "seed: 36893488147419103232\n", 1, "fit in 64 bits"),
    ("sexagesimal integer", "seed: " + ":".join(["59"] * 60) + "\n", 1, "too large"),
    ("nan", "link: {rate_mbps: .nan}\n", 1, "link.rate_mbps: expected a finite number"),
    ("inf", "time:\n  duration_h: .inf\n", 2, "time.duration_h: "),
    ("nan in overrides", "compute: {ground: {overrides: {prefill: .nan}}}\n", 1, "finite"),
    ("control character", "name: a\x1bb\n", 1, "character #x001b is not allowed"),
    ("escaped control character in a key", '"\\e[2J": 1\n', 1, "\\x1b[2J: unknown key"),
    ("NUL in a path", 'output: {dir: "a\\0b"}\n', 1, "output.dir: a path cannot hold the "
                                                    "control character '\\x00'"),
    ("surrogate", 'name: "\\ud800"\n', 1, "half of a UTF-16 surrogate pair"),
    ("tab indent", "link:\n\trate_mbps: 3\n", 2, "not tabs"),
    ("top-level scalar", "42\n", 1, "expected a mapping of settings at the top level"),
    ("top-level text", "just: text: here\n", 1, "YAML syntax error"),
    ("top-level list", "- a\n", 1, "expected a mapping of settings"),
    ("python object", "name: !!python/object/apply:os.system ['echo hi']\n", 1,
     "unknown YAML tag !!python/object/apply:os.system"),
    ("python name", "seed: !!python/name:os.system\n", 1, "unknown YAML tag"),
    ("binary", "policy: {params: {x: !!binary /w==}}\n", 1, "the tag !!binary is not used"),
    ("set", "policy: {params: !!set {a, b}}\n", 1, "the tag !!set is not used"),
    ("omap", "ground_stations: !!omap [{a: 1}]\n", 1, "the tag !!omap is not used"),
    ("bad explicit int", "seed: !!int abc\n", 1, "'abc' is not an integer"),
    ("empty explicit int", "seed: !!int ''\n", 1, "'' is not an integer"),
    ("bad explicit bool", "link: {propagation_delay: !!bool maybe}\n", 1, "not true or false"),
    ("bad explicit float", "link: {rate_mbps: !!float fast}\n", 1, "'fast' is not a number"),
    ("bad explicit date", "time: {start: !!timestamp tomorrow}\n", 1, "not a valid date"),
    ("impossible date", "time:\n  start: 2026-13-45\n", 2, "not a valid date"),
    ("list as key", "[1, 2]: 3\n", 1, "a key must be a plain name, not a list"),
    ("mapping as key", "link:\n  ? {a: 1}\n  : 3\n", 2, "a key must be a plain name, not a "
                                                        "mapping"),
    ("long key", "name: x\n? " + "k" * 900_000 + "\n: 1\n", 2, "kkkk...: unknown key"),
    ("long simple key", "name: x\n" + "k" * 900_000 + ": 1\n", 2, "could not find expected"),
    ("long value", "link: {rate_mbps: " + "9" * 50 + "x" * 900_000 + "}\n", 1,
     "expected a number, got '99999"),
    ("long choice", "link: {model: " + "k" * 900_000 + "}\n", 1,
     "expected one of: constant, trace, budget; got 'kkkk"),
]


@pytest.mark.parametrize("text, line, words", [case[1:] for case in HOSTILE_TEXT],
                         ids=[case[0] for case in HOSTILE_TEXT])
def test_hostile_text_is_one_line_at_its_line(tmp_path, text, line, words):
    message, elapsed = timed_error(lambda: load_scenario(write(tmp_path, text, "bad.yaml")))
    assert elapsed < 5.0, elapsed
    where = f"{tmp_path}/bad.yaml" + (f":{line}" if line else "")
    assert message.startswith(f"{where}: "), message
    assert words in message, message
    assert len(message) < 400, len(message)


def test_python_tags_never_construct(tmp_path):
    marker = tmp_path / "constructed"
    for tag in ["!!python/object/apply:os.system", "!!python/object/new:os.system"]:
        error_of(tmp_path, f"name: {tag} ['touch {marker}']\n")
        error_of(tmp_path, "seed: 1\n", [f"name={tag} ['touch {marker}']"])
    assert not marker.exists()


@pytest.mark.parametrize("raw, words", [
    (b"name: x\ndescription: caf\xe9\n", ":2: not UTF-8 text (byte 0xe9)"),
    (b"\xff\xfen\x00a\x00m\x00e\x00", ":1: not UTF-8 text (byte 0xff)"),  # UTF-16
    (b"name: x\n\x00\n", ":2: YAML syntax error: character #x0000 is not allowed"),
])
def test_bytes_that_are_not_scenario_text(tmp_path, raw, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(raw)
    message, _ = timed_error(lambda: load_scenario(path))
    assert message.startswith(str(path)) and words in message, message


def test_a_bom_is_fine(tmp_path):
    assert parse_scenario("\ufeffseed: 3\n").seed == 3
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfseed: 4\n")
    assert load_scenario(path).seed == 4


@pytest.mark.parametrize("override, words", [
    ("policy.params.x=" + _laughs().replace("\n", ", ").join("{}"), "more than 100,000 values"),
    ("seed=1" + "0" * 5000, "an integer of 5,001 characters"),
    ("seed=!!python/object/apply:os.system [ls]", "unknown YAML tag !!python/object/apply"),
    (".".join(["a"] * 100) + "=1", "the key has 100 parts, more than the 64"),
    ("policy.params.x=" + "[" * 100 + "]" * 100, "nest more than 64 levels deep"),
    ("link.²=1", "link.²: unknown key"),
    ("name=\x1b[2J", "character #x001b is not allowed"),
])
def test_hostile_overrides_are_one_line(tmp_path, override, words):
    message, elapsed = timed_error(lambda: load_scenario(write(tmp_path, "seed: 1\n"),
                                                         [override]))
    assert elapsed < 1.0 and words in message and len(message) < 400, message


@pytest.mark.parametrize("text", [case[1] for case in HOSTILE_TEXT[:8]] + [
    "name: !!python/object/apply:os.system ['echo hi']\n", "42\n", "[1, 2]: 3\n",
    "output:\n  run_id: " + "r" * 300 + "\n"],
    ids=[case[0] for case in HOSTILE_TEXT[:8]] + ["python tag", "scalar", "list key",
                                                   "long run id"])
def test_hostile_files_through_the_command_line(tmp_path, capsys, text):
    path = write(tmp_path, text, "bad.yaml")
    message, _ = cli_error(capsys, "validate", str(path))
    assert message.startswith(f"error: {path}:"), message
    path.write_bytes(b"name: caf\xe9\n")
    message, _ = cli_error(capsys, "run", str(path), "--set", "seed=1")
    assert message == f"error: {path}:1: not UTF-8 text (byte 0xe9); save the scenario file " \
                      f"as UTF-8"


def test_the_package_keeps_every_name_other_modules_use():
    import simulator.config as config

    missing = [name for name in config.__all__ if not hasattr(config, name)]
    shared = ["_read_yaml", "_build", "_message", "_FieldProblem", "_show", "_kind_of",
              "_one_line", "_parse_field_path", "_format_path", "_where", "_combine", "_Loader",
              "_Dumper", "_Model", "_all_field_paths", "_read_source_text"]
    missing += [name for name in shared if not hasattr(config, name)]
    assert not missing, missing
    assert f"{ScenarioError.__module__}.{ScenarioError.__qualname__}" == \
        "simulator.config.ScenarioError"


# ---------------------------------------------------------------------------
# base: a scenario that starts from another one
# ---------------------------------------------------------------------------

ROOT_BASE = """\
name: root
seed: 1
link:
  model: constant
  rate_mbps: 80
  availability: always
ground_stations:
  - Shanghai
  - "Svalbard (ksat)"
policy:
  allocation: spaceverse
  params:
    stages: 2
    tau: [0.5, 0.4]
  compression: {method: multi-scale, params: {alpha: 0.35}}
time: {start: null, duration_h: 6}
"""


def test_base_merges_mappings_and_replaces_lists_and_scalars(tmp_path):
    write(tmp_path, ROOT_BASE, "root.yaml")
    s = load_scenario(write(tmp_path, "base: root.yaml\nname: derived\nlink:\n  rate_mbps: 50\n"
                                      "ground_stations: [Shanghai]\n"
                                      "policy:\n  params:\n    tau: [0.6]\n", "derived.yaml"))
    assert (s.name, s.seed) == ("derived", 1)
    assert (s.link.model, s.link.rate_mbps, s.link.availability) == ("constant", 50, "always")
    assert [g.name for g in s.ground_stations] == ["Shanghai"]          # lists replace
    assert s.policy.params == {"stages": 2, "tau": [0.6]}              # mappings merge
    assert (s.policy.allocation, s.policy.compression.params) == ("spaceverse", {"alpha": 0.35})
    assert s.time.duration_h == 6 and s.time.start is None              # the root's null: a value
    assert s.bases == ((tmp_path / "root.yaml").resolve(),)
    assert load_scenario(tmp_path / "root.yaml").bases == ()


def test_base_null_drops_the_inherited_value(tmp_path):
    write(tmp_path, ROOT_BASE, "root.yaml")
    s = load_scenario(write(tmp_path, "base: root.yaml\npolicy:\n  allocation: ground-only\n"
                                      "  params: null\n  compression: null\nlink:\n"
                                      "  availability: null\nground_stations: null\n"))
    assert s.policy.params == {} and s.policy.compression.method == "none"
    assert s.link.availability == "orbital" and s.link.rate_mbps == 80
    assert [g.name for g in s.ground_stations] == ["Shanghai"]         # back to the default
    # swapping the paper's catalog for a Walker shell: catalog: null (and select: null)
    default = SCENARIOS / "default.yaml"
    walker = load_scenario(write(tmp_path, f"base: {default}\nconstellation:\n  catalog: null\n"
                                           "  select: null\n  walker: {altitude_km: 550, "
                                           "inclination_deg: 53, planes: 6, per_plane: 5}\n"))
    assert walker.constellation.kind == "walker" and walker.constellation.select is None
    assert walker.policy.allocation == "spaceverse"                     # the paper's policy kept
    message = error_of(tmp_path, f"base: {default}\nconstellation:\n  walker: {{altitude_km: "
                                 f"550, inclination_deg: 53, planes: 6, per_plane: 5}}\n")
    assert message.startswith(f"{tmp_path / 'bad.yaml'}:3: constellation.walker: cannot be "
                              f"combined with constellation.catalog") and "catalog: null" in message


def test_base_chain_each_relative_to_its_own_file(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    write(tmp_path, ROOT_BASE, "root.yaml")
    write(tmp_path / "a", "base: ../root.yaml\nname: mid\nseed: 2\nlink: {rate_mbps: 60}\n",
          "mid.yaml")
    path = write(tmp_path / "a" / "b", "base: ../mid.yaml\nname: leaf\nlink: {model: trace}\n",
                 "leaf.yaml")
    s = load_scenario(path)
    assert (s.name, s.seed, s.link.model, s.link.rate_mbps, s.link.availability) == \
        ("leaf", 2, "trace", 60, "always")
    assert s.bases == ((tmp_path / "a" / "mid.yaml").resolve(), (tmp_path / "root.yaml").resolve())
    # each value is located in the file that wrote it
    assert s.location("link.model") == f"{path}:3"
    assert s.location("link.rate_mbps") == f"{os.path.normpath(path.parent / '../mid.yaml')}:4"
    assert s.location("policy.params.tau").startswith(
        f"{os.path.normpath(path.parent / '../../root.yaml')}:14")
    assert s.location("seed").endswith("mid.yaml:3") and s.location("name") == f"{path}:2"
    # parse_scenario takes base relative to base_dir
    t = parse_scenario("base: a/mid.yaml\n", source="t.yaml", base_dir=tmp_path)
    assert (t.name, t.seed) == ("mid", 2)


def test_base_errors_point_at_the_file_and_line_that_wrote_the_value(tmp_path):
    write(tmp_path, "name: root\nlink:\n  rate_mbps: -3\nbuffer: {capacity_mb: 5}\n"
                    "sead: 2\n", "root.yaml")
    message = error_of(tmp_path, "base: root.yaml\nbuffer:\n  capacity_mb: 0\n")
    root, bad = tmp_path / "root.yaml", tmp_path / "bad.yaml"
    assert f"{root}:3: link.rate_mbps: must be > 0, got -3" in message
    assert f"{bad}:3: buffer.capacity_mb: must be > 0, got 0" in message
    assert f"{root}:5: sead: unknown key (did you mean 'seed'?)" in message
    # an override hides the base's bad value; a missing key is reported at the mapping's line
    message = error_of(tmp_path, "base: root.yaml\nsead: null\nlink: {rate_mbps: 7}\n"
                                 "constellation:\n  catalog: null\n  select: null\n"
                                 "  walker: {altitude_km: 550}\n")
    assert message.startswith(f"{bad}:7: constellation.walker.inclination_deg: required field "
                              f"is missing"), message
    assert "rate_mbps" not in message and "sead" not in message
    # the base's own syntax errors name the base
    write(tmp_path, "name: [broken\n", "broken.yaml")
    assert error_of(tmp_path, "base: broken.yaml\n").startswith(
        f"{tmp_path / 'broken.yaml'}:2: YAML syntax error")
    # later stages point the same way (scenario.input_error)
    write(tmp_path, "ground_stations: [Shanghai, Shangai]\n", "typo.yaml")
    s = load_scenario(write(tmp_path, "base: typo.yaml\nseed: 3\n"))
    assert str(s.input_error("ground_stations[1].name", "unknown station")) == \
        f"{tmp_path / 'typo.yaml'}:1: ground_stations[1].name: unknown station"


def test_base_cycles_and_chains_too_long_are_refused(tmp_path):
    message = error_of(tmp_path, "seed: 1\nbase: bad.yaml\n")
    assert message == (f"{tmp_path / 'bad.yaml'}:2: base: 'bad.yaml' makes a cycle: "
                       f"{tmp_path / 'bad.yaml'} -> {tmp_path / 'bad.yaml'} (a scenario cannot "
                       f"start from itself)")
    write(tmp_path, "base: b.yaml\n", "a.yaml")
    write(tmp_path, "seed: 2\nbase: a.yaml\n", "b.yaml")
    message = error_of(tmp_path, "base: a.yaml\n", name="c.yaml")
    c, a, b = (tmp_path / n for n in ("c.yaml", "a.yaml", "b.yaml"))
    assert message == (f"{b}:2: base: 'a.yaml' makes a cycle: {c} -> {a} -> {b} -> {a} "
                       f"(a scenario cannot start from itself)")
    from simulator.config import MAX_BASE_DEPTH
    write(tmp_path, "seed: 0\n", "f0.yaml")
    for i in range(1, MAX_BASE_DEPTH + 2):
        write(tmp_path, f"base: f{i - 1}.yaml\nseed: {i}\n", f"f{i}.yaml")
    assert load_scenario(tmp_path / f"f{MAX_BASE_DEPTH}.yaml").seed == MAX_BASE_DEPTH
    message = error_of(tmp_path, f"base: f{MAX_BASE_DEPTH + 1}.yaml\n")
    f2, f3 = tmp_path / "f2.yaml", tmp_path / "f3.yaml"   # bad.yaml -> f9 -> ... -> f2: 8 bases
    assert message == (f"{f2}:1: base: more than {MAX_BASE_DEPTH} base files in a chain "
                       f"({tmp_path / 'bad.yaml'} -> ... -> {f3} -> {f2} -> f1.yaml); merge some "
                       f"of them into one file"), message


@pytest.mark.parametrize("text, words", [
    ("base: null\n", "1: base: expected the path of a scenario file to start from (e.g. base: "
                     "default.yaml), got null"),
    ("base: [a.yaml]\n", "1: base: expected the path of a scenario file"),
    ("base: ''\n", "1: base: expected the path of a scenario file to start from (e.g. base: "
                   "default.yaml), got empty text"),
    ("seed: 1\nbase: defualt.yaml\n", "2: base: no such scenario file 'defualt.yaml' (did you "
                                      "mean 'default.yaml'?)"),
    ("base: nothing-like-it.yaml\n", "1: base: no such scenario file 'nothing-like-it.yaml' "
                                     "(looked for "),
    ("base: sub\n", "1: base: 'sub' is a folder, expected a scenario file"),
    ("base: /dev/null\n", "1: base: '/dev/null' is not a regular file"),
    ("link:\n  base: default.yaml\n", "2: link.base: unknown key here (base: FILE, the scenario "
                                      "to start from, belongs at the top level)"),
    ("bases: default.yaml\n", "1: bases: unknown key (did you mean 'base'?)"),
])
def test_base_mistakes_are_one_line_at_the_base_key(tmp_path, text, words):
    write(tmp_path, "seed: 1\n", "default.yaml")
    (tmp_path / "sub").mkdir()
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'bad.yaml'}:{words}"), message


def test_base_files_have_the_limits_of_every_settings_file(tmp_path):
    write(tmp_path, _laughs(), "bomb.yaml")
    message, elapsed = timed_error(lambda: load_scenario(write(tmp_path, "base: bomb.yaml\n")))
    assert elapsed < 1.0 and message.startswith(f"{tmp_path / 'bomb.yaml'}:") \
        and "more than 100,000 values" in message, message
    os.truncate(write(tmp_path, "seed: 1\n", "big.yaml"), 50_000_000)
    message, elapsed = timed_error(lambda: load_scenario(write(tmp_path, "base: big.yaml\n")))
    assert elapsed < 1.0 and message.startswith(f"{tmp_path / 'big.yaml'}: the file is 50.0 MB")
    write(tmp_path, "policy:\n  params:\n    x: " + "[" * 80 + "]" * 80 + "\n", "deep.yaml")
    message, _ = timed_error(lambda: load_scenario(write(tmp_path, "base: deep.yaml\n")))
    assert message.startswith(f"{tmp_path / 'deep.yaml'}:3:") and "64 levels" in message
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    message, _ = timed_error(lambda: load_scenario(write(tmp_path, "base: latin1.yaml\n")))
    assert message.startswith(f"{tmp_path / 'latin1.yaml'}:1: not UTF-8 text")


def test_base_hash_resolved_dump_and_round_trip(tmp_path):
    default = load_scenario(SCENARIOS / "default.yaml")
    same = load_scenario(write(tmp_path, f"base: {SCENARIOS / 'default.yaml'}\n"
                                         f"description: other words\noutput: {{dir: x}}\n"))
    assert same == default.model_copy(update={"description": "other words",
                                              "output": same.output})
    assert scenario_hash(same) == scenario_hash(default) and same.run_id == default.run_id
    changed = load_scenario(write(tmp_path, f"base: {SCENARIOS / 'default.yaml'}\nseed: 2\n"))
    assert scenario_hash(changed) != scenario_hash(default)
    assert scenario_hash(changed) == scenario_hash(load_scenario(SCENARIOS / "default.yaml",
                                                                 ["seed=2"]))
    text = dump_resolved(changed)
    body = yaml.safe_load(text)
    assert "base" not in body and body["policy"]["allocation"] == "spaceverse"
    assert f"over {(SCENARIOS / 'default.yaml').resolve()}" in text.splitlines()[1]
    again = parse_scenario(text)
    assert again == changed and scenario_hash(again) == scenario_hash(changed)


def test_set_applies_after_the_merge(tmp_path):
    write(tmp_path, ROOT_BASE, "root.yaml")
    path = write(tmp_path, "base: root.yaml\nlink: {rate_mbps: 50}\n")
    s = load_scenario(path, ["link.rate_mbps=40", "policy.params.stages=3", "seed=9",
                             "ground_stations.1.antennas=2"])
    assert (s.link.rate_mbps, s.seed, s.link.availability) == (40, 9, "always")
    assert s.policy.params == {"stages": 3, "tau": [0.5, 0.4]}
    assert s.ground_stations[1].antennas == 2 and s.ground_stations[0].name == "Shanghai"
    assert s.location("link.rate_mbps") == f"{path} (from --set)"
    assert s.location("link.model") == f"{tmp_path / 'root.yaml'}:4"
    assert error_of(tmp_path, "base: root.yaml\n", ["policy.params.stages=0", "seed=-1"]) == \
        f"{tmp_path / 'bad.yaml'} (from --set): seed: must be >= 0, got -1"
    assert "base: the base scenario is named in the scenario file" in \
        error_of(tmp_path, "seed: 1\n", ["base=root.yaml"])
    # apply_overrides keeps where every value came from, and the base files
    t = apply_overrides(s, ["link.availability=orbital"])
    assert t.location("link.model") == f"{tmp_path / 'root.yaml'}:4" and t.bases == s.bases
    assert str(t.input_error("policy.params.tau", "bad")) == \
        f"{tmp_path / 'root.yaml'}:14: policy.params.tau: bad"
    assert t.location("link.availability") == f"{path} (from --set)"


def test_relative_paths_in_a_base_are_looked_up_next_to_it(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "shared" / "stations.csv").write_text("name,lat_deg,lon_deg\n", encoding="utf-8")
    write(tmp_path / "shared", "stations_catalog: stations.csv\nlink:\n  model: trace\n"
                               "  trace: {file: starlink-autobahn-2024-04-19}\n", "base.yaml")
    s = load_scenario(write(tmp_path / "mine", "base: ../shared/base.yaml\n"))
    assert s.stations_catalog == str((tmp_path / "shared" / "stations.csv").resolve())
    assert s.link.trace.file == "starlink-autobahn-2024-04-19"      # a bundled name, as written
    assert s.workload.trace == "synthetic"


def test_chain_line_map_is_a_consistent_picklable_mapping(tmp_path):
    import pickle

    write(tmp_path, ROOT_BASE, "root.yaml")
    s = load_scenario(write(tmp_path, "base: root.yaml\nlink: {rate_mbps: 50}\n"
                                      "ground_stations: [Shanghai]\n"))
    lines = s._lines
    paths = list(lines)
    assert len(paths) == len(set(paths)) == len(lines)
    assert all(lines[p] >= 1 for p in paths)
    assert ("ground_stations", 0) in lines and ("ground_stations", 1) not in lines
    assert ("link", "availability") in lines and ("link", "nope") not in lines
    again = pickle.loads(pickle.dumps(s))
    assert again.location("link.availability") == s.location("link.availability") == \
        f"{tmp_path / 'root.yaml'}:6"


def test_a_sweep_whose_base_scenario_uses_base(tmp_path):
    from simulator.sweep import SweepError, load_sweep

    write(tmp_path, ROOT_BASE, "root.yaml")
    write(tmp_path, "base: root.yaml\nname: mid\nlink: {rate_mbps: 60}\n", "mid.yaml")
    sweep = load_sweep(write(tmp_path, "base: mid.yaml\nset: [time.duration_h=2]\naxes:\n"
                                       "  seed: [1, 2]\n", "sweep.yaml"))
    points = sweep.points()
    assert [(p.scenario.name, p.scenario.seed, p.scenario.link.rate_mbps,
             p.scenario.link.availability, p.scenario.time.duration_h) for p in points] == \
        [("mid", 1, 60, "always", 2), ("mid", 2, 60, "always", 2)]
    assert points[0].scenario.policy.params == {"stages": 2, "tau": [0.5, 0.4]}
    assert points[0].key == scenario_hash(load_scenario(tmp_path / "mid.yaml",
                                                        ["time.duration_h=2", "seed=1"]))
    # an axis value is reported at the sweep's line, an inherited one at the base's
    with pytest.raises(SweepError) as info:
        load_sweep(write(tmp_path, "base: mid.yaml\naxes:\n  link.rate_mbps: [5, -1]\n",
                         "sweep2.yaml"))
    assert str(info.value).startswith(f"{tmp_path / 'sweep2.yaml'}:3: axes.link.rate_mbps[1]")
    write(tmp_path, "base: root.yaml\nbuffer: {capacity_mb: 1}\ncompute:\n  ground:\n"
                    "    gpus: 0\n", "mid-bad.yaml")
    with pytest.raises(SweepError) as info:
        load_sweep(write(tmp_path, "base: mid-bad.yaml\naxes:\n  seed: [1, 2]\n", "sweep3.yaml"))
    assert str(info.value).startswith(f"{tmp_path / 'mid-bad.yaml'}:5: compute.ground.gpus")


def test_validate_command_takes_a_derived_file(tmp_path, capsys):
    from simulator.cli import main

    path = write(tmp_path, f"base: {SCENARIOS / 'small.yaml'}\nname: smaller\n"
                           f"constellation:\n  select: {{count: 2}}\n")
    with pytest.raises(SystemExit) as info:
        main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert info.value.code in (0, None), err
    assert f"{path}: valid" in out and "satellites 2" in out and "run id smaller-" in out


# ---------------------------------------------------------------------------
# select on a Walker shell
# ---------------------------------------------------------------------------

WALKER_24x12 = ("constellation:\n  walker: {altitude_km: 550, inclination_deg: 53, planes: 24, "
                "per_plane: 12}\n")


def walker_names(text: str, *overrides: str) -> list[str]:
    from simulator.engine.world import constellation_of

    orbits, _, _ = constellation_of(parse_scenario(text, overrides=list(overrides)))
    return [o.name for o in orbits]


def test_select_spreads_count_satellites_over_a_walker_shell():
    text = WALKER_24x12 + "  select: {count: 10, strategy: spread}\n"
    s = parse_scenario(text)
    assert s.constellation.kind == "walker" and s.constellation.select.count == 10
    names = walker_names(text)
    assert len(names) == len(set(names)) == 10
    planes = [int(re.search(r"-P(\d+)-", n).group(1)) for n in names]
    assert planes[0] == 0 and planes[-1] == 23 and len(set(planes)) == 10   # over the shell
    assert max(b - a for a, b in zip(planes, planes[1:])) <= 3
    assert names == walker_names(text)                                      # deterministic
    first = walker_names(WALKER_24x12 + "  select: {count: 3, strategy: first}\n")
    assert first == ["WALKER-550-P00-S00", "WALKER-550-P00-S01", "WALKER-550-P00-S02"]
    drawn = walker_names(WALKER_24x12 + "  select: {count: 5, strategy: random}\n")
    assert len(set(drawn)) == 5 and drawn == walker_names(
        WALKER_24x12 + "  select: {count: 5, strategy: random}\n")
    assert drawn != walker_names(WALKER_24x12 + "  select: {count: 5, strategy: random}\n",
                                 "seed=7")
    # filters that keep the shell keep all of it; no count = every satellite
    assert len(walker_names(WALKER_24x12 + "  select: {altitude_km: 560, inclination_deg: 53}\n")) \
        == 288


def test_select_spreads_in_shell_order_past_100_planes():
    text = ("constellation:\n  walker: {altitude_km: 550, inclination_deg: 53, planes: 120, "
            "per_plane: 1}\n  select: {count: 4, strategy: spread}\n")
    assert walker_names(text) == ["WALKER-550-P00-S00", "WALKER-550-P40-S00",
                                  "WALKER-550-P79-S00", "WALKER-550-P119-S00"]


@pytest.mark.parametrize("select, line, field, words", [
    ("{count: 300}", 3, "constellation.select.count",
     "300 satellites asked, the walker shell has 288 (24 planes x 12)"),
    ("{altitude_km: 600}", 3, "constellation.select.altitude_km",
     "the walker shell flies at 550 km, outside 600 +- 20 km, so no satellite would be kept"),
    ("{inclination_deg: 70, count: 3}", 3, "constellation.select.inclination_deg",
     "the walker shell is inclined 53 deg, outside 70 +- 0.5 deg"),
])
def test_select_that_a_walker_shell_cannot_meet_is_an_error_at_its_line(tmp_path, select, line,
                                                                        field, words):
    message = error_of(tmp_path, WALKER_24x12 + f"  select: {select}\n")
    assert message.startswith(f"{tmp_path / 'bad.yaml'}:{line}: {field}: {words}"), message


def test_walker_select_count_bounds_the_samples_a_rate_implies():
    text = ("time: {duration_h: 720}\nworkload: {rate_per_satellite_h: 1000}\nconstellation:\n"
            "  walker: {altitude_km: 550, inclination_deg: 53, planes: 100, per_plane: 100}\n")
    with pytest.raises(ScenarioError, match="x 10,000 satellites"):
        parse_scenario(text)
    assert parse_scenario(text + "  select: {count: 10}\n").constellation.select.count == 10


def test_paper_walker_starts_from_the_paper_setting():
    s = load_scenario(SCENARIOS / "paper-walker.yaml")
    default = load_scenario(SCENARIOS / "default.yaml")
    assert s.bases == ((SCENARIOS / "default.yaml").resolve(),)
    assert s.constellation.kind == "walker" and s.constellation.select == \
        default.constellation.select
    assert (s.policy, s.compute, s.link, s.workload) == \
        (default.policy, default.compute, default.link, default.workload)
    assert s.location("constellation.select.count").startswith(f"{SCENARIOS / 'default.yaml'}:")
    names = walker_names((SCENARIOS / "paper-walker.yaml").read_text(encoding="utf-8")
                         .replace("base: default.yaml", f"base: {SCENARIOS / 'default.yaml'}"))
    assert len(names) == 10 and len({n.split("-S")[0] for n in names}) == 10
