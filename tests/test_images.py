"""Bundled image sets (``models/images``) and their loaders."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from simulator import paths
from simulator.errors import InputError, SpaceverseError
from simulator.inference.images import (
    DEEPFOREST_PROMPT,
    SPACENET_PROMPT,
    ImageSample,
    images_dir,
    list_image_sets,
    load_image_set,
)

EXPECTED = {  # name -> (samples, task, total reference items)
    "choice-scene-classification": (20, "classification", 20),
    "spacenet-buildings": (1, "detection", 43),
    "deepforest-trees": (3, "detection", 61 + 37 + 279),
}


def provenance_rows() -> dict[str, tuple[int, str]]:
    """``{relative path: (bytes, sha256)}`` from the file table of PROVENANCE.md."""
    rows = {}
    for line in (images_dir() / "PROVENANCE.md").read_text().splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*(\d+)\s*\|\s*`([0-9a-f]{64})`\s*\|", line)
        if m:
            rows[m.group(1)] = (int(m.group(2)), m.group(3))
    return rows


def test_list_image_sets():
    sets = list_image_sets()
    assert set(sets) == set(EXPECTED)
    assert all(isinstance(d, str) and d for d in sets.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_set_loads(name):
    n_samples, task, n_refs = EXPECTED[name]
    samples = load_image_set(name)
    assert len(samples) == n_samples
    assert len({s.sample_id for s in samples}) == n_samples
    total = 0
    for s in samples:
        assert isinstance(s, ImageSample)
        assert s.task == task
        assert s.prompt.strip() and s.source.strip()
        assert s.reference
        assert s.path.is_file() and s.path.is_relative_to(images_dir())
        assert s.size_bytes == s.path.stat().st_size > 0
        with Image.open(s.path) as im:
            assert (s.width_px, s.height_px) == im.size
        if task == "detection":
            total += len(s.reference)
            for box in s.reference:
                x1, y1, x2, y2, label = box
                assert 0 <= x1 < x2 <= s.width_px, (s.sample_id, box)
                assert 0 <= y1 < y2 <= s.height_px, (s.sample_id, box)
                assert isinstance(label, str) and label
        else:
            total += 1
    assert total == n_refs


def test_image_is_lazy_and_matches_header():
    s = load_image_set("deepforest-trees")[0]
    assert s._image is None
    im = s.image
    assert im.size == (s.width_px, s.height_px) and im.mode == "RGB"
    assert s.image is im


def test_choice_reference_is_letter_and_option():
    samples = load_image_set("choice-scene-classification")
    items = json.loads((images_dir() / "choice_scene_classification" / "scene_classification.json").read_text())
    by_name = {Path(i["image_path"]).name: i for i in items}
    for s in samples:
        item = by_name[s.path.name]
        letter, label = s.reference
        assert letter == item["answer"] and s.prompt == item["question"]
        assert f"\n{letter}.{label}" in s.prompt
        assert (s.width_px, s.height_px) == (512, 512)
    assert samples[0].sample_id == "choice/80" and samples[0].reference == ("C", "airport")


def test_detection_prompts_and_labels():
    (sn,) = load_image_set("spacenet-buildings")
    assert sn.prompt == SPACENET_PROMPT and {b[4] for b in sn.reference} == {"building"}
    assert (sn.width_px, sn.height_px) == (900, 900)
    df = {s.sample_id: s for s in load_image_set("deepforest-trees")}
    assert all(s.prompt == DEEPFOREST_PROMPT for s in df.values())
    assert {b[4] for b in df["deepforest/SOAP_061"].reference} == {"Dead", "Alive"}
    assert {b[4] for b in df["deepforest/OSBS_029"].reference} == {"Tree"}


def test_spacenet_boxes_follow_from_geojson():
    """buildings_px.json is the geojson put through the recorded geotransform."""
    folder = images_dir() / "spacenet_solaris"
    ann = json.loads((folder / "buildings_px.json").read_text())
    gt = ann["geotransform"]
    feats = json.loads((folder / "geotiff_labels.geojson").read_text())["features"]
    assert len(feats) == len(ann["buildings"]) == 43
    for feat, b in zip(feats, ann["buildings"]):
        ring = feat["geometry"]["coordinates"][0]
        xs = [(x - gt["origin_easting_m"]) / gt["pixel_size_x_m"] for x, *_ in ring]
        ys = [(gt["origin_northing_m"] - y) / gt["pixel_size_y_m"] for _, y, *_ in ring]
        assert b["box_px"] == pytest.approx([min(xs), min(ys), max(xs), max(ys)], abs=2e-3)
        assert b["osm_id"] == feat["properties"]["osm_id"]


def test_files_match_provenance():
    rows = provenance_rows()
    on_disk = {p.relative_to(images_dir()).as_posix()
               for p in images_dir().rglob("*")
               if p.is_file() and p.name != "PROVENANCE.md" and "__pycache__" not in p.parts}
    assert set(rows) == on_disk
    for rel, (size, sha) in rows.items():
        data = (images_dir() / rel).read_bytes()
        assert len(data) == size, rel
        assert hashlib.sha256(data).hexdigest() == sha, rel
    assert sum(size for size, _ in rows.values()) < 15_000_000


def test_unknown_set_name():
    with pytest.raises(InputError, match=r"unknown image set 'spacenet'.*did you mean 'spacenet-buildings'"):
        load_image_set("spacenet")
    with pytest.raises(SpaceverseError, match="known: choice-scene-classification"):
        load_image_set("nope")
    # names are normalised like the other registries
    assert len(load_image_set("DeepForest_Trees")) == 3


def test_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACEVERSE_HOME", str(tmp_path))
    assert paths.project_root() == tmp_path
    with pytest.raises(InputError, match="not found"):
        load_image_set("deepforest-trees")
