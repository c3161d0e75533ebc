"""POPE (COCO object hallucination, yes/no): LLaVA-1.5-7B vs LLaVA-1.5-13B."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import Trace
from .common import (
    IMAGE_SPECS, _LLAVA, _UNDECLARED, _VLMBENCH, _add_sample, _agree, _answers, _first_line,
    _inputs, _locate, _need, _read_jsonl, _table, _trace, prompt_tokens,
)

_POPE_FILES = ("llava-v1.5-7b.jsonl", "llava-v1.5-13b.jsonl", "llava_pope_test.jsonl",
               "coco_pope_adversarial.json", "coco_pope_popular.json", "coco_pope_random.json")
_POPE_ORIGINS = {
    "llava-v1.5-7b.jsonl": {**_VLMBENCH, "path": "playground/data/eval/pope/answers/llava-v1.5-7b.jsonl"},
    "llava-v1.5-13b.jsonl": {**_LLAVA, "path": "playground/data/eval/pope/answers/llava-v1.5-13b.jsonl"},
    "llava_pope_test.jsonl": {**_LLAVA, "path": "playground/data/eval/pope/llava_pope_test.jsonl"},
    **{f"coco_pope_{c}.json": {**_VLMBENCH, "path": f"playground/data/eval/pope/coco/coco_pope_{c}.json",
                               "licence": "none declared; POPE benchmark label file"}
       for c in ("adversarial", "popular", "random")},
}
#: The files the converter expects, as ``spaceverse traces converters`` lists them.
POPE_EXPECTED = tuple(f"pope/{f}" for f in _POPE_FILES)

def convert_pope(input_dir: Path) -> Trace:
    """POPE (COCO object hallucination, yes/no): onboard LLaVA-1.5-7B, ground LLaVA-1.5-13B.

    Joined on LLaVA's question_id; labels from the POPE files on (category,
    image, question).  Samples: those both models answered.
    """
    name = "pope-llava15-7b-vs-13b"
    input_dir = Path(input_dir)
    paths = {f: _locate(input_dir, f, name, hints=("pope",), expected=POPE_EXPECTED)
             for f in _POPE_FILES}
    questions = {}
    for i, row in enumerate(_read_jsonl(paths["llava_pope_test.jsonl"])):
        _need(row, ("question_id", "image", "text", "category"), paths["llava_pope_test.jsonl"], i)
        questions[row["question_id"]] = row
    labels = {}
    for cat in ("adversarial", "popular", "random"):
        path = paths[f"coco_pope_{cat}.json"]
        for i, row in enumerate(_read_jsonl(path)):
            _need(row, ("image", "text", "label"), path, i)
            labels[(cat, row["image"], _first_line(row["text"]))] = str(row["label"]).strip().lower()
    small = _answers(paths["llava-v1.5-7b.jsonl"], lambda r: r["question_id"])
    large = _answers(paths["llava-v1.5-13b.jsonl"], lambda r: r["question_id"])
    spec = IMAGE_SPECS["coco"]
    rows: dict[str, list] = defaultdict(list)
    for qid in sorted(set(small) & set(large), key=lambda q: (str(type(q)), q)):
        if qid not in questions:
            raise InputError(f"{name}: question_id {qid!r} answered but not in llava_pope_test.jsonl")
        q = questions[qid]
        key = (q["category"], q["image"], _first_line(q["text"]))
        if key not in labels:
            raise InputError(f"{name}: no POPE label for question_id {qid!r} {key}")
        ref = labels[key]
        a_on, a_gr = str(small[qid]["text"]), str(large[qid]["text"])
        _add_sample(rows, sample_id=f"pope-{qid}", task="vqa",
                    prompt_tokens=prompt_tokens(q["text"], "llava_v1"), onboard=a_on,
                    ground=a_gr, onboard_score=metrics.exact_match(a_on, ref),
                    ground_score=metrics.exact_match(a_gr, ref), question=_first_line(q["text"]),
                    reference_answer=ref, answer_similarity=_agree(a_on, a_gr, "yesno"),
                    image_id=str(q["image"]), category=str(q["category"]))
    if not rows:
        raise InputError(f"{name}: the 7B and 13B answer files share no question_id")
    table = _table(rows, spec)
    cats = dict(Counter(table["category"]))
    meta = {
        "name": name,
        "source": ("haotian-liu/LLaVA@32cebc380944 + Haoming2000/VLM-Benchmarks@6d394c981c5f: POPE "
                   f"on COCO val2014 ({len(table):,} questions), answers of LLaVA-1.5-7B and -13B"),
        "citation": ("Li et al., 'Evaluating Object Hallucination in Large Vision-Language Models', "
                     "EMNLP 2023 (POPE); Liu et al., 'Improved Baselines with Visual Instruction "
                     "Tuning', CVPR 2024 (LLaVA-1.5)"),
        "models": {"onboard": "LLaVA-1.5-7B", "ground": "LLaVA-1.5-13B"},
        "task": "vqa",
        "licence": ("Apache-2.0 (LLaVA: 13B answers, questions) + none declared (7B answers, "
                    "labels): derived per-sample facts, with attribution"),
        "licence_notes": ("LLaVA-1.5-13B answers and POPE questions (llava_pope_test.jsonl): "
                          "Apache-2.0 (haotian-liu/LLaVA). LLaVA-1.5-7B answers and POPE labels: "
                          f"Haoming2000/VLM-Benchmarks {_UNDECLARED}. COCO images (CC BY 4.0) are "
                          "not shipped."),
        "synthetic": False,
        "source_files": _inputs(list(paths.values()), _POPE_ORIGINS),
        "join": ("exact: answers on LLaVA's question_id; labels on (category, image, question "
                 "without the 'Answer the question...' line). Samples = questions both models "
                 f"answered: {cats} (the 7B file covers adversarial and part of random)"),
        "scoring": "yes/no from the answer's first word equals the label (metrics.exact_match)",
        "image_size_basis": spec.basis,
        "token_counts": "estimated (converters.estimate_tokens); prompt = LLaVA's prompt + LLaVA v1 chat template",
        "notes": ("General-domain (not remote-sensing) hallucination probe with a same-family 7B/13B "
                  "pair; the two models are almost equally accurate. Image sizes nominal. No token "
                  "probabilities (missing)."),
    }
    return _trace(table, meta)
