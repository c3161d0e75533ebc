"""When does offloading pay?  Ground-only vs onboard service latency over goodput x image size.

For one sample alone (the paper's per-sample latency), keeping it onboard costs
the onboard model's full inference ``T_on(side)``; sending it raw to the ground
costs its transfer at an effective goodput ``G`` plus the ground model's
inference (the light time, milliseconds, is left out):

    ratio(G, side) = (8 B(side) / G + T_ground(side)) / T_on(side)

with ``B`` the raw RGB bytes of a ``side x side`` image.  Below 1 the ground is
faster *and* more accurate (the ground model's gain is a property of the models,
not of the link); above 1 offloading trades latency for accuracy.  The paper's
§2.1.2 measurement sits at 4.14 on DOTA-sized images.

The physical link's effective goodput for an image is its size over the TCP
transfer time at the paper's 110.67 Mbps capacity (slow start makes small images
much slower than the line rate); the paper-calibrated preset uses one fixed
goodput (:func:`simulator.presets.paper_calibration`).

>>> from simulator.compute import load_compute
>>> sat, gnd = load_compute("jetson-agx-xavier", "qwen2-vl-2b"), load_compute("rtx-3090", "qwen2-vl-7b")
>>> t = latency_ratio_grid(sat, gnd, [1.0, 100.0], [256, 2000])
>>> bool(t.set_index(["goodput_mbps", "image_side_px"]).latency_ratio.loc[(1.0, 2000)] > 1)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Prompt and answer tokens of the map (RSVQA-like short answers; DOTA boxes are ~26).
PROMPT_TOKENS = 40
OUTPUT_TOKENS = 8


def latency_ratio_grid(sat_compute, ground_compute, goodputs_mbps, sides_px, *,
                       prompt_tokens: int = PROMPT_TOKENS,
                       output_tokens: int = OUTPUT_TOKENS) -> pd.DataFrame:
    """One row per (goodput, side): onboard, ground and transfer seconds and their ratio."""
    g = np.asarray(goodputs_mbps, dtype=float)
    side = np.asarray(sides_px, dtype=np.int64)
    gg, ss = np.meshgrid(g, side, indexing="ij")
    gg, ss = gg.ravel(), ss.ravel()
    prompt = np.full(ss.shape, prompt_tokens)
    out = np.full(ss.shape, output_tokens)
    t_on = np.asarray(sat_compute.inference_s(ss, ss, prompt, out), dtype=float)
    t_gr = np.asarray(ground_compute.inference_s(ss, ss, prompt, out), dtype=float)
    raw = ss.astype(float) ** 2 * 3
    tx = 8 * raw / (gg * 1e6)
    return pd.DataFrame({"goodput_mbps": gg, "image_side_px": ss, "raw_bytes": raw,
                         "onboard_s": t_on, "ground_s": t_gr, "tx_s": tx,
                         "latency_ratio": (tx + t_gr) / t_on})


def tcp_goodput_mbps(side_px: int, *, capacity_mbps: float = 110.67, rtt_s: float | None = None,
                     **tcp) -> float:
    """Effective goodput of one raw ``side x side`` RGB image over the physical TCP model."""
    from .links import ConstantLink
    from .links import transport as tp

    rtt = tp.round_trip_time_s(550.0) if rtt_s is None else rtt_s
    link = tp.TcpTransport(ConstantLink(capacity_mbps), rtt_s=rtt, **tcp)
    size = float(side_px) ** 2 * 3
    return 8 * size / link.alone_seconds(0, 0, 0.0, size) / 1e6
