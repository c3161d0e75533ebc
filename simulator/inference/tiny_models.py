"""Tiny *real* Qwen2-VL and CLIP checkpoints, built offline, for tests and dry runs.

The inference code (:mod:`~simulator.inference.transformers_backend`,
:mod:`~simulator.inference.clip_attention`) only ever loads models with
``from_pretrained(folder, local_files_only=True)``.  To test it without
downloading gigabytes, these builders write folders that look exactly like a
real Hugging Face checkpoint -- ``config.json``, ``model.safetensors``,
``generation_config.json``, ``tokenizer.json`` + ``tokenizer_config.json``,
``preprocessor_config.json``, ``processor_config.json``, a chat template --
but hold a model a few hundred kilobytes large with random (seeded) weights:

* :func:`build_tiny_qwen2vl`: a 2-layer Qwen2-VL (hidden size 64, a 2-block
  vision tower with 4 px patches, vocabulary of 384 tokens);
* :func:`build_tiny_clip`: a 2-layer CLIP (32 px images, 4 px patches,
  projection dimension 16).

Nothing is downloaded: the tokenizers are *trained here*, with the
``tokenizers`` library, as byte-level BPE on a small inline corpus, and carry
the special tokens the real models use (``<|im_start|>``, ``<|image_pad|>``,
...; CLIP's ``<|startoftext|>`` / ``<|endoftext|>``).  Byte-level BPE can encode
any text, so every prompt works -- the models just answer nonsense.

Loading one and generating a short answer takes a few tens of milliseconds on
a CPU (importing ``transformers`` takes longer).  Use them to check a pipeline
end to end, never for numbers::

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = build_tiny_qwen2vl(Path(tmp) / "tiny-qwen")
    ...     sorted(p.name for p in folder.iterdir())[:4]
    ['chat_template.jinja', 'config.json', 'generation_config.json', 'model.safetensors']
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch

log = logging.getLogger(__name__)

# transformers / huggingface_hub are imported lazily, after this: never reach for
# the network (every load also passes local_files_only=True).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Qwen2-VL's special tokens, in the order the tiny vocabulary numbers them (ids 0..13).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
CLIP_SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")

#: A ChatML template in the shape of Qwen2-VL-Instruct's: a default system
#: turn, an image becomes ``<|vision_start|><|image_pad|><|vision_end|>`` (the
#: processor widens the one ``<|image_pad|>`` to one per visual token).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Words of the kind remote-sensing VQA prompts and answers use; only there so
# the BPE merges make tokens a bit longer than single bytes.
_CORPUS = (
    "What is in this image? Is there a ship in the harbour? yes. no.",
    "How many airplanes are on the runway? two. three. four. five. zero.",
    "Is the area rural or urban? The area is urban with many buildings and roads.",
    "Describe the satellite image. A river crosses farmland next to a small town.",
    "Are there vehicles in the parking lot? There are several cars and a truck.",
    "Which class is this scene: forest, beach, desert, industrial, residential?",
    "Detect the storage tanks, bridges, harbours, helicopters and tennis courts.",
    "a photo of a ship. a photo of an airport. a satellite photo of a stadium.",
)


def _train_bpe(special_tokens: tuple[str, ...], vocab_size: int, lowercase: bool = False):
    """A byte-level BPE :class:`tokenizers.Tokenizer` trained on :data:`_CORPUS`.

    Special tokens take the first ids, in the order given.
    """
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    tokenizer = Tokenizer(models.BPE())
    if lowercase:
        tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(_CORPUS) * 4, trainer)
    if tokenizer.get_vocab_size() != vocab_size:  # the corpus ran out of merges
        log.debug("tiny tokenizer has %d tokens (asked for %d)", tokenizer.get_vocab_size(), vocab_size)
    return tokenizer


def _seeded_init(build, seed: int):
    """``build()`` under ``torch.manual_seed(seed)`` without disturbing the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _prepare(path: str | os.PathLike) -> Path:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_tiny_qwen2vl(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a tiny random-weight Qwen2-VL checkpoint to ``path``; return the folder.

    The folder loads with ``Qwen2VLForConditionalGeneration.from_pretrained``,
    ``AutoTokenizer`` / ``AutoImageProcessor`` (and ``AutoProcessor`` where
    ``torchvision`` is installed) exactly as a real checkpoint does.  Sizes:
    text model 2 layers x 64 hidden (4 heads, 2 key-value heads, M-RoPE
    sections 2/3/3), vision tower 2 blocks x 32 wide with 4 px patches merged
    2 x 2, images resized to between 8 x 8 and 32 x 32 px (at most 16 visual
    tokens), 384-token vocabulary.  Different ``seed`` values give different
    weights (so two of them can play onboard and ground models).
    """
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
    )
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    folder = _prepare(path)
    vocab_size = 384
    backend = _train_bpe(QWEN_SPECIAL_TOKENS, vocab_size)
    ids = {tok: backend.token_to_id(tok) for tok in QWEN_SPECIAL_TOKENS}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=[t for t in QWEN_SPECIAL_TOKENS if t not in ("<|im_end|>", "<|endoftext|>")],
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE

    patch, merge = 4, 2
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=patch,
        merge_size=merge,
        temporal_patch_size=2,
        size={"shortest_edge": (patch * merge) ** 2, "longest_edge": 32 * 32},
    )

    config = Qwen2VLConfig(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 1024,
            # M-RoPE splits each head's 16/2 = 8 rotary frequencies into
            # temporal / height / width sections.
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": 64,  # the merger's output: the language model's width
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    model = _seeded_init(lambda: Qwen2VLForConditionalGeneration(config), seed)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=False,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    image_processor.save_pretrained(folder)
    # Qwen2VLProcessor itself cannot be built without torchvision (its video
    # processor needs it), so its two small files are written directly: what
    # ``Qwen2VLProcessor.save_pretrained`` would add next to the parts above.
    (folder / "processor_config.json").write_text(
        json.dumps({"processor_class": "Qwen2VLProcessor"}, indent=2) + "\n", encoding="utf-8"
    )
    (folder / "chat_template.jinja").write_text(QWEN_CHAT_TEMPLATE, encoding="utf-8")
    log.info("built tiny Qwen2-VL (seed %d, %d parameters) in %s",
             seed, sum(p.numel() for p in model.parameters()), folder)
    return folder


def build_tiny_clip(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a tiny random-weight CLIP checkpoint to ``path``; return the folder.

    Loads with ``CLIPModel.from_pretrained`` and ``AutoProcessor`` (a
    ``CLIPProcessor``: tokenizer + image processor) like
    ``openai/clip-vit-base-patch16``.  Sizes: 32 x 32 px images in 4 px patches
    (an 8 x 8 patch grid), 2 vision and 2 text layers 32 wide, projection
    dimension 16, 256-token lower-cased vocabulary, prompts up to 64 tokens.
    """
    from tokenizers.processors import TemplateProcessing
    from transformers import (
        CLIPConfig,
        CLIPModel,
        CLIPProcessor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder = _prepare(path)
    vocab_size = 256 + 64
    backend = _train_bpe(CLIP_SPECIAL_TOKENS, vocab_size, lowercase=True)
    bos, eos = (backend.token_to_id(t) for t in CLIP_SPECIAL_TOKENS)
    # CLIP reads "<|startoftext|> prompt <|endoftext|>"; its pooled text
    # feature is the hidden state at the end token.
    backend.post_processor = TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>",
        special_tokens=[("<|startoftext|>", bos), ("<|endoftext|>", eos)],
    )
    max_tokens = 64
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=max_tokens,
    )
    image_size, patch = 32, 4
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
    config = CLIPConfig(
        text_config={
            "vocab_size": backend.get_vocab_size(),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": max_tokens,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "pad_token_id": eos,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": patch,
        },
        projection_dim=16,
    )
    model = _seeded_init(lambda: CLIPModel(config), seed)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    log.info("built tiny CLIP (seed %d, %d parameters) in %s",
             seed, sum(p.numel() for p in model.parameters()), folder)
    return folder
