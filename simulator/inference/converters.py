"""Recorded VLM predictions -> traces.

Public benchmark runs left per-sample answers in GitHub repositories.  Each
converter here reads one set of those files **from a folder you pass** (the
original repository files; the project never looks for them by itself), joins
the two models' answers sample by sample, scores them with
:mod:`simulator.inference.metrics` and returns a
:class:`~simulator.inference.traces.Trace`; :func:`convert` writes it.
The traces built this way ship in ``models/traces/`` (``PROVENANCE.md``
there lists sources, commits, licences and the measured accuracies).

======================================  ======================  ===================  ========
converter                               onboard                 ground               samples
======================================  ======================  ===================  ========
``ucm-llava15-7b-vs-geochat-7b``        LLaVA-1.5-7B            GeoChat-7B           2,100
``aid-llava15-7b-vs-geochat-7b``        LLaVA-1.5-7B            GeoChat-7B           3,000
``vqav2-qwen2vl-2b-vs-7b``              Qwen2-VL-2B-Instruct    Qwen2-VL-7B-Instr.   1,000
``rsvqa-lr-earthdial-vs-geochat``       EarthDial (4B)          GeoChat-7B           10,004
``choice-qwen2vl-7b``                   (single model)          Qwen2-VL-7B-Instr.   440
``pope-llava15-7b-vs-13b``              LLaVA-1.5-7B            LLaVA-1.5-13B        5,712
``mme-llava15-7b-vs-13b``               LLaVA-1.5-7B            LLaVA-1.5-13B        2,366
======================================  ======================  ===================  ========

Finding the files
-----------------
Each converter lists the file names it expects (``CONVERTERS[name][2]``).  A
file is taken from ``input_dir/<name>`` if it is there, else found by name
anywhere below ``input_dir`` -- so both a checkout of the source repository and
a flat folder of the files work.  Where two sources use one file name
(``llava-v1.5-7b.jsonl`` for POPE and for MME) the folder must name the
benchmark (a ``pope`` or ``mme`` folder in the path).

What every trace records
------------------------
* **scores** by the benchmark's own rule, so the published accuracies come
  out exactly (see each converter);
* ``answer_similarity`` -- 1.0 when the two models' answers agree after the
  task's normalisation, else 0.0 (the one-hot target of the paper's Eq. 1, as
  in the synthetic generator);
* **image sizes and bytes** from the dataset specification, *nominal* where
  images vary, *measured* where the image file is at hand (CHOICE); the basis
  is in the metadata (``image_size_basis``);
* **token counts** estimated from text (no tokenizer is available offline):
  :func:`estimate_tokens` of the answer plus one end-of-sequence token for
  the output; of the prompt text the model received plus the onboard model's
  chat template (:data:`CHAT_TEMPLATE_TOKENS`) for ``prompt_tokens``.  Visual
  tokens are not included: the simulator adds them from the image size
  (:mod:`simulator.compute`);
* columns that were not recorded are missing, never invented: no source has
  token probabilities, wall times or image features.  The UCM/AID traces carry
  a real per-sample *agreement* signal as ``onboard_confidence`` instead.

Extra columns (beyond the trace schema): ``image_id`` (the dataset's image
file, for joining real images), ``category`` (question type where the source
has one), and per source ``second_opinion_answer``, ``human_answers``,
``join_certain``, ``image_size_basis``.

Example (a tiny hand-made POPE folder)::

    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "pope"
    >>> folder.mkdir()
    >>> q = {"question_id": 1, "image": "COCO_val2014_000000000042.jpg",
    ...      "text": "Is there a dog in the image?\\nAnswer the question using a single word or phrase.",
    ...      "category": "random"}
    >>> _ = (folder / "llava_pope_test.jsonl").write_text(json.dumps(q) + "\\n")
    >>> for model, text in (("7b", "No"), ("13b", "Yes")):
    ...     _ = (folder / f"llava-v1.5-{model}.jsonl").write_text(json.dumps({"question_id": 1, "text": text}) + "\\n")
    >>> for cat, lines in (("adversarial", []), ("popular", []), ("random", [
    ...         {"question_id": 1, "image": q["image"], "text": "Is there a dog in the image?", "label": "yes"}])):
    ...     _ = (folder / f"coco_pope_{cat}.json").write_text("".join(json.dumps(x) + "\\n" for x in lines))
    >>> t = build("pope-llava15-7b-vs-13b", folder)
    >>> t.table[["sample_id", "onboard_score", "ground_score", "reference_answer"]].values.tolist()
    [['pope-1', 0.0, 1.0, 'yes']]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError, lookup
from simulator.inference import metrics
from simulator.inference.traces import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Trace,
    write_trace,
)

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1

# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(r"\d|[^\W\d_]+|[^\w\s]|_")


def estimate_tokens(text: str) -> int:
    """Estimated LLM tokens of ``text`` (no tokenizer needed).

    Each digit is one token (the LLaMA and Qwen2 tokenizers split numbers
    into digits), each other symbol one token, and each run of letters
    ``1 + (length - 1) // 6`` tokens: common words of up to 6 letters are one
    token, longer ones one more per 6 letters (``residential``: 2).  An
    estimate, good to about +-30 % on English prompts.

    >>> estimate_tokens("Dense residential"), estimate_tokens("311"), estimate_tokens("yes"), estimate_tokens("")
    (3, 3, 1, 0)
    """
    total = 0
    for piece in _TOKEN_RE.findall(str(text)):
        total += 1 + (len(piece) - 1) // 6 if piece[0].isalpha() else 1
    return total


def output_tokens(answer: str) -> int:
    """Tokens a model generated for ``answer``: the estimate plus one end-of-sequence token.

    >>> output_tokens("Dense residential"), output_tokens("")
    (4, 1)
    """
    return estimate_tokens(answer) + 1


_LLAVA_V1_TEMPLATE = (
    "A chat between a curious human and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the human's questions. USER: ASSISTANT:"
)
#: Prompt tokens of each model family's chat template around the user text.
#: ``llava_v1`` (LLaVA-1.5, GeoChat): its system sentence and role tags, counted
#: with :func:`estimate_tokens`.  ``qwen2`` (Qwen2-VL; also used for EarthDial's
#: InternVL2 chat format): 20, an ASSUMPTION -- 7 special tokens (im_start x3,
#: im_end x2, vision_start/end), the role names and the default system prompt.
CHAT_TEMPLATE_TOKENS = {"llava_v1": estimate_tokens(_LLAVA_V1_TEMPLATE), "qwen2": 20}


def prompt_tokens(prompt: str, template: str) -> int:
    """Text tokens of a prompt: :func:`estimate_tokens` plus the chat template's tokens.

    >>> prompt_tokens("Is there a dog in the image?", "qwen2")
    28
    """
    return estimate_tokens(prompt) + CHAT_TEMPLATE_TOKENS[template]


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageSpec:
    """Image size and stored bytes of a dataset's images, with the basis of the numbers."""

    width: int
    height: int
    bytes: int
    basis: str


#: Bytes of an uncompressed 256x256 RGB TIFF: 3 B/px + a 583 B header, measured
#: on 20 RSVQA-LR tiles (all exactly 197,191 B).
TIFF_256_BYTES = 256 * 256 * 3 + 583
#: Nominal JPEG bytes per pixel (ASSUMPTION, quality ~75-90 photos; COCO val2014
#: is about 6 GB for 40,504 images, ~150 KB or ~0.5 B/px at its typical 640x480).
JPEG_BYTES_PER_PX = 0.5

IMAGE_SPECS: dict[str, ImageSpec] = {
    "ucm": ImageSpec(256, 256, TIFF_256_BYTES,
                     "UC Merced Land Use: 256x256 RGB TIFF (dataset specification; a few images are "
                     "a little smaller, ignored); bytes nominal: uncompressed TIFF, 3 B/px + 583 B "
                     "header = 197,191 B (header measured on RSVQA-LR TIFF tiles of the same size)"),
    "aid": ImageSpec(600, 600, round(600 * 600 * JPEG_BYTES_PER_PX),
                     "AID: 600x600 RGB JPEG (dataset specification); bytes nominal: "
                     f"{JPEG_BYTES_PER_PX} B/px JPEG (ASSUMPTION) = 180,000 B"),
    "rsvqa-lr": ImageSpec(256, 256, TIFF_256_BYTES,
                          "RSVQA-LR: 256x256 Sentinel-2 RGB TIFF (dataset specification); bytes "
                          "197,191 B, measured on 20 RSVQA-LR tiles (all equal)"),
    "coco": ImageSpec(640, 480, round(640 * 480 * JPEG_BYTES_PER_PX),
                      "COCO val2014 (VQAv2, POPE): sizes vary (most are 640 px on the long side); "
                      "NOMINAL 640x480 for every sample; bytes nominal "
                      f"{JPEG_BYTES_PER_PX} B/px JPEG = 153,600 B (COCO val2014 is about 6 GB "
                      "for 40,504 images, ~150 KB each)"),
    "mme": ImageSpec(640, 480, round(640 * 480 * JPEG_BYTES_PER_PX),
                     "MME: images from COCO, Places365, artworks, posters, ... sizes vary; "
                     f"NOMINAL 640x480 JPEG at {JPEG_BYTES_PER_PX} B/px = 153,600 B for every sample"),
    "choice": ImageSpec(512, 512, 436377,
                        "CHOICE: PNG images; MEASURED (PIL size, file bytes) where the image file is "
                        "in the input folder (column image_size_basis = 'measured'), else NOMINAL "
                        "512x512 and 436,377 B: the size of all 20 CHOICE scene-classification "
                        "images and their mean file size (1.66 B/px)"),
}


def _measure_image(path: Path) -> tuple[int, int, int]:
    """(width, height, bytes) of an image file, read with Pillow (header only)."""
    try:
        from PIL import Image
    except ImportError:
        raise InputError("reading image sizes needs Pillow: install pillow") from None
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Exception as exc:  # noqa: BLE001 -- Pillow raises several types for a damaged file
        raise InputError(f"{path}: cannot read as an image ({type(exc).__name__}: {exc})") from None
    return int(width), int(height), int(path.stat().st_size)


# --------------------------------------------------------------------------- files


def _locate(input_dir: Path, filename: str, converter: str, hints: tuple[str, ...] = ()) -> Path:
    """``input_dir/filename`` or the one file of that name below ``input_dir``.

    With several candidates, those with a folder named like one of ``hints``
    (case-insensitive) in their path are kept.
    """
    direct = input_dir / filename
    if direct.is_file():
        return direct
    name = PurePosixPath(filename).name
    found = sorted(p for p in input_dir.rglob(name) if p.is_file())
    if len(found) > 1 and hints:
        lowered = tuple(h.lower() for h in hints)
        keep = [p for p in found
                if any(h in part.lower() for part in p.relative_to(input_dir).parts[:-1] for h in lowered)]
        found = keep or found
    if len(found) == 1:
        return found[0]
    expected = ", ".join(CONVERTERS[converter][2]) if converter in CONVERTERS else filename
    if not found:
        raise InputError(f"{converter}: no file {filename!r} in {input_dir} or below; expected {expected}")
    listed = ", ".join(str(p.relative_to(input_dir)) for p in found[:4])
    raise InputError(f"{converter}: {len(found)} files named {name!r} under {input_dir} ({listed}); "
                     f"expected one (pass the folder that holds only this source's files)")


def _read_jsonl(path: Path) -> list[dict]:
    """Records of a JSON-lines file (a JSON list is accepted too)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _read_json_list(path, text)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg}); expected one object per line") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{number}: a {type(row).__name__}; expected a JSON object per line")
        rows.append(row)
    return rows


def _read_json_list(path: Path, text: str | None = None) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") if text is None else text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); expected a list of objects") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: expected a JSON list of objects")
    return data


def _need(row: dict, keys: tuple[str, ...], path: Path, index: int) -> None:
    absent = [k for k in keys if k not in row]
    if absent:
        raise InputError(f"{path}: record {index + 1} lacks field(s) {', '.join(absent)}; "
                         f"expected {', '.join(keys)}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inputs(paths: list[Path], origins: dict[str, dict]) -> list[dict]:
    """Metadata rows for the files read: name, SHA-256, and the known upstream origin."""
    out = []
    for p in paths:
        entry = {"file": p.name, "sha256": _sha256(p)}
        entry.update(origins.get(p.name, {}))
        out.append(entry)
    return out


# --------------------------------------------------------------------------- common


def _agree(a: str, b: str, how: str) -> float:
    if how == "label":
        return float(metrics.normalize_label(a) == metrics.normalize_label(b))
    if how == "yesno":
        ya, yb = metrics.yes_no(a), metrics.yes_no(b)
        if ya is not None or yb is not None:
            return float(ya == yb)
    return float(metrics.normalize_vqa_answer(a) == metrics.normalize_vqa_answer(b))


def summarise(table: pd.DataFrame) -> dict[str, Any]:
    """Accuracies of a trace table: onboard, ground, oracle (mean of the max) and joint counts.

    Joint counts call a sample correct when its score is 1.

    >>> summarise(pd.DataFrame({"onboard_score": [1.0, 0.0, 1.0], "ground_score": [1.0, 1.0, 0.0]}))["oracle"]
    1.0
    """
    on = table["onboard_score"].to_numpy(float)
    gr = table["ground_score"].to_numpy(float)
    c_on, c_gr = on >= 1.0, gr >= 1.0
    return {
        "n": len(table),
        "onboard": round(float(on.mean()), 6),
        "ground": round(float(gr.mean()), 6),
        "oracle": round(float(np.maximum(on, gr).mean()), 6),
        "both_correct": int((c_on & c_gr).sum()),
        "onboard_only_correct": int((c_on & ~c_gr).sum()),
        "ground_only_correct": int((~c_on & c_gr).sum()),
        "neither_correct": int((~c_on & ~c_gr).sum()),
    }


def _add_sample(rows: dict[str, list], *, sample_id: str, task: str, prompt_tokens: int,
                onboard: str, ground: str, onboard_score: float, ground_score: float,
                **columns) -> None:
    """Append one sample answered by both models to the column lists ``rows``.

    Output token counts are estimated from the two answers; ``columns`` are the
    other columns of the row (question, reference, similarity, ids, ...), in order.
    """
    fields = {"sample_id": sample_id, "task": task, **{k: columns.pop(k) for k in
              ("image_width_px", "image_height_px", "image_bytes") if k in columns},
              "prompt_tokens": prompt_tokens, "onboard_answer": onboard, "ground_answer": ground,
              "onboard_score": onboard_score, "ground_score": ground_score,
              "onboard_output_tokens": output_tokens(onboard),
              "ground_output_tokens": output_tokens(ground), **columns}
    for key, value in fields.items():
        rows[key].append(value)


def _table(rows: dict[str, list], spec: ImageSpec | None = None) -> pd.DataFrame:
    """A trace table with the schema's dtypes; image columns from ``spec`` unless given."""
    n = len(rows["sample_id"])
    if spec is not None:
        rows.setdefault("image_width_px", [spec.width] * n)
        rows.setdefault("image_height_px", [spec.height] * n)
        rows.setdefault("image_bytes", [spec.bytes] * n)
    table = pd.DataFrame(rows)
    order = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in table.columns]
    table = table[order + [c for c in table.columns if c not in order]]
    for col in ("image_width_px", "image_height_px", "image_bytes", "prompt_tokens",
                "onboard_output_tokens", "ground_output_tokens"):
        table[col] = table[col].astype("int64")
    for col in ("onboard_score", "ground_score", "onboard_confidence", "answer_similarity"):
        if col in table.columns:
            table[col] = table[col].astype("float64")
    return table


def _trace(table: pd.DataFrame, meta: dict[str, Any]) -> Trace:
    meta = dict(meta)
    meta.setdefault("synthetic", False)
    meta["n_samples"] = len(table)
    meta["accuracy"] = summarise(table)
    meta["converter"] = f"simulator.inference.converters {meta['name']} v{CONVERTER_VERSION}"
    trace = Trace(table.reset_index(drop=True), meta)
    trace.validate()
    acc = meta["accuracy"]
    log.info("converted %s: %d samples, onboard %.4f, ground %.4f, oracle %.4f",
             meta["name"], len(table), acc["onboard"], acc["ground"], acc["oracle"])
    return trace


_UNDECLARED = ("declares no licence: shipped here are only per-sample facts derived from it "
               "(ids, answers, correctness, sizes), with attribution, never the file itself")

# --------------------------------------------------------------------------- GeoChat-Bench UCM / AID

_PIECHAT = {"repo": "whu-pzhang/piechat", "commit": "971468c566700d0aa98c1b1315359d3194a09b54",
            "licence": "none declared (no LICENSE file)"}
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
    paths = [_locate(input_dir, f, name) for f in _SCENE_FILES[dataset]]
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


# --------------------------------------------------------------------------- VQAv2 Qwen2-VL 2B / 7B

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
    paths = [_locate(input_dir, f, name) for f in _VQAV2_FILES]
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


# --------------------------------------------------------------------------- RSVQA-LR EarthDial / GeoChat

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
    p_ed = _locate(input_dir, _RSVQA_FILES[0], name)
    p_gc = _locate(input_dir, _RSVQA_FILES[1], name)
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


# --------------------------------------------------------------------------- CHOICE Qwen2-VL-7B

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


# --------------------------------------------------------------------------- LLaVA-1.5 POPE / MME

_LLAVA = {"repo": "haotian-liu/LLaVA", "commit": "32cebc3809441cc40d8ac7b2855d148308741f2a",
          "licence": "Apache-2.0"}
_VLMBENCH = {"repo": "Haoming2000/VLM-Benchmarks", "commit": "6d394c981c5f7300c12905b2d5bbb14898399730",
             "licence": "none declared at repository root"}
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


def _first_line(text: str) -> str:
    return str(text).split("\n", 1)[0].strip()


def _answers(path: Path, key: Callable[[dict], Any]) -> dict:
    out = {}
    for i, row in enumerate(_read_jsonl(path)):
        _need(row, ("question_id", "text"), path, i)
        k = key(row)
        if k in out:
            raise InputError(f"{path}: record {i + 1}: a second answer for {k!r}")
        out[k] = row
    return out


def convert_pope(input_dir: Path) -> Trace:
    """POPE (COCO object hallucination, yes/no): onboard LLaVA-1.5-7B, ground LLaVA-1.5-13B.

    Joined on LLaVA's question_id; labels from the POPE files on (category,
    image, question).  Samples: those both models answered.
    """
    name = "pope-llava15-7b-vs-13b"
    input_dir = Path(input_dir)
    paths = {f: _locate(input_dir, f, name, hints=("pope",)) for f in _POPE_FILES}
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
    p_small = _locate(input_dir, _MME_ANSWERS[0], name, hints=("mme",))
    p_large = _locate(input_dir, _MME_ANSWERS[1], name, hints=("mme",))

    def key(row: dict) -> tuple[str, str, str]:
        category, _, image = str(row["question_id"]).partition("/")
        return category, PurePosixPath(image).name, _mme_question(row.get("prompt", ""))

    small = _answers(p_small, key)
    large = _answers(p_large, key)
    categories = sorted({k[0] for k in small} | {k[0] for k in large})
    gt_paths = []
    truth: dict[tuple[str, str, str], str] = {}
    for category in categories:
        path = _locate(input_dir, f"{category}.txt", name, hints=("mme_gt", "Your_Results", "mme"))
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


# --------------------------------------------------------------------------- registry

#: name -> (builder(input_dir, **options) -> Trace, description, expected files).
CONVERTERS: dict[str, tuple[Callable[..., Trace], str, tuple[str, ...]]] = {
    "ucm-llava15-7b-vs-geochat-7b": (
        convert_ucm,
        ("UC Merced scene classification (GeoChat-Bench, 2,100): LLaVA-1.5-7B vs GeoChat-7B "
         "(+ LLaVA-1.6 agreement as onboard_confidence) [whu-pzhang/piechat]"),
        _SCENE_FILES["ucm"],
    ),
    "aid-llava15-7b-vs-geochat-7b": (
        convert_aid,
        ("AID scene classification (GeoChat-Bench, 3,000): LLaVA-1.5-7B vs GeoChat-7B "
         "(+ LLaVA-1.6 agreement as onboard_confidence) [whu-pzhang/piechat]"),
        _SCENE_FILES["aid"],
    ),
    "vqav2-qwen2vl-2b-vs-7b": (
        convert_vqav2,
        ("VQAv2 val (1,000): Qwen2-VL-2B vs Qwen2-VL-7B, VQA accuracy "
         "[duongtruongbinh/Improve_ViVQA-X_baseline]"),
        _VQAV2_FILES,
    ),
    "rsvqa-lr-earthdial-vs-geochat": (
        convert_rsvqa_lr,
        ("RSVQA-LR (10,004): EarthDial vs GeoChat-7B, APPROXIMATE join "
         "[hiyamdebary/EarthDial + whu-pzhang/piechat]"),
        _RSVQA_FILES,
    ),
    "choice-qwen2vl-7b": (
        convert_choice,
        ("CHOICE remote-sensing MCQ (440): Qwen2-VL-7B only, SINGLE-MODEL trace; image sizes "
         "measured where images are present [ShawnAn-WHU/CHOICE]"),
        ("CHOICE_output/qwen2_vl_7b_instruct/<task>/<subtask>/<name>.json (22 files, any layout)",
         "optional: CHOICE_subset/<image_path> images"),
    ),
    "pope-llava15-7b-vs-13b": (
        convert_pope,
        ("POPE yes/no (5,712): LLaVA-1.5-7B vs LLaVA-1.5-13B "
         "[haotian-liu/LLaVA + Haoming2000/VLM-Benchmarks]"),
        tuple(f"pope/{f}" for f in _POPE_FILES),
    ),
    "mme-llava15-7b-vs-13b": (
        convert_mme,
        ("MME yes/no (2,366): LLaVA-1.5-7B vs LLaVA-1.5-13B "
         "[haotian-liu/LLaVA + Haoming2000/VLM-Benchmarks]"),
        (*(f"mme/{f}" for f in _MME_ANSWERS), "mme_gt/<category>.txt (14 MME answer-key files)"),
    ),
}


def build(name: str, input_dir: str | os.PathLike, **options: Any) -> Trace:
    """The trace of converter ``name`` from the files under ``input_dir`` (not written)."""
    builder = lookup(CONVERTERS, name, "traces convert", "converter")[0]
    folder = Path(input_dir)
    if not folder.is_dir():
        raise InputError(f"converter {name}: input folder {folder} does not exist; "
                         "expected the folder holding the source's prediction files")
    return builder(folder, **options)


def convert(name: str, input_dir: str | os.PathLike, out_dir: str | os.PathLike,
            **options: Any) -> list[Path]:
    """Build converter ``name``'s trace from ``input_dir`` and write ``out_dir/<name>.parquet`` (+ .json).

    Returns the written ``.parquet`` paths.  ``options`` go to the converter
    (``images_dir`` for ``choice-qwen2vl-7b``).
    """
    trace = build(name, input_dir, **options)
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    return [write_trace(trace, folder / f"{trace.name}.parquet")]
