"""Converters of recorded predictions, on tiny hand-made inputs; and the shipped traces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.converters import (
    CONVERTERS,
    IMAGE_SPECS,
    align_rsvqa,
    build,
    convert,
    estimate_tokens,
    output_tokens,
    summarise,
)
from simulator.inference.traces import bundled_traces_dir, list_traces, read_trace


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- tokens


def test_token_estimates():
    assert estimate_tokens("") == 0
    assert estimate_tokens("yes") == 1
    assert estimate_tokens("403") == 3  # digits one by one
    assert estimate_tokens("residential") == 2
    assert estimate_tokens("Is there a road?") == 5
    assert output_tokens("") == 1  # the end-of-sequence token
    assert output_tokens("No") == 2


def test_registry_entries():
    assert set(CONVERTERS) == {
        "ucm-llava15-7b-vs-geochat-7b", "aid-llava15-7b-vs-geochat-7b", "vqav2-qwen2vl-2b-vs-7b",
        "rsvqa-lr-earthdial-vs-geochat", "choice-qwen2vl-7b", "pope-llava15-7b-vs-13b",
        "mme-llava15-7b-vs-13b",
    }
    for name, (function, description, files) in CONVERTERS.items():
        assert callable(function) and description and files, name
        assert "synthetic" not in name


def test_unknown_converter_and_missing_folder(tmp_path):
    with pytest.raises(InputError, match="did you mean 'pope-llava15-7b-vs-13b'"):
        build("pope-llava15-7b-vs-13", tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        build("pope-llava15-7b-vs-13b", tmp_path / "nowhere")
    with pytest.raises(InputError, match="no file 'llava-v1.5-7b.jsonl'"):
        build("pope-llava15-7b-vs-13b", tmp_path)


# --------------------------------------------------------------------------- UCM / AID


def _scene_rows(answers: list[str], truths: list[str], ext: str = ".tif") -> list[dict]:
    return [{"question_id": f"{t.replace(' ', '')}/{t.replace(' ', '')}{i}{ext}",
             "image_id": f"{t.replace(' ', '')}/{t.replace(' ', '')}{i}{ext}",
             "answer": a, "ground_truth": t}
            for i, (a, t) in enumerate(zip(answers, truths))]


@pytest.fixture
def ucm_dir(tmp_path) -> Path:
    truths = ["dense residential", "golf course", "buildings", "river"]
    folder = tmp_path / "piechat"
    _jsonl(folder / "outputs/scene_classification/UCmerced_llava-v1.5-7b.jsonl",
           _scene_rows(["Dense residential", "Golf course", "Dense residential", "Forest"], truths))
    _jsonl(folder / "outputs/scene_classification/UCmerced_llava-v1.6-vicuna-7b.jsonl",
           _scene_rows(["Dense residential", "Tennis court", "Dense Residential", "Forest"], truths))
    _jsonl(folder / "results/GeoChat_Bench/UCmerced_geochat_7b.jsonl",
           _scene_rows(["dense residential", "golf course", "building", "river"], truths))
    return folder


def test_ucm_converter_joins_scores_and_agreement(ucm_dir, tmp_path):
    paths = convert("ucm-llava15-7b-vs-geochat-7b", ucm_dir, tmp_path / "out")
    assert [p.name for p in paths] == ["ucm-llava15-7b-vs-geochat-7b.parquet"]
    trace = read_trace(paths[0])
    t = trace.table.set_index("sample_id")
    assert list(t["onboard_score"]) == [1.0, 1.0, 0.0, 0.0]
    # GeoChat-Bench rule: 'building' is not 'buildings'
    assert list(t["ground_score"]) == [1.0, 1.0, 0.0, 1.0]
    # agreement of LLaVA-1.5 with LLaVA-1.6 (case-insensitive), not a probability
    assert list(t["onboard_confidence"]) == [1.0, 0.0, 1.0, 1.0]
    assert list(t["second_opinion_answer"]) == ["Dense residential", "Tennis court",
                                                "Dense Residential", "Forest"]
    assert list(t["answer_similarity"]) == [1.0, 1.0, 0.0, 0.0]
    assert set(t["task"]) == {"classification"}
    spec = IMAGE_SPECS["ucm"]
    assert set(t["image_width_px"]) == {256} and set(t["image_bytes"]) == {spec.bytes}
    assert (t["onboard_output_tokens"] >= 2).all() and (t["prompt_tokens"] > 50).all()
    meta = trace.meta
    assert meta["synthetic"] is False and meta["n_samples"] == 4
    assert meta["models"] == {"onboard": "LLaVA-1.5-7B", "ground": "GeoChat-7B",
                              "second_opinion": "LLaVA-1.6-Vicuna-7B"}
    assert "question" in meta["missing"] and "onboard_wall_s" in meta["missing"]
    assert meta["accuracy"]["onboard"] == 0.5 and meta["accuracy"]["ground"] == 0.75
    assert meta["accuracy"]["oracle"] == 0.75
    assert "none declared" in meta["licence"] or "declares no licence" in meta["licence"]
    assert all(len(f["sha256"]) == 64 for f in meta["source_files"])
    assert "ground 1.0000" in meta["scoring"]  # the lenient rule counts 'building' for 'buildings'


def test_scene_converter_rejects_mismatched_files(ucm_dir):
    path = ucm_dir / "results/GeoChat_Bench/UCmerced_geochat_7b.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    _jsonl(path, rows[:-1])
    with pytest.raises(InputError, match="question_id set differs"):
        build("ucm-llava15-7b-vs-geochat-7b", ucm_dir)
    _jsonl(path, rows + rows[:1])
    with pytest.raises(InputError, match="duplicate question_id"):
        build("ucm-llava15-7b-vs-geochat-7b", ucm_dir)


def test_aid_converter_flat_folder(tmp_path):
    truths = ["Medium Residential", "Port", "Baseball Field"]
    _jsonl(tmp_path / "aid_fixed_llava-v1.5-7b.jsonl",
           _scene_rows(["Dense Residential", "Dock", "Baseball field"], truths, ".png"))
    _jsonl(tmp_path / "aid_fixed_llava-v1.6-vicuna-7b.jsonl",
           _scene_rows(["Medium Residential", "Dock", "Baseball Field"], truths, ".png"))
    _jsonl(tmp_path / "AID_geochat_7b.jsonl",
           _scene_rows(["Medium Residential", "Harbor", "Baseball Field"], truths, ".png"))
    t = build("aid-llava15-7b-vs-geochat-7b", tmp_path).table
    assert list(t["onboard_score"]) == [0.0, 0.0, 1.0]
    assert list(t["ground_score"]) == [1.0, 0.0, 1.0]  # 'Harbor' is not 'Port'
    assert list(t["onboard_confidence"]) == [0.0, 1.0, 1.0]
    assert set(t["image_width_px"]) == {600}


# --------------------------------------------------------------------------- VQAv2


def _vqa_record(qid: int, question: str, answer: str, humans: list[str], kind: str) -> dict:
    return {"question": question, "question_id": qid, "predict_ans": answer,
            "gt_ans": [{"answer": h, "answer_confidence": "yes", "answer_id": i + 1}
                       for i, h in enumerate(humans)],
            "answer_type": kind}


def test_vqav2_converter(tmp_path):
    humans = [["down"] * 7 + ["table"] * 3, ["2"] * 2 + ["3"] * 8, ["yes"] * 10]
    qs = [(262148000, "Where is he looking?", "other"), (262148001, "How many?", "number"),
          (393225000, "Is it sunny?", "yes/no")]
    small = [_vqa_record(q, text, a, h, k) for (q, text, k), a, h in zip(qs, ["down", "two", "no"], humans)]
    large = [_vqa_record(q, text, a, h, k) for (q, text, k), a, h in zip(qs, ["table", "3", "Yes"], humans)]
    _json(tmp_path / "VQAv2_Qwen2-VL-2B-Instruct.json", small)
    _json(tmp_path / "VQAv2_Qwen2-VL-7B-Instruct.json", large[::-1])  # order does not matter
    trace = build("vqav2-qwen2vl-2b-vs-7b", tmp_path)
    t = trace.table.set_index("sample_id")
    assert list(t.index) == ["262148000", "262148001", "393225000"]
    assert t["onboard_score"].tolist() == pytest.approx([1.0, 2 / 3, 0.0])
    assert t["ground_score"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert list(t["reference_answer"]) == ["down", "3", "yes"]
    assert list(t["image_id"]) == ["COCO_val2014_000000262148.jpg"] * 2 + ["COCO_val2014_000000393225.jpg"]
    assert list(t["category"]) == ["other", "number", "yes/no"]
    assert len(t["human_answers"].iloc[0]) == 10
    assert list(t["answer_similarity"]) == [0.0, 0.0, 0.0]
    assert trace.meta["accuracy_eq1"] == {"onboard": pytest.approx(1 / 3), "ground": 1.0}
    assert trace.meta["models"] == {"onboard": "Qwen2-VL-2B-Instruct", "ground": "Qwen2-VL-7B-Instruct"}
    # the light normalisation does not map 'two' to '2'
    assert trace.meta["accuracy_light_normalisation"]["differing_answers"] == 1


def test_vqav2_converter_rejects_different_questions(tmp_path):
    rec = _vqa_record(1000, "Q?", "a", ["a"] * 10, "other")
    _json(tmp_path / "VQAv2_Qwen2-VL-2B-Instruct.json", [rec])
    _json(tmp_path / "VQAv2_Qwen2-VL-7B-Instruct.json", [dict(rec, question_id=2000)])
    with pytest.raises(InputError, match="different question_ids"):
        build("vqav2-qwen2vl-2b-vs-7b", tmp_path)


# --------------------------------------------------------------------------- RSVQA-LR


def _ed(question: str, answer: str, truth: str, kind: str) -> dict:
    return {"question": f"[hr_rgb_0.5] <image>\\n {question} Answer the question using a single word.",
            "answer": answer, "annotation": truth, "vqa_type": kind}


@pytest.fixture
def rsvqa_dir(tmp_path) -> Path:
    geochat = [
        {"question_id": 100, "image": "1.tif", "answer": "urban", "category": "rural_urban", "ground_truth": "urban"},
        {"question_id": 101, "image": "1.tif", "answer": "Yes", "category": "presence", "ground_truth": "yes"},
        {"question_id": 102, "image": "1.tif", "answer": "311", "category": "count", "ground_truth": "403"},
        {"question_id": 103, "image": "1.tif", "answer": "No", "category": "presence", "ground_truth": "yes"},
        {"question_id": 200, "image": "2.tif", "answer": "No", "category": "comp", "ground_truth": "no"},
        {"question_id": 201, "image": "2.tif", "answer": "0", "category": "count", "ground_truth": "0"},
    ]
    earthdial = [  # same questions, locally permuted inside each image
        _ed("Is there a road?", "yes", "yes", "presence"),
        _ed("Is it a rural or an urban area", "rural", "urban", "rural_urban"),
        _ed("Is there a building?", "yes", "yes", "presence"),
        _ed("What is the number of roads?", "403", "403", "count"),
        _ed("How many buildings are there?", "1", "0", "count"),
        _ed("Are there more roads than water areas?", "no", "no", "comp"),
    ]
    _jsonl(tmp_path / "piechat/results/GeoChat_Bench/lrben_geochat_7b.jsonl", geochat)
    _jsonl(tmp_path / "EarthDial/src/earthdial/eval/rs_vqa/results/RSVQA_LR.jsonl", earthdial)
    return tmp_path


def test_rsvqa_alignment_and_scores(rsvqa_dir):
    trace = build("rsvqa-lr-earthdial-vs-geochat", rsvqa_dir)
    t = trace.table.set_index("sample_id")
    assert list(t.index) == [f"rsvqa-lr-{q}" for q in (100, 101, 102, 103, 200, 201)]
    assert list(t["onboard_answer"]) == ["rural", "yes", "403", "yes", "no", "1"]
    assert list(t["onboard_score"]) == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert list(t["ground_score"]) == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    assert list(t["question"])[:2] == ["Is it a rural or an urban area", "Is there a road?"]
    # the two 'presence / yes' rows of image 1 could be swapped; the others are certain
    assert list(t["join_certain"]) == [True, False, True, False, True, True]
    assert list(t["category"]) == ["rural_urban", "presence", "count", "presence", "comp", "count"]
    assert trace.meta["models"]["onboard"].startswith("EarthDial")
    assert "APPROXIMATE" in trace.meta["join"]
    assert set(t["image_bytes"]) == {197191}


def test_rsvqa_alignment_rejects_other_order():
    g = [{"image": "1.tif", "category": "presence", "ground_truth": "yes"},
         {"image": "2.tif", "category": "presence", "ground_truth": "no"}]
    e = [{"vqa_type": "presence", "annotation": "no"}, {"vqa_type": "presence", "annotation": "yes"}]
    with pytest.raises(InputError, match="image 1.tif"):
        align_rsvqa(g, e)
    with pytest.raises(InputError, match="expected the same RSVQA-LR questions"):
        align_rsvqa(g, e[:1])


# --------------------------------------------------------------------------- CHOICE


def _choice(idx: str, image_path: str, response, label, result: bool) -> dict:
    return {"id": idx, "image_path": image_path,
            "query": f"<img>/home/x/CHOICE_subset/{image_path}</img>Please select the most appropriate "
                     "answer. Only respond with the letter.\nWhich category?\nA.pond\nB.airport",
            "response": response, "label": label, "result": result}


def test_choice_converter_single_model_and_measured_images(tmp_path):
    from PIL import Image

    root = tmp_path / "CHOICE"
    out = root / "ms-swift/infer_vlm/CHOICE_output"
    scene = "perception/image_level_comprehension/scene_classification"
    _json(out / f"qwen2_vl_7b_instruct/{scene}.json", [
        _choice("u1", f"{scene}/images/80.png", "B", "B", True),
        _choice("u2", f"{scene}/images/110.png", "A", "B", False),
    ])
    grounding = "perception/single_instance_identification/visual_grounding"
    _json(out / f"qwen2_vl_7b_instruct/{grounding}.json", [
        _choice("u3", f"{grounding}/images/5.png", "(0.1, 0.1, 0.5, 0.5)",
                [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]], True),
    ])
    _json(out / f"internvl2_8b/{scene}.json", [_choice("other-model", f"{scene}/images/80.png", "A", "B", False)])
    image = root / f"CHOICE_subset/{scene}/images/80.png"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (8, 6), (10, 200, 30)).save(image)

    trace = build("choice-qwen2vl-7b", root)
    t = trace.table.set_index("sample_id")
    assert sorted(t.index) == ["u1", "u2", "u3"]  # the other model's outputs are ignored
    assert trace.meta["single_model"] is True
    assert (t["onboard_answer"] == t["ground_answer"]).all()
    assert (t["onboard_score"] == t["ground_score"]).all()
    assert t.loc[["u1", "u2", "u3"], "ground_score"].tolist() == [1.0, 0.0, 1.0]
    assert t.loc["u1", ["image_width_px", "image_height_px", "image_bytes"]].tolist() == \
        [8, 6, image.stat().st_size]
    assert t.loc["u1", "image_size_basis"] == "measured"
    assert t.loc["u2", "image_size_basis"] == "nominal"
    assert t.loc["u2", "image_width_px"] == IMAGE_SPECS["choice"].width
    assert t.loc["u3", "task"] == "detection" and t.loc["u1", "task"] == "mcq"
    assert json.loads(t.loc["u3", "reference_answer"])[0] == [0.1, 0.1]
    assert t.loc["u1", "question"].startswith("Which category?")
    assert "answer_similarity" in trace.meta["missing"]
    assert trace.meta["source_files"][0]["path"].startswith("ms-swift/infer_vlm/CHOICE_output/qwen2_vl_7b_instruct/")


def test_choice_converter_needs_prediction_files(tmp_path):
    _json(tmp_path / "unrelated.json", [{"a": 1}])
    with pytest.raises(InputError, match="no CHOICE prediction files"):
        build("choice-qwen2vl-7b", tmp_path)


# --------------------------------------------------------------------------- POPE / MME


def _pope_folder(root: Path) -> Path:
    folder = root / "llava15_7b_13b"
    suffix = "\nAnswer the question using a single word or phrase."
    test_rows = [
        {"question_id": 1, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a dog in the image?" + suffix, "category": "adversarial"},
        {"question_id": 2, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a cat in the image?" + suffix, "category": "adversarial"},
        {"question_id": 10000001, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a dog in the image?" + suffix, "category": "random"},
        {"question_id": 20000001, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a car in the image?" + suffix, "category": "popular"},
    ]
    _jsonl(folder / "pope/llava_pope_test.jsonl", test_rows)
    _jsonl(folder / "pope/coco_pope_adversarial.json", [
        {"question_id": 1, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a dog in the image?", "label": "yes"},
        {"question_id": 2, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a cat in the image?", "label": "no"}])
    _jsonl(folder / "pope/coco_pope_random.json", [
        {"question_id": 1, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a dog in the image?", "label": "yes"}])
    _jsonl(folder / "pope/coco_pope_popular.json", [
        {"question_id": 1, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a car in the image?", "label": "no"}])
    _jsonl(folder / "pope/llava-v1.5-7b.jsonl", [
        {"question_id": 1, "prompt": "...", "text": "Yes"}, {"question_id": 2, "prompt": "...", "text": "Yes"},
        {"question_id": 10000001, "prompt": "...", "text": "No"}])
    _jsonl(folder / "pope/llava-v1.5-13b.jsonl", [
        {"question_id": q, "prompt": "...", "text": t}
        for q, t in ((1, "Yes"), (2, "No"), (10000001, "Yes, there is."), (20000001, "No"))])
    return folder


def _mme_folder(folder: Path) -> Path:
    suffix = "\nAnswer the question using a single word or phrase."
    rows7 = [
        {"question_id": "existence/000000000001.jpg", "prompt": "Is there a dog in this image?" + suffix, "text": "Yes"},
        {"question_id": "existence/000000000001.jpg", "prompt": "Is there a cat in this image?" + suffix, "text": "Yes"},
        {"question_id": "scene/Places365_val_00000001.jpg", "prompt": "Is this picture captured in a place of beach?" + suffix, "text": "Beach"},
        {"question_id": "landmark/abc.jpg", "prompt": "Is this a picture of Big Ben?" + suffix, "text": "No"},
    ]
    rows13 = [dict(r, text=t) for r, t in zip(rows7, ["Yes", "No", "Yes", "No"])]
    _jsonl(folder / "mme/llava-v1.5-7b.jsonl", rows7)
    _jsonl(folder / "mme/llava-v1.5-13b.jsonl", rows13)
    gt = folder / "mme/mme_gt"
    gt.mkdir(parents=True)
    (gt / "existence.txt").write_text(
        "000000000001.jpg\tIs there a dog in this image? Please answer yes or no.\tYes\n"
        "000000000001.jpg\tIs there a cat in this image?  Please answer yes or no.\tNo\n", encoding="utf-8")
    (gt / "scene.txt").write_text(
        "Places365_val_00000001.jpg\tIs this picture captured in a place of beach? Please answer yes or no.\tYes\n",
        encoding="utf-8")
    (gt / "landmark.txt").write_text("other.jpg\tIs this a picture of Big Ben? Please answer yes or no.\tYes\n",
                                     encoding="utf-8")
    return folder


def test_pope_converter_joins_on_the_labels(tmp_path):
    folder = _mme_folder(_pope_folder(tmp_path))  # the MME files share a name: the 'pope' folder decides
    trace = build("pope-llava15-7b-vs-13b", folder)
    t = trace.table.set_index("sample_id")
    assert list(t.index) == ["pope-1", "pope-2", "pope-10000001"]  # questions both models answered
    assert list(t["reference_answer"]) == ["yes", "no", "yes"]
    assert list(t["onboard_score"]) == [1.0, 0.0, 0.0]
    assert list(t["ground_score"]) == [1.0, 1.0, 1.0]  # 'Yes, there is.' -> yes
    assert list(t["category"]) == ["adversarial", "adversarial", "random"]
    assert list(t["question"]) == ["Is there a dog in the image?", "Is there a cat in the image?",
                                   "Is there a dog in the image?"]
    assert trace.meta["models"] == {"onboard": "LLaVA-1.5-7B", "ground": "LLaVA-1.5-13B"}


def test_mme_converter_key_and_drops(tmp_path):
    folder = _mme_folder(_pope_folder(tmp_path))
    trace = build("mme-llava15-7b-vs-13b", folder)
    t = trace.table.set_index("sample_id")
    # the landmark question has no key entry and is dropped; doubled spaces in the key are fine
    assert list(t.index) == ["mme-existence/000000000001.jpg#1", "mme-existence/000000000001.jpg#2",
                             "mme-scene/Places365_val_00000001.jpg#1"]
    assert list(t["reference_answer"]) == ["yes", "no", "yes"]
    assert list(t["onboard_score"]) == [1.0, 0.0, 0.0]  # 'Beach' is not yes/no
    assert list(t["ground_score"]) == [1.0, 1.0, 1.0]
    assert trace.meta["accuracy"] == summarise(trace.table)
    assert "research" in trace.meta["licence"]


def test_mme_bad_key_line(tmp_path):
    folder = _mme_folder(_pope_folder(tmp_path))
    (folder / "mme/mme_gt/scene.txt").write_text("only two\tfields\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"scene.txt:1: 2 tab-separated fields"):
        build("mme-llava15-7b-vs-13b", folder)


# --------------------------------------------------------------------------- shipped traces

#: name -> (n, onboard, ground, oracle, both, onboard only, ground only, neither): PROVENANCE.md.
SHIPPED = {
    "ucm-llava15-7b-vs-geochat-7b": (2100, 0.6633, 0.8448, 0.8910, 1296, 97, 478, 229),
    "aid-llava15-7b-vs-geochat-7b": (3000, 0.5053, 0.7190, 0.7567, 1403, 113, 754, 730),
    "vqav2-qwen2vl-2b-vs-7b": (1000, 0.8117, 0.8357, 0.8800, 713, 45, 69, 173),
    "rsvqa-lr-earthdial-vs-geochat": (10004, 0.7355, 0.7134, 0.7599, 6893, 465, 244, 2402),
    "choice-qwen2vl-7b": (440, 0.7295, 0.7295, 0.7295, 321, 0, 0, 119),
    "pope-llava15-7b-vs-13b": (5712, 0.8654, 0.8659, 0.8894, 4809, 134, 137, 632),
    "mme-llava15-7b-vs-13b": (2366, 0.7946, 0.8107, 0.8740, 1730, 150, 188, 298),
}


@pytest.fixture(scope="module")
def shipped() -> dict:
    return {name: read_trace(bundled_traces_dir() / f"{name}.parquet") for name in SHIPPED}


def test_every_bundled_trace_validates_and_is_listed():
    folder = bundled_traces_dir()
    listed = {t["name"]: t for t in list_traces()}
    assert set(SHIPPED) <= set(listed)
    for parquet in sorted(folder.glob("*.parquet")):
        trace = read_trace(parquet)  # validates
        assert parquet.with_suffix(".json").is_file()
        if trace.name in SHIPPED:
            assert trace.synthetic is False and "synthetic" not in parquet.name
            assert listed[trace.name]["synthetic"] is False
            assert parquet.stat().st_size < 300_000


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_accuracies_match_the_documented_ones(shipped, name):
    trace = shipped[name]
    n, on, gr, oracle, both, on_only, gr_only, neither = SHIPPED[name]
    t = trace.table
    assert len(t) == n == trace.meta["n_samples"]
    assert t["onboard_score"].mean() == pytest.approx(on, abs=1e-4)
    assert t["ground_score"].mean() == pytest.approx(gr, abs=1e-4)
    assert np.maximum(t["onboard_score"], t["ground_score"]).mean() == pytest.approx(oracle, abs=1e-4)
    s = summarise(t)
    assert (s["both_correct"], s["onboard_only_correct"], s["ground_only_correct"],
            s["neither_correct"]) == (both, on_only, gr_only, neither)
    assert trace.meta["accuracy"] == s
    meta = trace.meta
    assert meta["synthetic"] is False
    for key in ("source", "citation", "models", "task", "licence", "licence_notes", "join", "scoring",
                "image_size_basis", "token_counts", "source_files"):
        assert meta[key], key
    for entry in meta["source_files"]:
        assert len(entry["sha256"]) == 64 and len(entry["commit"]) == 40 and entry["repo"]
    assert {"onboard_wall_s", "ground_wall_s", "features", "difficulty"} <= set(meta["missing"])
    assert t["sample_id"].is_unique
    assert (t["onboard_output_tokens"] >= 1).all() and (t["prompt_tokens"] > 0).all()


def test_shipped_scores_recompute_from_the_tables(shipped):
    ucm = shipped["ucm-llava15-7b-vs-geochat-7b"].table
    assert [metrics.benchmark_label_match(a, r) for a, r in zip(ucm["ground_answer"], ucm["reference_answer"])] \
        == ucm["ground_score"].tolist()
    agree = ucm["onboard_confidence"] == 1.0
    assert agree.mean() == pytest.approx(0.708, abs=1e-3)
    assert ucm.loc[agree, "onboard_score"].mean() == pytest.approx(0.750, abs=1e-3)
    aid = shipped["aid-llava15-7b-vs-geochat-7b"].table
    assert (aid["onboard_confidence"] == 1.0).mean() == pytest.approx(0.679, abs=1e-3)

    vqa = shipped["vqav2-qwen2vl-2b-vs-7b"]
    t = vqa.table
    assert [metrics.vqa_accuracy(a, list(h)) for a, h in zip(t["onboard_answer"], t["human_answers"])] \
        == pytest.approx(t["onboard_score"].tolist())
    light = vqa.meta["accuracy_light_normalisation"]  # the data notes' counting
    assert (light["onboard_eq1"], light["ground_eq1"]) == (0.758, 0.779)
    assert (light["both_correct"], light["onboard_only_correct"], light["ground_only_correct"],
            light["neither_correct"]) == (711, 47, 68, 174)
    assert vqa.meta["accuracy_eq1"] == {"onboard": 0.758, "ground": 0.782}

    for name in ("pope-llava15-7b-vs-13b", "mme-llava15-7b-vs-13b", "rsvqa-lr-earthdial-vs-geochat"):
        t = shipped[name].table.sample(300, random_state=0)
        assert [metrics.exact_match(a, r) for a, r in zip(t["onboard_answer"], t["reference_answer"])] \
            == t["onboard_score"].tolist(), name


def test_shipped_rsvqa_per_category(shipped):
    t = shipped["rsvqa-lr-earthdial-vs-geochat"].table
    by = t.groupby("category")[["onboard_score", "ground_score"]].mean()
    assert by.loc["presence"].tolist() == pytest.approx([0.9259, 0.9096], abs=1e-4)
    assert by.loc["comp"].tolist() == pytest.approx([0.9275, 0.9025], abs=1e-4)
    assert by.loc["count"].tolist() == pytest.approx([0.2769, 0.2518], abs=1e-4)
    assert t["join_certain"].mean() == pytest.approx(0.140, abs=1e-3)
    assert "APPROXIMATE" in shipped["rsvqa-lr-earthdial-vs-geochat"].meta["join"]


def test_shipped_choice_is_single_model_with_measured_images(shipped):
    trace = shipped["choice-qwen2vl-7b"]
    t = trace.table
    assert trace.meta["single_model"] is True
    assert (t["onboard_answer"] == t["ground_answer"]).all()
    measured = t[t["image_size_basis"] == "measured"]
    assert len(measured) == 20
    assert set(measured["category"]) == {"perception/image_level_comprehension/scene_classification"}
    assert set(measured["image_width_px"]) == {512} and measured["image_bytes"].nunique() == 20
    assert int(t["ground_score"].sum()) == 321


def test_provenance_names_every_shipped_trace():
    text = (bundled_traces_dir() / "PROVENANCE.md").read_text(encoding="utf-8")
    for name, row in SHIPPED.items():
        assert f"`{name}`" in text
        assert f"{row[1]:.4f}" in text and f"{row[2]:.4f}" in text, name


def test_shipped_tables_have_schema_dtypes(shipped):
    for name, trace in shipped.items():
        t = trace.table
        for col in ("image_width_px", "image_height_px", "image_bytes", "prompt_tokens",
                    "onboard_output_tokens", "ground_output_tokens"):
            assert pd.api.types.is_integer_dtype(t[col]), (name, col)
        assert t["onboard_score"].between(0, 1).all() and t["ground_score"].between(0, 1).all()
