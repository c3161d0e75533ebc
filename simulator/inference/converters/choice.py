"""CHOICE (440 remote-sensing questions): Qwen2-VL-7B-Instruct only, a single-model trace."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path, PurePosixPath

import numpy as np

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import Trace
from .common import (
    IMAGE_SPECS, _add_sample, _inputs, _measure_image, _read_json_list, _table, _trace,
    prompt_tokens,
)

_CHOICE_KEYS = ("id", "image_path", "query", "response", "label", "result")
_CHOICE_ORIGIN = {"repo": "ShawnAn-WHU/CHOICE",
                  "path": "ms-swift/infer_vlm/CHOICE_output/qwen2_vl_7b_instruct/<task>/<subtask>/<name>.json",
                  "commit": "eb6c4304305ae697235a41c7f57ff0c85b92fad7",
                  "licence": "MIT (Copyright 2025 An Xiao)"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
_IMG_TAG_RE = re.compile(r"<img>.*?</img>", re.DOTALL)


def _choice_files(input_dir: Path) -> list[Path]:
    """CHOICE prediction files below ``input_dir`` (JSON lists of records with the CHOICE fields)."""
    found = []
    for path in sorted(input_dir.rglob("*.json")):
        if not path.is_file() or path.stat().st_size > 50_000_000:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, list) and data and all(isinstance(r, dict) and set(_CHOICE_KEYS) <= set(r)
                                                   for r in data):
            found.append(path)
    if any("CHOICE_output" in p.parts for p in found):  # a repository checkout: this model's outputs only
        found = [p for p in found if "qwen2_vl_7b_instruct" in p.parts]
    return found


def _choice_image(image_path: str, roots: list[Path], index: dict[str, list[Path]]) -> Path | None:
    for root in roots:
        for base in (root, root / "CHOICE_subset"):
            candidate = base / image_path
            if candidate.is_file():
                return candidate
    parts = PurePosixPath(image_path).parts
    if len(parts) < 3:
        return None
    subtask = parts[-3]  # <task>/<group>/<subtask>/images/<file>
    hits = [p for p in index.get(parts[-1], []) if any(subtask in q for q in p.parts[:-1])]
    return hits[0] if len(hits) == 1 else None


def convert_choice(input_dir: Path, images_dir: Path | None = None) -> Trace:
    """CHOICE (440 remote-sensing questions): Qwen2-VL-7B-Instruct only -- a SINGLE-MODEL trace.

    The 440 answers are the ground model's.  The onboard columns repeat them
    (``meta["single_model"] = True``): there is no recorded onboard model, so
    the trace serves ground-side accuracy and CHOICE image sizes, not
    onboard/ground allocation comparisons.  Scores are CHOICE's own
    ``result`` field.  Images found under ``images_dir`` (default
    ``input_dir``) give measured sizes.
    """
    name = "choice-qwen2vl-7b"
    input_dir = Path(input_dir)
    files = _choice_files(input_dir)
    if not files:
        raise InputError(f"{name}: no CHOICE prediction files under {input_dir}; expected JSON lists of "
                         f"records with fields {', '.join(_CHOICE_KEYS)} "
                         "(CHOICE_output/qwen2_vl_7b_instruct/<task>/<subtask>/<name>.json)")
    records = []
    for path in files:
        records.extend(_read_json_list(path))
    ids = Counter(str(r["id"]) for r in records)
    dup = [k for k, v in ids.items() if v > 1]
    if dup:
        raise InputError(f"{name}: duplicate id {dup[0]!r} across the CHOICE files; expected unique ids")
    roots = [Path(images_dir)] if images_dir is not None else []
    roots.append(input_dir)
    index: dict[str, list[Path]] = defaultdict(list)
    for root in roots:
        if not root.is_dir():
            raise InputError(f"{name}: images folder {root} does not exist")
        for p in root.rglob("*"):
            if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file():
                index[p.name].append(p)
    spec = IMAGE_SPECS["choice"]
    rows: dict[str, list] = defaultdict(list)
    for r in sorted(records, key=lambda r: (str(r["image_path"]).rsplit("/images/", 1)[0], str(r["id"]))):
        image_path = str(r["image_path"])
        found = _choice_image(image_path, roots, index)
        if found is not None:
            width, height, nbytes = _measure_image(found)
            basis = "measured"
        else:
            width, height, nbytes, basis = spec.width, spec.height, spec.bytes, "nominal"
        query = _IMG_TAG_RE.sub("", str(r["query"])).strip()
        question = query.split("\n", 1)[1] if "\n" in query else query
        is_box = not isinstance(r["label"], str)
        label = json.dumps(r["label"]) if is_box else str(r["label"])
        answer = str(r["response"])
        correct = 1.0 if r["result"] is True else 0.0
        _add_sample(rows, sample_id=str(r["id"]), task="detection" if is_box else "mcq",
                    image_width_px=width, image_height_px=height, image_bytes=nbytes,
                    prompt_tokens=prompt_tokens(query, "qwen2"), onboard=answer, ground=answer,
                    onboard_score=correct, ground_score=correct, question=question,
                    reference_answer=label, image_id=image_path,
                    category=image_path.rsplit("/images/", 1)[0], image_size_basis=basis)
    table = _table(rows)
    mcq = table["task"] == "mcq"
    letter = np.array([metrics.mcq_score(a, b) for a, b in
                       zip(table.loc[mcq, "ground_answer"], table.loc[mcq, "reference_answer"])])
    disagree = int((letter != table.loc[mcq, "ground_score"].to_numpy()).sum())
    measured = int((table["image_size_basis"] == "measured").sum())
    origins = {}
    for p in files:
        inside = (p.name.replace("__", "/") if "__" in p.name
                  else "/".join(p.relative_to(input_dir).parts[-3:]))
        origins[p.name] = {**_CHOICE_ORIGIN,
                           "path": f"ms-swift/infer_vlm/CHOICE_output/qwen2_vl_7b_instruct/{inside}"}
    meta = {
        "name": name,
        "source": ("ShawnAn-WHU/CHOICE@eb6c4304305a: CHOICE subset (remote-sensing perception and "
                   f"reasoning, {len(table)} questions), answers of Qwen2-VL-7B-Instruct"),
        "citation": ("An et al., 'CHOICE: Benchmarking the Remote Sensing Capabilities of Large "
                     "Vision-Language Models', arXiv 2411.18145"),
        "models": {"onboard": "Qwen2-VL-7B-Instruct (same answers as ground: single-model trace)",
                   "ground": "Qwen2-VL-7B-Instruct"},
        "single_model": True,
        "task": "mcq",
        "licence": "MIT (Copyright 2025 An Xiao, ShawnAn-WHU/CHOICE)",
        "licence_notes": "MIT (Copyright 2025 An Xiao), ShawnAn-WHU/CHOICE; images not shipped.",
        "synthetic": False,
        "source_files": _inputs(files, origins),
        "join": (f"one model, no join; {measured} of {len(table)} samples joined to their image file "
                 "on image_path (sizes measured with Pillow)"),
        "scoring": ("CHOICE's own result field (its template match for option letters, its box rule "
                    "for the 20 visual-grounding answers). A plain option-letter match "
                    f"(metrics.mcq_score) disagrees with it on {disagree} multiple-choice answers."),
        "image_size_basis": spec.basis,
        "token_counts": ("estimated (converters.estimate_tokens); prompt = the full CHOICE query "
                         "without the image path + a 20-token chat template (ASSUMPTION)"),
        "notes": ("SINGLE-MODEL trace: only Qwen2-VL-7B-Instruct was recorded, so the onboard "
                  "columns repeat the ground model's answers and scores (single_model: true). Use it "
                  "for ground-side accuracy on remote-sensing questions and for CHOICE image sizes; "
                  "it says nothing about an onboard/ground accuracy gap. Tasks: mcq (420, option "
                  "letters) and detection (20 visual-grounding boxes, reference = the labelled "
                  "polygon)."),
    }
    return _trace(table, meta)
