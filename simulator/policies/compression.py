"""Compression policies: what an offloaded sample costs on the downlink.

A compression policy maps every offloaded sample to the bytes actually sent,
the onboard seconds spent compressing, and the effect on the ground model's
score.  Only ``none`` exists so far; the attention-based multi-scale
preprocessing of the paper (§3.2) and its baselines plug in here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import lookup

logger = logging.getLogger(__name__)


@dataclass
class Compressed:
    """Per-sample result of compression (arrays over all samples)."""

    bytes_sent: np.ndarray      # int bytes on the downlink
    compress_s: np.ndarray      # onboard seconds
    ground_score: np.ndarray    # ground model's score on what it receives
    modelled: bool = False      # True when the score effect is a model, not measured


class CompressionPolicy:
    name = "base"
    accepts: tuple[str, ...] = ()

    def __init__(self, **params: Any):
        self.params = {k: v for k, v in params.items() if k in self.accepts}
        unused = sorted(set(params) - set(self.accepts))
        if unused:
            logger.warning("policy.compression.params: %s not used by compression %r",
                           ", ".join(unused), self.name)

    def apply(self, samples: pd.DataFrame, rng: np.random.Generator) -> Compressed:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> dict:
        return {"method": self.name, **self.params}


class NoCompression(CompressionPolicy):
    """The raw image goes down as stored; the ground model sees it unchanged."""

    name = "none"

    def apply(self, samples: pd.DataFrame, rng: np.random.Generator) -> Compressed:
        n = len(samples)
        return Compressed(samples["image_bytes"].to_numpy(np.int64), np.zeros(n),
                          samples["ground_score"].to_numpy(float))


REGISTRY: dict[str, Callable[..., CompressionPolicy]] = {NoCompression.name: NoCompression}


def get_compression(method: str, params: dict | None = None) -> CompressionPolicy:
    return lookup(REGISTRY, method, "policy.compression.method", "method")(**(params or {}))
