"""The registered accelerators: spec-sheet numbers only, every one with its source.

A device is described by what NVIDIA publishes -- memory, peak FLOP/s per data
type, DRAM bandwidth -- and nothing tuned to it: how close a phase gets to
those peaks is the *shared* :class:`~.specs.Efficiency`, the same for every
device, and the shortest forward pass is the shared ``pass_overhead_s``.

Which peak applies is set by ``weights_dtype`` (the precision the weights are
held and computed in):

==========================  =======  ==============  ==============  ==========
device                      fp32     fp16 (tensor)   bf16 (tensor)   DRAM GB/s
==========================  =======  ==============  ==============  ==========
jetson-agx-xavier (Volta)   1.41     11.3            -- (none)       136.5
jetson-agx-orin (64 GB)     5.32     42.5            42.5            204.8
jetson-agx-orin-32gb        3.33     26.7            26.7            204.8
rtx-3090 (GA102)            35.6     71              71              936.2
a100-40gb                   19.5     312             312             1555
==========================  =======  ==============  ==============  ==========

TFLOP/s, dense (no sparsity).  The tensor-core columns are FP32-accumulate
rates, what PyTorch's cuBLAS calls use; GeForce cards run those at half their
FP16-accumulate rate (RTX 3090: 142 -> 71).  FP32 is the CUDA-core rate
(PyTorch does not use TF32 for matmuls by default).

>>> d = DEVICES["jetson-agx-xavier"]
>>> d.weights_dtype, d.peak_tflops(), d.memory_gb
('fp32', 1.41, 16.0)
>>> DEVICES["rtx-3090"].peak_tflops()          # bf16, FP32 accumulate
71.0
"""

from __future__ import annotations

from .constants import (ATTENTION_SCORE_COPIES, DERIVED, PASS_OVERHEAD_S, READ, UNVERIFIED,
                        Constant)
from .specs import DeviceProfile


def _c(value, unit, status, source) -> Constant:
    return Constant("?", value, unit, status, source)


#: Knobs every device shares (symmetry): the same floor and the same attention kernel.
_SHARED = dict(pass_overhead_s=PASS_OVERHEAD_S, attention_score_copies=ATTENTION_SCORE_COPIES)

_XAVIER_SHEET = "Jetson AGX Xavier datasheet: 512 Volta CUDA cores, 64 tensor cores, 1377 MHz"
_ORIN_SHEET = "Jetson AGX Orin datasheet"
_GA102 = "NVIDIA Ampere GA102 whitepaper, RTX 3090 column"
_A100 = "NVIDIA A100 whitepaper Table (A100 40GB SXM4)"

DEVICES: dict[str, DeviceProfile] = {
    d.name: d
    for d in [
        DeviceProfile.build(
            "jetson-agx-xavier",
            "the paper's onboard board (paper 4.1.1); weights in fp32 = paper mode (Fig. 2b's "
            "24.9 GB gap; Volta has no BF16), so timing uses the FP32 CUDA-core peak too",
            weights_dtype="fp32",
            memory_gb=_c(16.0, "GiB", READ,
                         "paper 4.1.1: 16 GB Jetson AGX Xavier (shared CPU/GPU)"),
            peak_tflops_fp32=_c(1.41, "TFLOP/s", UNVERIFIED,
                                f"512 cores x 2 FLOP x 1.377 GHz = 1.41 ({_XAVIER_SHEET})"),
            peak_tflops_fp16=_c(11.3, "TFLOP/s", UNVERIFIED,
                                f"64 tensor cores x 64 FMA x 2 x 1.377 GHz = 11.28; NVIDIA "
                                f"markets ~11 TFLOPS FP16 ({_XAVIER_SHEET})"),
            peak_tflops_bf16=_c(0.0, "TFLOP/s", READ,
                                "Volta has no BF16 (A100 whitepaper: 'Peak BF16 Tensor TFLOPS' "
                                "NA for V100)"),
            bandwidth_gb_per_s=_c(136.5, "GB/s", UNVERIFIED,
                                  "256-bit LPDDR4x at 4266 MT/s = 136.5 GB/s (datasheet: "
                                  "137 GB/s)"),
            **_SHARED,
        ),
        DeviceProfile.build(
            "jetson-agx-orin",
            "Jetson AGX Orin 64 GB (Kodan's board), Ampere GPU",
            weights_dtype="bf16",
            memory_gb=_c(64.0, "GiB", READ, f"{_ORIN_SHEET}: 64 GB LPDDR5 (shared CPU/GPU)"),
            peak_tflops_fp32=_c(5.32, "TFLOP/s", UNVERIFIED,
                                f"2048 cores x 2 x 1.3 GHz ({_ORIN_SHEET})"),
            peak_tflops_fp16=_c(42.5, "TFLOP/s", UNVERIFIED,
                                "170 sparse INT8 GPU TOPS / 2 (dense) / 2 (INT8 -> FP16) = 42.5; "
                                "= 64 tensor cores x 256 FMA x 2 x 1.3 GHz (A100-style cores)"),
            peak_tflops_bf16=_c(42.5, "TFLOP/s", UNVERIFIED,
                                "as fp16 (Ampere tensor cores run BF16 at the FP16 rate)"),
            bandwidth_gb_per_s=_c(204.8, "GB/s", UNVERIFIED,
                                  f"256-bit LPDDR5 at 6400 MT/s ({_ORIN_SHEET}); NVIDIA: ~200 "
                                  "GB/s, FP16 3B decode <= 33 tok/s (TensorRT-Edge-LLM#60, READ)"),
            **_SHARED,
        ),
        DeviceProfile.build(
            "jetson-agx-orin-32gb",
            "Jetson AGX Orin 32 GB: same memory bus as the 64 GB, smaller and slower GPU",
            weights_dtype="bf16",
            memory_gb=_c(32.0, "GiB", READ, f"{_ORIN_SHEET}: 32 GB LPDDR5"),
            peak_tflops_fp32=_c(3.33, "TFLOP/s", UNVERIFIED,
                                f"1792 cores x 2 x 0.93 GHz ({_ORIN_SHEET})"),
            peak_tflops_fp16=_c(26.7, "TFLOP/s", UNVERIFIED,
                                "56 tensor cores x 256 FMA x 2 x 0.93 GHz = 26.7"),
            peak_tflops_bf16=_c(26.7, "TFLOP/s", UNVERIFIED,
                                "as fp16 (Ampere tensor cores run BF16 at the FP16 rate)"),
            bandwidth_gb_per_s=_c(204.8, "GB/s", UNVERIFIED, "as the 64 GB module"),
            **_SHARED,
        ),
        DeviceProfile.build(
            "rtx-3090",
            "the paper's ground GPUs (8x RTX 3090, paper 4.1.1), one GPU per sample; bf16",
            weights_dtype="bf16",
            memory_gb=_c(24.0, "GiB", READ, "paper 4.1.1 and the GA102 whitepaper: 24 GB GDDR6X"),
            peak_tflops_fp32=_c(35.6, "TFLOP/s", DERIVED,
                                f"10496 cores x 2 x 1.695 GHz boost = 35.6 ({_GA102})"),
            peak_tflops_fp16=_c(71.0, "TFLOP/s", DERIVED,
                                f"142 dense FP16-accumulate ({_GA102}, READ via a quoting "
                                "source) / 2: GeForce runs FP32 accumulate at half rate (as the "
                                "Ada whitepaper's RTX 4090: 165.2 vs 330.3, READ via a quote)"),
            peak_tflops_bf16=_c(71.0, "TFLOP/s", DERIVED,
                                f"BF16 tensor, FP32 accumulate: 71 dense ({_GA102}); as fp16"),
            bandwidth_gb_per_s=_c(936.2, "GB/s", DERIVED,
                                  f"19.5 Gbps x 384 bit / 8 = 936 GB/s ({_GA102})"),
            **_SHARED,
        ),
        DeviceProfile.build(
            "a100-40gb",
            "data-centre reference; the Qwen README timed an A100 (80 GB) in transformers BF16",
            weights_dtype="bf16",
            memory_gb=_c(40.0, "GiB", READ, f"{_A100}: 40 GB HBM2"),
            peak_tflops_fp32=_c(19.5, "TFLOP/s", READ, f"{_A100}: Peak FP32 TFLOPS 19.5"),
            peak_tflops_fp16=_c(312.0, "TFLOP/s", READ,
                                f"{_A100}: Peak FP16 Tensor TFLOPS with FP32 Accumulate 312 dense"),
            peak_tflops_bf16=_c(312.0, "TFLOP/s", READ,
                                f"{_A100}: Peak BF16 Tensor TFLOPS with FP32 Accumulate 312 dense"),
            bandwidth_gb_per_s=_c(1555.0, "GB/s", READ, f"{_A100}: Memory Bandwidth 1555 GB/s"),
            **_SHARED,
        ),
    ]
}
