"""VQAv2 val (1,000 questions): Qwen2-VL-2B-Instruct vs Qwen2-VL-7B-Instruct."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import Trace
from .common import (
    IMAGE_SPECS, _UNDECLARED, _add_sample, _agree, _inputs, _locate, _need, _read_json_list,
    _table, _trace, prompt_tokens,
)

_VQAV2_FILES = ("VQAv2_Qwen2-VL-2B-Instruct.json", "VQAv2_Qwen2-VL-7B-Instruct.json")
_VQAV2_ORIGINS = {f: {"repo": "duongtruongbinh/Improve_ViVQA-X_baseline", "path": f"results/{f}",
                      "commit": "6ceca76fee7decc66e9b13ed6127c9376f661036",
                      "licence": "none declared (no LICENSE file)"} for f in _VQAV2_FILES}


def convert_vqav2(input_dir: Path) -> Trace:
    """VQAv2 val (1,000 questions): onboard Qwen2-VL-2B-Instruct, ground Qwen2-VL-7B-Instruct.

    Scores are VQA accuracies ``min(#humans / 3, 1)`` against the 10 human
    answers (:func:`~simulator.inference.metrics.vqa_accuracy`).
    """
    name = "vqav2-qwen2vl-2b-vs-7b"
    input_dir = Path(input_dir)
    paths = [_locate(input_dir, f, name, expected=_VQAV2_FILES) for f in _VQAV2_FILES]
    keys = ("question", "question_id", "predict_ans", "gt_ans")
    small, large = [], []
    for path, into in zip(paths, (small, large)):
        rows = _read_json_list(path)
        for i, row in enumerate(rows):
            _need(row, keys, path, i)
        into.extend(rows)
    by_id = {}
    for i, row in enumerate(large):
        by_id[row["question_id"]] = row
    if len(by_id) != len(large) or len({r["question_id"] for r in small}) != len(small):
        raise InputError(f"{name}: duplicate question_id in {paths[0].name} or {paths[1].name}")
    if set(by_id) != {r["question_id"] for r in small}:
        raise InputError(f"{name}: {paths[0].name} and {paths[1].name} hold different question_ids; "
                         "expected the same questions")
    spec = IMAGE_SPECS["coco"]
    rows: dict[str, list] = defaultdict(list)
    for row in small:
        other = by_id[row["question_id"]]
        humans = [str(h["answer"]) if isinstance(h, dict) else str(h) for h in row["gt_ans"]]
        if not humans:
            raise InputError(f"{paths[0]}: question_id {row['question_id']}: no human answers")
        if row["question"] != other["question"]:
            raise InputError(f"{name}: question_id {row['question_id']} has different question texts")
        a_on, a_gr = str(row["predict_ans"]), str(other["predict_ans"])
        qid = int(row["question_id"])
        counts = Counter(metrics.normalize_vqa_answer(h) for h in humans)
        top = max(counts.values())
        reference = next(h for h in humans if counts[metrics.normalize_vqa_answer(h)] == top)
        _add_sample(rows, sample_id=str(qid), task="vqa",
                    prompt_tokens=prompt_tokens(row["question"], "qwen2"), onboard=a_on,
                    ground=a_gr, onboard_score=metrics.vqa_accuracy(a_on, humans),
                    ground_score=metrics.vqa_accuracy(a_gr, humans),
                    question=str(row["question"]), reference_answer=reference,
                    answer_similarity=_agree(a_on, a_gr, "vqa"),
                    image_id=f"COCO_val2014_{qid // 1000:012d}.jpg",
                    category=str(row.get("answer_type", "")), human_answers=humans)
    table = _table(rows, spec)
    eq1 = {who: float((table[f"{who}_score"] >= 1.0).mean()) for who in ("onboard", "ground")}
    light = _light_vqa_rule(table)
    meta = {
        "name": name,
        "source": ("duongtruongbinh/Improve_ViVQA-X_baseline@6ceca76fee7d: VQAv2 val ('minival', "
                   f"{len(table):,} questions), answers of Qwen2-VL-2B-Instruct and Qwen2-VL-7B-Instruct"),
        "citation": ("Goyal et al., 'Making the V in VQA Matter', CVPR 2017 (VQAv2); Wang et al., "
                     "'Qwen2-VL', arXiv 2409.12191"),
        "models": {"onboard": "Qwen2-VL-2B-Instruct", "ground": "Qwen2-VL-7B-Instruct"},
        "task": "vqa",
        "licence": ("none declared (Improve_ViVQA-X_baseline): derived per-sample facts, with "
                    "attribution; VQAv2 annotations CC BY 4.0"),
        "licence_notes": (f"Source repository duongtruongbinh/Improve_ViVQA-X_baseline {_UNDECLARED}. "
                          "VQAv2 questions and human answers: CC BY 4.0 (visualqa.org); COCO images "
                          "are not shipped."),
        "synthetic": False,
        "source_files": _inputs(paths, _VQAV2_ORIGINS),
        "join": "exact, on question_id (identical in both files)",
        "scoring": ("VQA accuracy min(#matching human answers / 3, 1) over the 10 human answers "
                    "after VQA answer normalisation (metrics.vqa_accuracy, simple form; the "
                    "official leave-one-out average is lower). Rate of VQA-acc = 1: onboard "
                    f"{eq1['onboard']:.4f}, ground {eq1['ground']:.4f}. With a lighter "
                    "normalisation (lower-case, periods deleted, no number words or hyphen "
                    "handling; the one behind the statistics in the data notes) the numbers are "
                    f"those in accuracy_light_normalisation: {light['differing_answers']} answers "
                    "score differently (e.g. 'eight' vs '8', 'sv 6260' vs 'sv-6260')."),
        "accuracy_eq1": eq1,
        "accuracy_light_normalisation": light,
        "image_size_basis": spec.basis,
        "token_counts": ("estimated (converters.estimate_tokens); prompt = question + Qwen2 chat "
                         "template; the run's system prompt (asking for 'Answer: <short answer>') "
                         "is not stored and not counted"),
        "generation": ("HF transformers, bf16, greedy, max_new_tokens=30, min_pixels=256*28*28, "
                       "max_pixels=1280*28*28 (the source repository's src/inference/qwenvl_vqav2.py)"),
        "notes": ("The paper's model pair on general (not remote-sensing) VQA. Real recorded "
                  "answers, exact join. Image sizes are nominal. No token probabilities (missing). "
                  "Column human_answers holds the 10 human answers; reference_answer the most "
                  "frequent one."),
    }
    return _trace(table, meta)


def _light_vqa_normalise(text: str) -> str:
    return re.sub(r"\.(?!\d)", "", str(text).lower().strip())


def _light_vqa_rule(table: pd.DataFrame) -> dict[str, Any]:
    """VQA accuracies under the light normalisation (lower-case, strip, periods deleted)."""
    out: dict[str, Any] = {}
    differing = 0
    correct = {}
    for who in ("onboard", "ground"):
        scores = np.array([metrics.vqa_accuracy(a, h, normalize=_light_vqa_normalise)
                           for a, h in zip(table[f"{who}_answer"], table["human_answers"])])
        differing += int((scores != table[f"{who}_score"].to_numpy()).sum())
        out[who] = round(float(scores.mean()), 6)
        out[f"{who}_eq1"] = round(float((scores >= 1).mean()), 6)
        correct[who] = scores >= 1
    out["both_correct"] = int((correct["onboard"] & correct["ground"]).sum())
    out["onboard_only_correct"] = int((correct["onboard"] & ~correct["ground"]).sum())
    out["ground_only_correct"] = int((~correct["onboard"] & correct["ground"]).sum())
    out["neither_correct"] = int((~correct["onboard"] & ~correct["ground"]).sum())
    out["differing_answers"] = differing
    return out
