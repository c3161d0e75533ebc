"""MME (yes/no, 14 subtasks): LLaVA-1.5-7B vs LLaVA-1.5-13B."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path, PurePosixPath

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import Trace
from .common import (
    IMAGE_SPECS, _LLAVA, _UNDECLARED, _VLMBENCH, _add_sample, _agree, _answers, _first_line,
    _inputs, _locate, _table, _trace, prompt_tokens,
)

_MME_PLEASE_RE = re.compile(r"\s*Please answer yes or no\.?\s*", re.IGNORECASE)
_MME_ANSWERS = ("llava-v1.5-7b.jsonl", "llava-v1.5-13b.jsonl")
_MME_CATEGORIES = ("OCR", "artwork", "celebrity", "code_reasoning", "color", "commonsense_reasoning",
                   "count", "existence", "landmark", "numerical_calculation", "position", "posters",
                   "scene", "text_translation")
_MME_ORIGINS = {
    "llava-v1.5-7b.jsonl": {**_VLMBENCH, "path": "playground/data/eval/MME/answers/llava-v1.5-7b.jsonl"},
    "llava-v1.5-13b.jsonl": {**_LLAVA, "path": "playground/data/eval/MME/answers/llava-v1.5-13b.jsonl"},
    **{f"{c}.txt": {**_VLMBENCH, "path": f"playground/data/eval/MME/eval_tool/Your_Results/{c}.txt",
                    "licence": "none declared; content is the MME answer key (MME terms: academic research only)"}
       for c in _MME_CATEGORIES},
}
#: The files the converter expects, as ``spaceverse traces converters`` lists them.
MME_EXPECTED = (*(f"mme/{f}" for f in _MME_ANSWERS), "mme_gt/<category>.txt (14 MME answer-key files)")


def _mme_question(text: str) -> str:
    return " ".join(_MME_PLEASE_RE.sub(" ", _first_line(text)).split())


def convert_mme(input_dir: Path) -> Trace:
    """MME (yes/no, 14 subtasks): onboard LLaVA-1.5-7B, ground LLaVA-1.5-13B.

    Key: (category, image file name, question without "Please answer yes or
    no."); labels from the MME answer key ``<category>.txt``
    (``image<TAB>question<TAB>Yes|No``).  Samples: keys in all three.
    """
    name = "mme-llava15-7b-vs-13b"
    input_dir = Path(input_dir)
    p_small = _locate(input_dir, _MME_ANSWERS[0], name, hints=("mme",), expected=MME_EXPECTED)
    p_large = _locate(input_dir, _MME_ANSWERS[1], name, hints=("mme",), expected=MME_EXPECTED)

    def key(row: dict) -> tuple[str, str, str]:
        category, _, image = str(row["question_id"]).partition("/")
        return category, PurePosixPath(image).name, _mme_question(row.get("prompt", ""))

    small = _answers(p_small, key)
    large = _answers(p_large, key)
    categories = sorted({k[0] for k in small} | {k[0] for k in large})
    gt_paths = []
    truth: dict[tuple[str, str, str], str] = {}
    for category in categories:
        path = _locate(input_dir, f"{category}.txt", name, hints=("mme_gt", "Your_Results", "mme"),
                       expected=MME_EXPECTED)
        gt_paths.append(path)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise InputError(f"{path}:{number}: {len(parts)} tab-separated fields; "
                                 "expected image, question, Yes|No")
            image, question, answer = parts
            truth[(category, PurePosixPath(image.strip()).name, _mme_question(question))] = \
                answer.strip().lower()
    keys = [k for k in large if k in small and k in truth]
    if not keys:
        raise InputError(f"{name}: no question is in both answer files and the MME answer key")
    spec = IMAGE_SPECS["mme"]
    rows: dict[str, list] = defaultdict(list)
    seen: Counter = Counter()
    for k in keys:
        category, image, question = k
        seen[(category, image)] += 1
        a_on, a_gr = str(small[k]["text"]), str(large[k]["text"])
        ref = truth[k]
        _add_sample(rows, sample_id=f"mme-{category}/{image}#{seen[(category, image)]}",
                    task="vqa",
                    prompt_tokens=prompt_tokens(str(large[k].get("prompt", question)), "llava_v1"),
                    onboard=a_on, ground=a_gr, onboard_score=metrics.exact_match(a_on, ref),
                    ground_score=metrics.exact_match(a_gr, ref), question=question,
                    reference_answer=ref, answer_similarity=_agree(a_on, a_gr, "yesno"),
                    image_id=f"{category}/{image}", category=category)
    table = _table(rows, spec)
    dropped = {"7b_only_or_unlabelled": len(small) - len(keys), "13b_only_or_unlabelled": len(large) - len(keys)}
    meta = {
        "name": name,
        "source": ("haotian-liu/LLaVA@32cebc380944 + Haoming2000/VLM-Benchmarks@6d394c981c5f: MME "
                   f"yes/no ({len(table):,} questions, 14 subtasks), answers of LLaVA-1.5-7B and -13B"),
        "citation": ("Fu et al., 'MME: A Comprehensive Evaluation Benchmark for Multimodal Large "
                     "Language Models', arXiv 2306.13394; Liu et al., 'Improved Baselines with "
                     "Visual Instruction Tuning', CVPR 2024 (LLaVA-1.5)"),
        "models": {"onboard": "LLaVA-1.5-7B", "ground": "LLaVA-1.5-13B"},
        "task": "vqa",
        "licence": ("Apache-2.0 (LLaVA: 13B answers, questions) + none declared (7B answers); MME "
                    "answer key research-only: derived per-sample facts, research use"),
        "licence_notes": ("LLaVA-1.5-13B answers and MME questions: Apache-2.0 (haotian-liu/LLaVA). "
                          f"LLaVA-1.5-7B answers: Haoming2000/VLM-Benchmarks {_UNDECLARED}. The MME "
                          "answer key is for academic research only (MME terms): only the per-sample "
                          "yes/no labels and correctness are shipped, with attribution, for research "
                          "use. MME images are not shipped (available on request from the MME "
                          "authors)."),
        "synthetic": False,
        "source_files": _inputs([p_small, p_large, *gt_paths], _MME_ORIGINS),
        "join": ("exact on (category, image file name, question without 'Please answer yes or "
                 f"no.', whitespace collapsed); rows not in all three files dropped: {dropped}"),
        "scoring": "yes/no from the answer's first word equals the key (metrics.exact_match)",
        "image_size_basis": spec.basis,
        "token_counts": "estimated (converters.estimate_tokens); prompt = LLaVA's prompt + LLaVA v1 chat template",
        "notes": ("General-domain perception and cognition yes/no questions, same-family 7B/13B "
                  "pair. Image sizes nominal. No token probabilities (missing)."),
    }
    return _trace(table, meta)
