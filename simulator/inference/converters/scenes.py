"""UC Merced and AID scene classification (GeoChat-Bench): LLaVA-1.5-7B vs GeoChat-7B.

One source format for both datasets (whu-pzhang/piechat), so one module converts both:
:func:`convert_ucm` (2,100 samples) and :func:`convert_aid` (3,000).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import Trace
from .common import (
    IMAGE_SPECS, _PIECHAT, _UNDECLARED, _add_sample, _agree, _inputs, _locate, _need, _read_jsonl,
    _table, _trace, prompt_tokens,
)

_SCENE_FILES = {
    "ucm": ("UCmerced_llava-v1.5-7b.jsonl", "UCmerced_llava-v1.6-vicuna-7b.jsonl",
            "UCmerced_geochat_7b.jsonl"),
    "aid": ("aid_fixed_llava-v1.5-7b.jsonl", "aid_fixed_llava-v1.6-vicuna-7b.jsonl",
            "AID_geochat_7b.jsonl"),
}
_SCENE_ORIGINS = {
    name: {**_PIECHAT, "path": ("results/GeoChat_Bench/" if "geochat" in name
                                else "outputs/scene_classification/") + name}
    for files in _SCENE_FILES.values() for name in files
}
_SCENE_DATASET = {"ucm": ("UC Merced Land Use", "ucm-llava15-7b-vs-geochat-7b"),
                  "aid": ("AID", "aid-llava15-7b-vs-geochat-7b")}


def _scene_pair(dataset: str, input_dir: Path) -> Trace:
    title, name = _SCENE_DATASET[dataset]
    paths = [_locate(input_dir, f, name, expected=_SCENE_FILES[dataset]) for f in _SCENE_FILES[dataset]]
    keys = ("question_id", "answer", "ground_truth")
    tables = []
    for path in paths:
        rows = _read_jsonl(path)
        by_id: dict[str, dict] = {}
        for i, row in enumerate(rows):
            _need(row, keys, path, i)
            qid = str(row["question_id"])
            if qid in by_id:
                raise InputError(f"{path}: record {i + 1}: duplicate question_id {qid!r}")
            by_id[qid] = row
        tables.append(by_id)
    onboard, second, ground = tables
    ids = list(onboard)
    for path, other in zip(paths[1:], tables[1:]):
        if set(other) != set(ids):
            extra = sorted(set(other) ^ set(ids))[:3]
            raise InputError(f"{path}: question_id set differs from {paths[0].name} (e.g. {extra}); "
                             "expected the same samples in all three files")
    for qid in ids:
        truths = {onboard[qid]["ground_truth"], second[qid]["ground_truth"], ground[qid]["ground_truth"]}
        if len(truths) != 1:
            raise InputError(f"{name}: question_id {qid!r} has different ground_truth across files: "
                             f"{sorted(truths)}")
    classes = sorted({onboard[q]["ground_truth"] for q in ids})
    prompt = ("Classify the image within one of the given classes: " + ", ".join(classes)
              + ". Answer with one word or short phrase.")
    n_prompt = prompt_tokens(prompt, "llava_v1")
    spec = IMAGE_SPECS[dataset]
    rows: dict[str, list] = defaultdict(list)
    for qid in ids:
        ref = onboard[qid]["ground_truth"]
        a_on, a_2, a_gr = (str(t[qid]["answer"]) for t in (onboard, second, ground))
        _add_sample(rows, sample_id=qid, task="classification", prompt_tokens=n_prompt,
                    onboard=a_on, ground=a_gr,
                    onboard_score=metrics.benchmark_label_match(a_on, ref),
                    ground_score=metrics.benchmark_label_match(a_gr, ref),
                    reference_answer=str(ref), onboard_confidence=_agree(a_on, a_2, "label"),
                    answer_similarity=_agree(a_on, a_gr, "label"),
                    image_id=str(onboard[qid].get("image_id", qid)), second_opinion_answer=a_2)
    table = _table(rows, spec)
    lenient = {who: float(np.mean([metrics.classification_score(a, r) for a, r in
                                   zip(table[f"{who}_answer"], table["reference_answer"])]))
               for who in ("onboard", "ground")}
    meta = {
        "name": name,
        "source": (f"whu-pzhang/piechat@{_PIECHAT['commit'][:12]}: GeoChat-Bench {title} scene "
                   f"classification ({len(ids)} images), answers of LLaVA-1.5-7B, LLaVA-1.6-Vicuna-7B "
                   "and GeoChat-7B"),
        "citation": ("Kuckreja et al., 'GeoChat: Grounded Large Vision-Language Model for Remote "
                     "Sensing', CVPR 2024; "
                     + ("Yang and Newsam, 'Bag-of-visual-words and spatial extensions for land-use "
                        "classification', ACM SIGSPATIAL 2010 (UC Merced)" if dataset == "ucm"
                        else "Xia et al., 'AID: A Benchmark Data Set for Performance Evaluation of "
                             "Aerial Scene Classification', IEEE TGRS 2017")),
        "models": {"onboard": "LLaVA-1.5-7B", "ground": "GeoChat-7B",
                   "second_opinion": "LLaVA-1.6-Vicuna-7B"},
        "task": "classification",
        "licence": "none declared (whu-pzhang/piechat): derived per-sample facts, with attribution",
        "licence_notes": (f"Source repository whu-pzhang/piechat {_UNDECLARED}. {title} dataset "
                          "terms apply to the benchmark; no images are shipped."),
        "synthetic": False,
        "source_files": _inputs(paths, _SCENE_ORIGINS),
        "join": "exact, on question_id (Class/filename), identical in all three files",
        "scoring": ("GeoChat-Bench rule (metrics.benchmark_label_match): answer equals the ground "
                    "truth after lower-casing and removing non-alphanumerics. The lenient rule "
                    "(metrics.classification_score) gives onboard "
                    f"{lenient['onboard']:.4f}, ground {lenient['ground']:.4f}."),
        "onboard_confidence": ("NOT a probability: 1.0 when LLaVA-1.5-7B and LLaVA-1.6-Vicuna-7B "
                               "give the same label (metrics.normalize_label), else 0.0 -- a real "
                               "per-sample agreement signal (column second_opinion_answer holds "
                               "LLaVA-1.6's answer). No token probabilities were recorded."),
        "image_size_basis": spec.basis,
        "token_counts": ("estimated (converters.estimate_tokens); prompt = the GeoChat-Bench "
                         "classification prompt reconstructed from the paper's wording and this "
                         "dataset's class list (the question file is not in the source) + LLaVA v1 "
                         "chat template"),
        "notes": ("Real recorded answers, exact join. Token probabilities, wall times and image "
                  "features were not recorded (missing). Generation settings are not stored with "
                  "the answers; piechat's scripts/llava_scene.py defaults to temperature 0.2. "
                  "AID question ids end in .png (piechat's 'aid_fixed' copy), GeoChat's image ids "
                  "in .jpg; they are the same images."),
    }
    return _trace(table, meta)


def convert_ucm(input_dir: Path) -> Trace:
    """UC Merced (GeoChat-Bench, 2,100): onboard LLaVA-1.5-7B, ground GeoChat-7B, LLaVA-1.6 as second opinion."""
    return _scene_pair("ucm", Path(input_dir))


def convert_aid(input_dir: Path) -> Trace:
    """AID (GeoChat-Bench, 3,000): onboard LLaVA-1.5-7B, ground GeoChat-7B, LLaVA-1.6 as second opinion."""
    return _scene_pair("aid", Path(input_dir))
