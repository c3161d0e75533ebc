"""What every converter shares: token estimates, image specifications, reading the
source files, the trace table, and the origins of the recorded answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.inference import metrics
from simulator.inference.traces import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, Trace

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


def _locate(input_dir: Path, filename: str, converter: str, hints: tuple[str, ...] = (),
            expected: tuple[str, ...] = ()) -> Path:
    """``input_dir/filename`` or the one file of that name below ``input_dir``.

    With several candidates, those with a folder named like one of ``hints``
    (case-insensitive) in their path are kept.  ``expected`` (the converter's
    file list, ``CONVERTERS[converter][2]``) is named when the file is missing.
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
    if not found:
        listing = ", ".join(expected) if expected else filename
        raise InputError(f"{converter}: no file {filename!r} in {input_dir} or below; expected {listing}")
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

# --------------------------------------------------------------------------- source origins

_PIECHAT = {"repo": "whu-pzhang/piechat", "commit": "971468c566700d0aa98c1b1315359d3194a09b54",
            "licence": "none declared (no LICENSE file)"}
_LLAVA = {"repo": "haotian-liu/LLaVA", "commit": "32cebc3809441cc40d8ac7b2855d148308741f2a",
          "licence": "Apache-2.0"}
_VLMBENCH = {"repo": "Haoming2000/VLM-Benchmarks", "commit": "6d394c981c5f7300c12905b2d5bbb14898399730",
             "licence": "none declared at repository root"}


# --------------------------------------------------------------------------- answer files

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
