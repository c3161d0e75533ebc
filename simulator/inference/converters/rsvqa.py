"""RSVQA-LR (10,004 questions): EarthDial vs GeoChat-7B, joined approximately."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import Trace
from .common import (
    IMAGE_SPECS, _PIECHAT, _UNDECLARED, _add_sample, _agree, _inputs, _locate, _need, _read_jsonl,
    _table, _trace, prompt_tokens,
)

_RSVQA_FILES = ("RSVQA_LR.jsonl", "lrben_geochat_7b.jsonl")
_RSVQA_ORIGINS = {
    "RSVQA_LR.jsonl": {"repo": "hiyamdebary/EarthDial",
                       "path": "src/earthdial/eval/rs_vqa/results/RSVQA_LR.jsonl",
                       "commit": "92c1260703ae8b3ddcac17fce6e8234de717308b",
                       "licence": "MIT (Copyright 2024 IBM Research)"},
    "lrben_geochat_7b.jsonl": {**_PIECHAT, "path": "results/GeoChat_Bench/lrben_geochat_7b.jsonl"},
}
_EARTHDIAL_TAG_RE = re.compile(r"\[[a-z0-9_.]+\]|<image>|\\n")
_SINGLE_WORD_RE = re.compile(r"\s*Answer the question using a single word(?: or phrase)?\.?\s*$", re.IGNORECASE)


def _earthdial_prompt(text: str) -> str:
    """EarthDial's prompt without its image tags (``[hr_rgb_0.5]``, ``<image>``, literal ``\\n``)."""
    return " ".join(_EARTHDIAL_TAG_RE.sub(" ", text).split())


def align_rsvqa(geochat: list[dict], earthdial: list[dict], where: str = "rsvqa") -> tuple[list[int], list[bool]]:
    """For each GeoChat row, the index of its EarthDial row, and whether the pairing is certain.

    EarthDial's file has no ids.  Both files hold the same questions with
    GeoChat's image blocks in the same order; within a block the order is
    locally permuted.  Rule: cut EarthDial into blocks of GeoChat's block
    sizes, check that each block has the same multiset of (category, ground
    truth), and pair the k-th GeoChat row of each (category, ground truth)
    group with the k-th EarthDial row of that group.  A pairing is *certain*
    when its group has one row; otherwise rows may be swapped among questions
    with the same category and answer (APPROXIMATE join).

    >>> g = [{"image": "1.tif", "category": "presence", "ground_truth": "yes"},
    ...      {"image": "1.tif", "category": "count", "ground_truth": "3"}]
    >>> e = [{"vqa_type": "count", "annotation": "3"}, {"vqa_type": "presence", "annotation": "yes"}]
    >>> align_rsvqa(g, e)
    ([1, 0], [True, True])
    """
    if len(geochat) != len(earthdial):
        raise InputError(f"{where}: {len(geochat)} GeoChat rows vs {len(earthdial)} EarthDial rows; "
                         "expected the same RSVQA-LR questions in both files")
    pairing = [-1] * len(geochat)
    certain = [False] * len(geochat)
    start = 0
    for image, block in itertools.groupby(range(len(geochat)), key=lambda i: geochat[i]["image"]):
        idx = list(block)
        e_idx = list(range(start, start + len(idx)))
        start += len(idx)

        def key_g(i):
            return (str(geochat[i]["category"]), str(geochat[i]["ground_truth"]).strip().lower())

        def key_e(j):
            return (str(earthdial[j]["vqa_type"]), str(earthdial[j]["annotation"]).strip().lower())

        if Counter(map(key_g, idx)) != Counter(map(key_e, e_idx)):
            raise InputError(
                f"{where}: image {image} (GeoChat rows {idx[0] + 1}-{idx[-1] + 1}): the EarthDial rows "
                "at the same positions have other (category, answer) pairs; expected both files in "
                "the same image order"
            )
        groups: dict[tuple, list[int]] = defaultdict(list)
        for j in e_idx:
            groups[key_e(j)].append(j)
        used: Counter = Counter()
        for i in idx:
            k = key_g(i)
            pairing[i] = groups[k][used[k]]
            certain[i] = len(groups[k]) == 1
            used[k] += 1
    return pairing, certain


def convert_rsvqa_lr(input_dir: Path) -> Trace:
    """RSVQA-LR (10,004 questions): onboard EarthDial (InternVL2-4B based), ground GeoChat-7B.

    APPROXIMATE join (:func:`align_rsvqa`): per-model accuracies are exact,
    joint outcomes may swap among same-answer questions of one image.
    """
    name = "rsvqa-lr-earthdial-vs-geochat"
    input_dir = Path(input_dir)
    p_ed = _locate(input_dir, _RSVQA_FILES[0], name, expected=_RSVQA_FILES)
    p_gc = _locate(input_dir, _RSVQA_FILES[1], name, expected=_RSVQA_FILES)
    earthdial = _read_jsonl(p_ed)
    geochat = _read_jsonl(p_gc)
    for i, row in enumerate(earthdial):
        _need(row, ("question", "answer", "annotation", "vqa_type"), p_ed, i)
    for i, row in enumerate(geochat):
        _need(row, ("question_id", "image", "answer", "category", "ground_truth"), p_gc, i)
    pairing, certain = align_rsvqa(geochat, earthdial, name)
    spec = IMAGE_SPECS["rsvqa-lr"]
    rows: dict[str, list] = defaultdict(list)
    for i, g in enumerate(geochat):
        e = earthdial[pairing[i]]
        ref = str(g["ground_truth"])
        a_on, a_gr = str(e["answer"]), str(g["answer"])
        prompt = _earthdial_prompt(str(e["question"]))
        _add_sample(rows, sample_id=f"rsvqa-lr-{g['question_id']}", task="vqa",
                    prompt_tokens=prompt_tokens(prompt, "qwen2"), onboard=a_on, ground=a_gr,
                    onboard_score=metrics.exact_match(a_on, ref),
                    ground_score=metrics.exact_match(a_gr, ref),
                    question=_SINGLE_WORD_RE.sub("", prompt), reference_answer=ref,
                    answer_similarity=_agree(a_on, a_gr, "vqa"), image_id=str(g["image"]),
                    category=str(g["category"]), join_certain=bool(certain[i]))
    table = _table(rows, spec)
    same_place = float(np.mean([pairing[i] == i for i in range(len(pairing))]))
    meta = {
        "name": name,
        "source": ("hiyamdebary/EarthDial@92c126070372 + whu-pzhang/piechat@971468c56670: RSVQA-LR "
                   f"(GeoChat-Bench LRBEN, {len(table):,} questions), answers of EarthDial and GeoChat-7B"),
        "citation": ("Lobry et al., 'RSVQA: Visual Question Answering for Remote Sensing Data', IEEE "
                     "TGRS 2020 (Zenodo 6344334); Soni et al., 'EarthDial', CVPR 2025; Kuckreja et "
                     "al., 'GeoChat', CVPR 2024"),
        "models": {"onboard": "EarthDial (InternVL2-4B based)", "ground": "GeoChat-7B"},
        "task": "vqa",
        "licence": ("MIT (EarthDial) + none declared (piechat, GeoChat answers): derived per-sample "
                    "facts, with attribution"),
        "licence_notes": ("EarthDial answers and questions: MIT (Copyright 2024 IBM Research). GeoChat "
                          f"answers: whu-pzhang/piechat {_UNDECLARED}. RSVQA-LR (Copernicus "
                          "Sentinel-2 based) dataset terms apply; no images are shipped."),
        "synthetic": False,
        "source_files": _inputs([p_ed, p_gc], _RSVQA_ORIGINS),
        "join": ("APPROXIMATE: EarthDial's file has no ids or images. Rows are aligned by image "
                 "block (same order in both files) and, inside a block, by sorted position among "
                 "rows with the same (category, ground truth) (converters.align_rsvqa). Per-model "
                 "accuracies are exact; joint outcomes (which GeoChat answer pairs with which "
                 "EarthDial answer) may be swapped among same-answer questions of one image. "
                 f"{float(np.mean(certain)):.1%} of rows are certain (column join_certain); "
                 f"{same_place:.1%} sit at the same position in both files. The question text is "
                 "EarthDial's. Exact fix: join on question text with GeoChat-Bench lrben.jsonl "
                 "(Hugging Face MBZUAI/GeoChat-Bench)."),
        "scoring": "exact match after VQA answer normalisation (metrics.exact_match); counts exact",
        "image_size_basis": spec.basis,
        "token_counts": ("estimated (converters.estimate_tokens); prompt = EarthDial's prompt without "
                         "image tags + a 20-token chat template (ASSUMPTION)"),
        "notes": ("Roles: EarthDial, the smaller model, is onboard -- and it is the MORE accurate one "
                  "here: use this trace for remote-sensing VQA error structure, not as a 'small < "
                  "large' offloading pair. Joint counts rest on the approximate join. No token "
                  "probabilities (missing)."),
    }
    return _trace(table, meta)
