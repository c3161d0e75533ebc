"""The registered vision-language models, every number with its source.

Shapes come from the checkpoints' ``config.json`` / module printouts; parameter
counts from Hugging Face's model-size figures; memory from the Qwen2-VL README
speed table (A100, BF16: weights + ~0.6 GiB runtime).

Memory and the paper's Fig. 2b ("paper mode")
--------------------------------------------
The paper (section 2.1.1) says the 7B needs on average **24.9 GB more** than
the 2B and does not fit the satellite's 16 GB Jetson AGX Xavier.  Measured BF16
footprints (4.68 vs 16.07 GiB) differ by only 11.4 GiB; 24.9 matches **FP32**
weights (2 more bytes per parameter), and the Xavier's Volta GPU has no BF16.
So the Xavier runs ``fp32``: 2B = 4.68 + 2 x 2.21e9 B = 8.80 GiB, 7B = 8.80 +
24.9 = 33.70 GiB.  The device's ``weights_dtype`` then also sets its timing
peak (FP32 CUDA cores, no tensor cores): memory and time use one precision.

>>> m = MODELS["qwen2-vl-2b"]
>>> m.vit_layers, m.vit_width, m.vit_heads, m.vit_patches_per_token
(32, 1280, 16, 4)
>>> round(m.vision_params_b, 3), round(m.llm_params_b, 3)
(0.665, 1.545)
"""

from __future__ import annotations

from .constants import (ASSUMPTION, DERIVED, GIB, PROCESSOR_MAX_PIXELS, READ, UNVERIFIED,
                        Constant)
from .specs import ModelSpec

C = Constant  # the name is filled in by ModelSpec.build


def _c(value, unit, status, source) -> Constant:
    return C("?", value, unit, status, source)


# ---------------------------------------------------------------- shared shapes

_QWEN_TPM = 1e6 / 28**2  # one token per 28 x 28 px after the 2 x 2 merge of 14 px patches
_CLIP14_TPM = 1e6 / 14**2  # CLIP ViT-L/14: one token per 14 x 14 px patch
_RUNTIME_GIB = 0.6  # Qwen README: 2B 4.68 - 4.12 GiB of weights = 0.56, 7B 16.07 - 15.44 = 0.63

_QWEN_VIT_SRC = ("Qwen2-VL config.json vision_config (depth 32, embed_dim 1280, num_heads 16, "
                 "patch_size 14, spatial_merge_size 2) and the module printout of "
                 "Qwen2VLForConditionalGeneration (qkv 1280->3840, fc1 1280->5120; READ)")
_QWEN_VIT = dict(
    vit_layers=_c(32, "layers", READ, _QWEN_VIT_SRC),
    vit_width=_c(1280, "channels", READ, _QWEN_VIT_SRC),
    vit_heads=_c(16, "heads", READ, _QWEN_VIT_SRC),
    vit_patches_per_token=_c(4, "patches per token", READ, "2 x 2 patch merge, " + _QWEN_VIT_SRC),
    visual_tokens_per_megapixel=_QWEN_TPM,
    min_visual_tokens=_c(4, "tokens", READ, "processor min_pixels 3136 = 4 x 28^2 (qwen-vl-utils)"),
    max_visual_tokens=_c(PROCESSOR_MAX_PIXELS.value // 784, "tokens", READ,
                         PROCESSOR_MAX_PIXELS.source),
)
# ViT blocks: 32 x (qkv 1280*3840+3840 + proj 1280^2+1280 + fc1 1280*5120+5120
# + fc2 5120*1280+1280 + 2 LayerNorms 2*2*1280) = 32 x 19,677,440 = 629.68 M;
# patch embedding Conv3d 3*2*14*14*1280 = 1.51 M; merger LayerNorm 2,560 +
# 5120*5120+5120 + 5120*hidden+hidden.
_VIT_BLOCKS_M = 32 * (1280 * 3840 + 3840 + 1280 * 1280 + 1280 + 1280 * 5120 + 5120
                      + 5120 * 1280 + 1280 + 4 * 1280) / 1e6
_PATCH_EMBED_M = 3 * 2 * 14 * 14 * 1280 / 1e6


def _qwen_vision_b(hidden: int) -> float:
    merger = 2 * 1280 + 5120 * 5120 + 5120 + 5120 * hidden + hidden
    return round((_VIT_BLOCKS_M + _PATCH_EMBED_M + merger / 1e6) / 1e3, 4)


_CLIP_SRC = ("CLIP ViT-L/14-336 (openai/clip-vit-large-patch14-336 config: 24 layers, width "
             "1024, 16 heads, 303.5 M params; READ via the LLaVA-1.5 paper/model card)")
_CLIP_VIT = dict(
    vit_layers=_c(24, "layers", READ, _CLIP_SRC),
    vit_width=_c(1024, "channels", READ, _CLIP_SRC),
    vit_heads=_c(16, "heads", READ, _CLIP_SRC),
    vit_patches_per_token=_c(1, "patches per token", READ,
                             "one token per 14 px patch; CLS ignored"),
    visual_tokens_per_megapixel=_CLIP14_TPM,
    # CLIP 303.5 M + the mlp2x_gelu projector 1024*4096+4096 + 4096*4096+4096 = 21.0 M
    vision_params_b=_c(0.3245, "B params", UNVERIFIED,
                       "CLIP ViT-L/14-336 303.5 M (UNVERIFIED) + mlp2x_gelu projector 21.0 M"),
)

_VICUNA7B = dict(
    llm_layers=_c(32, "layers", READ, "Vicuna-7B v1.5 = Llama-2-7B shape: 32 layers, width "
                  "4096, 32 heads (a third-party table of Llama-2 configs)"),
    llm_width=_c(4096, "channels", READ, "Llama-2-7B config.json hidden_size"),
    llm_heads=_c(32, "heads", READ, "Llama-2-7B config.json num_attention_heads"),
    embedding_lookup_params_b=_c(0.1311, "B params", DERIVED,
                                 "untied input embedding 32000 x 4096 (Llama-2 config)"),
)


def _llava_memory(params_b: float) -> Constant:
    return _c(round(params_b * 1e9 * 2 / GIB + _RUNTIME_GIB, 2), "GiB", DERIVED,
              f"{params_b} B x 2 B/param + 0.6 GiB runtime (runtime as Qwen's, ASSUMPTION)")


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in [
        ModelSpec.build(
            "qwen2-vl-2b",
            "Qwen2-VL-2B(-Instruct): dynamic-resolution ViT + Qwen2-1.5B language model",
            params_b=_c(2.21, "B params", READ, "HF model size of the BF16 checkpoint"),
            memory_gb=_c(4.68, "GiB", READ,
                         "Qwen2-VL README speed table, A100, BF16, input length 1"),
            memory_fp32_gb=_c(8.80, "GiB", DERIVED, "4.68 + 2 B x 2.21e9 params / 2^30"),
            vision_params_b=_c(_qwen_vision_b(1536), "B params", DERIVED,
                               "ViT blocks 629.68 M + patch embed 1.51 M + merger to 1536 "
                               "34.09 M, from the module shapes (7B's 675 M tower differs only "
                               "in the merger's output width)"),
            llm_layers=_c(28, "layers", READ, "Qwen2-1.5B module printout: 28 decoder layers"),
            llm_width=_c(1536, "channels", READ, "Qwen2-1.5B hidden_size 1536 (the paper too)"),
            llm_heads=_c(12, "heads", UNVERIFIED, "Qwen2-1.5B num_attention_heads 12 (2 KV heads)"),
            embedding_lookup_params_b=_c(0.0, "B params", UNVERIFIED,
                                         "tie_word_embeddings true: the 151936 x 1536 table is "
                                         "also the LM head, so every row is read per token"),
            **_QWEN_VIT,
        ),
        ModelSpec.build(
            "qwen2-vl-7b",
            "Qwen2-VL-7B(-Instruct): the same ViT + Qwen2-7B language model",
            params_b=_c(8.29, "B params", READ, "HF model size of the BF16 checkpoint"),
            memory_gb=_c(16.07, "GiB", READ, "Qwen2-VL README speed table, A100, BF16"),
            memory_fp32_gb=_c(8.80 + 24.9, "GiB", ASSUMPTION,
                              "paper mode: the 2B's 8.80 + the paper's Fig. 2b gap of 24.9 GB "
                              "(pure arithmetic would give 16.07 + 2 x 8.29e9 / 2^30 = 31.51)"),
            vision_params_b=_c(_qwen_vision_b(3584), "B params", DERIVED,
                               "ViT blocks 629.68 M + patch embed 1.51 M + merger to 3584 "
                               "44.58 M = 675.8 M, matching the often-quoted 675 M"),
            llm_layers=_c(28, "layers", READ, "Qwen2-VL-7B module printout: 28 decoder layers"),
            llm_width=_c(3584, "channels", READ, "Qwen2-VL-7B module printout: q_proj 3584x3584"),
            llm_heads=_c(28, "heads", DERIVED, "3584 / head_dim 128 (k_proj 3584->512 = 4 KV heads)"),
            embedding_lookup_params_b=_c(round(152064 * 3584 / 1e9, 4), "B params", READ,
                                         "untied Embedding(152064, 3584) in the module printout"),
            **_QWEN_VIT,
        ),
        ModelSpec.build(
            "llava-1.5-7b",
            "LLaVA-1.5-7B: CLIP ViT-L/14-336 + Vicuna-7B v1.5, fixed 336 px input -> 576 tokens",
            params_b=_c(7.06, "B params", READ, "HF safetensors model size"),
            memory_gb=_llava_memory(7.06),
            min_visual_tokens=_c(576, "tokens", READ, "336 px / 14 px = 24 x 24 patches"),
            max_visual_tokens=_c(576, "tokens", READ, "fixed input size"),
            **_CLIP_VIT, **_VICUNA7B,
        ),
        ModelSpec.build(
            "llava-1.5-13b",
            "LLaVA-1.5-13B: CLIP ViT-L/14-336 + Vicuna-13B v1.5, fixed 576 visual tokens",
            params_b=_c(13.4, "B params", READ, "HF safetensors model size"),
            memory_gb=_llava_memory(13.4),
            min_visual_tokens=_c(576, "tokens", READ, "336 px / 14 px = 24 x 24 patches"),
            max_visual_tokens=_c(576, "tokens", READ, "fixed input size"),
            llm_layers=_c(40, "layers", READ, "Llama-2-13B shape: 40 layers, width 5120, 40 "
                          "heads (a third-party table of Llama-2 configs)"),
            llm_width=_c(5120, "channels", READ, "Llama-2-13B config.json hidden_size"),
            llm_heads=_c(40, "heads", READ, "Llama-2-13B config.json num_attention_heads"),
            embedding_lookup_params_b=_c(0.1638, "B params", DERIVED,
                                         "untied input embedding 32000 x 5120"),
            **_CLIP_VIT,
        ),
        ModelSpec.build(
            "geochat-7b",
            "GeoChat-7B (Kuckreja et al., CVPR 2024): LLaVA-1.5-7B architecture, LoRA-tuned",
            params_b=_c(7.06, "B params", DERIVED, "as llava-1.5-7b (same architecture)"),
            memory_gb=_llava_memory(7.06),
            min_visual_tokens=_c(1296, "tokens", UNVERIFIED,
                                 "CLIP position encoding interpolated to 504 px (secondary "
                                 "summary) -> 36 x 36 patches"),
            max_visual_tokens=_c(1296, "tokens", UNVERIFIED, "fixed 504 px input"),
            **_CLIP_VIT, **_VICUNA7B,
        ),
    ]
}
