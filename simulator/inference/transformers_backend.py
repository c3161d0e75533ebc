"""Run a real Qwen2-VL model on one image + prompt, in stages, with timings.

This is how traces get recorded (:mod:`simulator.inference.record`): the
simulator itself never runs a VLM inside its event loop.  One class,
:class:`QwenVLBackend`, serves both sides of the paper's system -- the onboard
Qwen2-VL-2B and the ground Qwen2-VL-7B are the same architecture at two sizes.

What one :meth:`QwenVLBackend.generate` call does
-------------------------------------------------
1. **preprocess** -- the chat template wraps the prompt as a user turn with
   one image; the image processor resizes the image to a multiple of 28 px
   (``patch_size`` x ``merge_size``) and cuts it into 14 px patches; the one
   ``<|image_pad|>`` placeholder is widened to one per *visual token* (one per
   2 x 2 patches).  Not timed.
2. **encode** (``encode_s``) -- the vision tower turns the patches into visual
   tokens of the language model's width (1536 for the 2B).  Their mean is
   the image feature ``V(x)`` of the paper's section 3.1 (``features``).
3. **prefill** (``prefill_s``) -- one forward pass of the language model over
   the prompt with the visual tokens spliced in, filling the key-value cache;
   its last logits give the first answer token.
4. **decode** (``decode_s``) -- greedy decoding, one token per forward pass
   reading the cache.  Tokens are grouped in **stages** of ``N_t``
   (``stage_tokens``) tokens, the paper's progressive confidence network
   (section 3.1.3): after stage ``i`` the partial answer
   ``A_i = a_1 .. a_{i N_t}`` is available to decide whether to go on.
   Decoding ends at an end-of-sequence token, after ``max_new_tokens`` tokens,
   or -- to model early termination -- after ``max_stages`` stages.

Every generated token's probability (the softmax of the raw logits at the
chosen token) is kept; their mean is ``mean_token_prob``, a cheap confidence.
Times are ``time.perf_counter`` wall seconds, with ``torch.cuda.synchronize``
before each reading on a GPU.

Decoding is plain greedy (argmax of the raw logits): no repetition penalty,
even where a checkpoint's ``generation_config.json`` asks for one (Qwen2-VL's
asks for 1.05), so :meth:`generate` returns what
``model.generate(do_sample=False, repetition_penalty=1.0)`` returns.

Loading is offline only: ``from_pretrained(folder, local_files_only=True)``
(and ``HF_HUB_OFFLINE=1`` is set on import).  ``transformers`` 5.x cannot
build ``Qwen2VLProcessor`` without ``torchvision`` (its *video* processor needs
it); where that fails, the backend composes the checkpoint's tokenizer and
image processor itself, doing what the processor does for one image.

Example (a tiny random model, see :mod:`simulator.inference.tiny_models`)::

    >>> import tempfile
    >>> from PIL import Image
    >>> from simulator.inference.tiny_models import build_tiny_qwen2vl
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     vlm = QwenVLBackend(build_tiny_qwen2vl(tmp), max_new_tokens=8)
    ...     out = vlm.generate(Image.new("RGB", (64, 48)), "How many ships?", stage_tokens=3)
    >>> [len(s.tokens) for s in out.stages], out.features.shape
    ([3, 3, 2], (64,))
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError

from simulator.errors import InputError

log = logging.getLogger(__name__)

# transformers / huggingface_hub are imported lazily, after this: never reach for
# the network (every load also passes local_files_only=True).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Accepted ``dtype`` spellings -> torch dtypes.
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}

_WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin")

#: What ``from_pretrained`` raises for a broken folder: missing or corrupt files,
#: weights that do not fit the config, out of memory.
LOAD_ERRORS = (OSError, ValueError, RuntimeError, SafetensorError)


def load_error(folder: Path, what: str, exc: BaseException) -> InputError:
    """A one-line :class:`InputError` for a failed ``from_pretrained`` of ``what``."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return InputError(f"model directory {folder}: cannot load {what} ({first})")


# --------------------------------------------------------------------------- checks shared with clip_attention


def check_model_dir(model_dir: str | os.PathLike, model_types: tuple[str, ...], example: str) -> Path:
    """``model_dir`` as a :class:`Path` if it holds a checkpoint of one of ``model_types``.

    Raises :class:`InputError` naming the folder when it is missing, has no
    ``config.json``, is another architecture, or has no weight files.
    ``example`` names a suitable checkpoint for the message.
    """
    folder = Path(model_dir).expanduser()
    if not folder.exists():
        raise InputError(f"model directory {folder}: does not exist (expected a folder such as {example})")
    if not folder.is_dir():
        raise InputError(f"model directory {folder}: not a folder (expected a folder such as {example})")
    config = folder / "config.json"
    if not config.is_file():
        raise InputError(
            f"model directory {folder}: no config.json "
            "(expected a Hugging Face model folder saved with save_pretrained)"
        )
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise InputError(f"model directory {folder}: config.json is not a JSON object ({exc})") from None
    if model_type not in model_types:
        raise InputError(
            f"model directory {folder}: model_type is {model_type!r}; "
            f"expected {' or '.join(repr(t) for t in model_types)} (a checkpoint such as {example})"
        )
    if not any(next(folder.glob(p), None) for p in _WEIGHT_PATTERNS):
        raise InputError(
            f"model directory {folder}: no weights (expected model.safetensors or its shards "
            "next to config.json)"
        )
    return folder


def resolve_dtype(dtype: str | torch.dtype, where: Path) -> torch.dtype:
    """A torch dtype from ``"float32"``, ``"bfloat16"``, ``"float16"`` (or ``fp32``/``bf16``/``fp16``)."""
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    key = str(dtype).strip().lower()
    if key not in DTYPES:
        raise InputError(
            f"model directory {where}: dtype {dtype!r} unknown; expected float32, bfloat16 or float16"
        )
    return DTYPES[key]


def resolve_device(device: str | torch.device, where: Path) -> torch.device:
    """A torch device, or :class:`InputError` if it does not exist on this machine."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"model directory {where}: device {device!r} unknown ({exc}); expected cpu or cuda") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"model directory {where}: device {device!r} asked for but CUDA is not available "
                f"on this machine (torch {torch.__version__}); use device='cpu'"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(
                f"model directory {where}: device {device!r} but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif dev.type != "cpu":
        raise InputError(f"model directory {where}: device {device!r} not supported; expected cpu or cuda")
    return dev


def describe_device(device: torch.device) -> str:
    """``"cpu: <processor>"`` or the CUDA device's name, for trace metadata."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu: {platform.processor() or platform.machine() or 'unknown'}"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock reading includes it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def as_rgb(image: Any) -> Image.Image:
    """A PIL RGB image from a PIL image or an image file path."""
    if isinstance(image, (str, os.PathLike)):
        try:
            with Image.open(image) as opened:
                return opened.convert("RGB")
        except (OSError, ValueError) as exc:
            raise InputError(f"image {image}: cannot read ({exc})") from None
    if not isinstance(image, Image.Image):
        raise InputError(f"image is a {type(image).__name__}; expected a PIL image or an image file path")
    return image if image.mode == "RGB" else image.convert("RGB")


# --------------------------------------------------------------------------- results


@dataclass
class StageOutput:
    """One stage of ``N_t`` decoded tokens (fewer in the last stage).

    ``tokens`` are this stage's new token ids (an end-of-sequence token
    included, if it ended the answer); ``token_probs`` their probabilities;
    ``text`` the *cumulative* partial answer ``A_i`` after this stage (all
    tokens so far, decoded without special tokens); ``seconds`` the decode
    wall time spent on this stage's tokens (the first stage's first token comes
    from the prefill pass, timed in ``prefill_s``); ``finished`` whether the
    answer is complete (end-of-sequence or ``max_new_tokens`` reached).
    """

    tokens: list[int]
    text: str
    token_probs: list[float]
    seconds: float
    finished: bool

    @property
    def mean_prob(self) -> float:
        """Mean probability of this stage's tokens."""
        return float(np.mean(self.token_probs)) if self.token_probs else float("nan")


@dataclass
class VLMResult:
    """Everything one :meth:`QwenVLBackend.generate` call measured.

    ``answer`` is the decoded answer (special tokens dropped, whitespace
    stripped); ``output_tokens`` counts every generated token, an ending
    end-of-sequence token included (it cost a decode step);
    ``features`` is ``V(x)`` (float32, the language model's width);
    ``prompt_tokens`` counts the text tokens of the templated prompt and
    ``visual_tokens`` the image's tokens (their sum is the prefill length).
    """

    answer: str
    output_tokens: int
    stages: list[StageOutput]
    features: np.ndarray
    prompt_tokens: int
    visual_tokens: int
    encode_s: float
    prefill_s: float
    decode_s: float
    mean_token_prob: float
    tokens: list[int] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        """Encode + prefill + decode seconds."""
        return self.encode_s + self.prefill_s + self.decode_s

    @property
    def finished(self) -> bool:
        """False when ``max_stages`` cut the answer short."""
        return bool(self.stages) and self.stages[-1].finished


# --------------------------------------------------------------------------- preprocessing


class _ComposedProcessor:
    """What ``Qwen2VLProcessor`` does for text with one image, from its two parts.

    Used when ``AutoProcessor`` cannot be built (no ``torchvision``).  The
    image processor gives ``pixel_values`` (patches) and ``image_grid_thw``
    (temporal x height x width patches); the ``<|image_pad|>`` placeholder in
    the text is repeated once per visual token (``t*h*w / merge_size**2``);
    ``mm_token_type_ids`` marks those tokens 1 (text 0), which M-RoPE needs to
    give them 2-D positions.
    """

    def __init__(self, tokenizer, image_processor, image_token: str = "<|image_pad|>") -> None:
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.image_token = image_token
        self.image_token_id = tokenizer.convert_tokens_to_ids(image_token)

    def __call__(self, text: str, image) -> dict[str, torch.Tensor]:
        vision = self.image_processor(images=[image], return_tensors="pt")
        grid = vision["image_grid_thw"]
        n_visual = int(grid[0].prod()) // int(self.image_processor.merge_size) ** 2
        if text.count(self.image_token) != 1:
            raise ValueError(f"expected one {self.image_token} in the templated prompt, "
                             f"found {text.count(self.image_token)}")
        text = text.replace(self.image_token, self.image_token * n_visual)
        encoded = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        ids = encoded["input_ids"]
        return {
            "input_ids": ids,
            "attention_mask": encoded["attention_mask"],
            "pixel_values": vision["pixel_values"],
            "image_grid_thw": grid,
            "mm_token_type_ids": (ids == self.image_token_id).to(torch.int32),
        }


def _chatml(prompt: str) -> str:
    """Qwen's ChatML turn with one image, for checkpoints without a chat template."""
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{prompt}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


# --------------------------------------------------------------------------- backend


class QwenVLBackend:
    """A Qwen2-VL checkpoint on one device: :meth:`vision_features` and staged :meth:`generate`.

    ``model_dir`` is a local folder saved with ``save_pretrained`` (e.g. a
    download of ``Qwen/Qwen2-VL-2B-Instruct``); ``dtype`` one of ``float32``,
    ``bfloat16``, ``float16``; ``max_new_tokens`` caps every answer; ``name``
    defaults to the folder's name.  Mistakes (no folder, no ``config.json``,
    another architecture, unknown dtype, CUDA asked for but absent) raise
    :class:`InputError` naming the folder.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        *,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype = "float32",
        max_new_tokens: int = 32,
        name: str | None = None,
    ) -> None:
        where = Path(model_dir).expanduser()
        self.dtype = resolve_dtype(dtype, where)
        self.model_dir = check_model_dir(where, ("qwen2_vl",), "Qwen2-VL-2B-Instruct")
        self.device = resolve_device(device, self.model_dir)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise InputError(f"max_new_tokens={max_new_tokens!r}; expected a whole number >= 1")
        self.max_new_tokens = max_new_tokens
        self.name = name or self.model_dir.name
        self._load()

    def _load(self) -> None:
        from transformers import (
            AutoImageProcessor,
            AutoTokenizer,
            Qwen2VLForConditionalGeneration,
        )

        folder = self.model_dir
        started = time.perf_counter()
        try:
            self.model = Qwen2VLForConditionalGeneration.from_pretrained(
                folder, dtype=self.dtype, local_files_only=True
            )
        except LOAD_ERRORS as exc:
            raise load_error(folder, "the model", exc) from None
        self.model.to(self.device).eval()
        self.processor = None
        try:
            from transformers import AutoProcessor

            self.processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
            self.tokenizer = self.processor.tokenizer
            self.image_processor = self.processor.image_processor
        except ImportError as exc:  # transformers 5.x: Qwen2VLProcessor's video part needs torchvision
            first = str(exc).strip().split(". ")[0]
            log.info("AutoProcessor unavailable for %s (%s); composing tokenizer + image processor",
                     folder, first)
            try:
                self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
                self.image_processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
            except LOAD_ERRORS as exc2:
                raise load_error(folder, "the tokenizer / image processor", exc2) from None
            self._composed = _ComposedProcessor(self.tokenizer, self.image_processor)
        except LOAD_ERRORS as exc:
            raise load_error(folder, "the processor", exc) from None
        self.image_token_id = int(self.model.config.image_token_id)
        self.eos_token_ids = self._eos_ids()
        self._cache_kwarg = self._cache_argument_name()
        log.info("loaded %s (%s, %s) on %s in %.2f s", self.name, folder,
                 str(self.dtype).removeprefix("torch."), self.device_name, time.perf_counter() - started)

    def _eos_ids(self) -> set[int]:
        """End-of-sequence ids: the generation config's (as ``generate`` uses), else the tokenizer's."""
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        if eos is None:
            eos = self.tokenizer.eos_token_id
        ids = {int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None}
        if not ids:
            log.warning("%s: no end-of-sequence token known; answers run to max_new_tokens", self.name)
        return ids

    def _cache_argument_name(self) -> str:
        """``cache`` (transformers >= 5.x) or ``past_key_values`` (earlier): the KV-cache argument."""
        import inspect

        params = inspect.signature(self.model.forward).parameters
        return "cache" if "cache" in params else "past_key_values"

    @property
    def device_name(self) -> str:
        """The device in words: ``"cpu: x86_64"`` or e.g. ``"NVIDIA H100 80GB HBM3"``."""
        return describe_device(self.device)

    def __repr__(self) -> str:
        return f"QwenVLBackend({self.name!r}, {self.device}, {str(self.dtype).removeprefix('torch.')})"

    # ------------------------------------------------------------------ inputs

    def prompt_text(self, prompt: str) -> str:
        """The templated prompt (one user turn: the image, then ``prompt``), before image-token widening."""
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        for owner in (self.processor, self.tokenizer):
            if owner is not None and getattr(owner, "chat_template", None):
                return owner.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        log.debug("%s has no chat template; using plain ChatML", self.name)
        return _chatml(prompt)

    def _inputs(self, image, prompt: str) -> dict[str, torch.Tensor]:
        if not isinstance(prompt, str):
            raise InputError(f"prompt is a {type(prompt).__name__}; expected text")
        image = as_rgb(image)
        text = self.prompt_text(prompt)
        if self.processor is not None:
            batch = dict(self.processor(text=[text], images=[image], return_tensors="pt"))
        else:
            batch = self._composed(text, image)
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def _encode(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """The vision tower's visual tokens, ``(visual_tokens, hidden)``."""
        out = self.model.get_image_features(pixel_values, grid_thw)
        feats = getattr(out, "pooler_output", out)  # 5.x returns a model output, 4.x a tensor
        if isinstance(feats, (list, tuple)):
            feats = torch.cat(list(feats), dim=0)
        return feats

    # ------------------------------------------------------------------ public

    @torch.inference_mode()
    def vision_features(self, image, prompt: str | None = None) -> np.ndarray:
        """``V(x)``: the mean of the vision tower's visual tokens for ``image``, float32 1-D.

        The Qwen2-VL vision tower does not see the prompt; ``prompt`` is
        accepted for symmetry and ignored.
        """
        vision = self.image_processor(images=[as_rgb(image)], return_tensors="pt")
        feats = self._encode(vision["pixel_values"].to(self.device), vision["image_grid_thw"].to(self.device))
        return feats.float().mean(dim=0).cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def generate(
        self,
        image,
        prompt: str,
        *,
        stage_tokens: int | None = None,
        max_stages: int | None = None,
    ) -> VLMResult:
        """Greedy answer to ``prompt`` about ``image``, in stages of ``stage_tokens`` tokens.

        ``stage_tokens=None`` makes the whole answer one stage.  ``max_stages``
        stops after that many stages even if the answer is unfinished (the
        last stage then has ``finished=False``).  See the module docstring.
        """
        n_t = self.max_new_tokens if stage_tokens is None else stage_tokens
        if isinstance(n_t, bool) or not isinstance(n_t, int) or n_t < 1:
            raise InputError(f"stage_tokens={stage_tokens!r}; expected a whole number >= 1 (or None)")
        if max_stages is not None and (isinstance(max_stages, bool) or not isinstance(max_stages, int)
                                       or max_stages < 1):
            raise InputError(f"max_stages={max_stages!r}; expected a whole number >= 1 (or None)")
        inputs = self._inputs(image, prompt)
        input_ids = inputs["input_ids"]
        image_mask = input_ids == self.image_token_id
        visual_tokens = int(image_mask.sum())
        prompt_tokens = int(input_ids.shape[1]) - visual_tokens
        dev = self.device
        clock = time.perf_counter

        # encode: vision tower -> visual tokens; V(x) is their mean
        synchronize(dev)
        t0 = clock()
        visual = self._encode(inputs["pixel_values"], inputs["image_grid_thw"])
        synchronize(dev)
        encode_s = clock() - t0
        features = visual.float().mean(dim=0).cpu().numpy().astype(np.float32)

        # prefill: splice the visual tokens into the prompt embeddings, run once.
        # Passing input_ids too lets the model compute M-RoPE positions (2-D for
        # the image tokens) and remember their offset (rope_deltas) for decoding.
        t0 = clock()
        embeds = self.model.get_input_embeddings()(input_ids)
        embeds = embeds.masked_scatter(image_mask.unsqueeze(-1), visual.to(embeds.dtype))
        self.model.model.rope_deltas = None  # never reuse a previous call's offset
        extra = {k: inputs[k] for k in ("mm_token_type_ids",) if k in inputs}
        out = self.model(
            input_ids=input_ids,
            inputs_embeds=embeds,
            attention_mask=inputs.get("attention_mask"),
            image_grid_thw=inputs["image_grid_thw"],
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        cache = getattr(out, self._cache_kwarg, None)
        logits = out.logits[0, -1]
        synchronize(dev)
        prefill_s = clock() - t0
        deltas = self.model.model.rope_deltas
        rope_delta = int(deltas.reshape(-1)[0]) if deltas is not None else 0
        seq_len = int(input_ids.shape[1])

        # decode: greedy, token by token, stages of n_t tokens
        tokens: list[int] = []
        probs: list[float] = []
        stages: list[StageOutput] = []
        stage_start = 0
        t_stage = clock()
        while True:
            token = int(torch.argmax(logits))
            probs.append(float(torch.softmax(logits.float(), dim=-1)[token]))
            tokens.append(token)
            finished = token in self.eos_token_ids or len(tokens) >= self.max_new_tokens
            if finished or len(tokens) - stage_start == n_t:
                synchronize(dev)
                seconds = clock() - t_stage
                stages.append(StageOutput(
                    tokens=tokens[stage_start:],
                    text=self._decode(tokens),
                    token_probs=probs[stage_start:],
                    seconds=seconds,
                    finished=finished,
                ))
                stage_start = len(tokens)
                if finished or (max_stages is not None and len(stages) >= max_stages):
                    break
                t_stage = clock()
            # next token: feed this one, at M-RoPE position (sequence index + offset)
            position = seq_len + len(tokens) - 1 + rope_delta
            out = self.model(
                input_ids=torch.tensor([[token]], device=dev),
                position_ids=torch.full((3, 1, 1), position, dtype=torch.long, device=dev),
                use_cache=True,
                **{self._cache_kwarg: cache},
            )
            cache = getattr(out, self._cache_kwarg, None)
            logits = out.logits[0, -1]

        decode_s = float(sum(s.seconds for s in stages))
        return VLMResult(
            answer=stages[-1].text,
            output_tokens=len(tokens),
            stages=stages,
            features=features,
            prompt_tokens=prompt_tokens,
            visual_tokens=visual_tokens,
            encode_s=encode_s,
            prefill_s=prefill_s,
            decode_s=decode_s,
            mean_token_prob=float(np.mean(probs)),
            tokens=tokens,
        )

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
