"""The ``isl`` block: relay over inter-satellite links (beyond the paper).

See :mod:`simulator.orbits.isl` (which links exist and when) and
:mod:`simulator.engine.relay` (how samples hop).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .fields import Integer, Number, _Model
from .problems import _FieldProblem


class IslSpec(_Model):
    """Inter-satellite links: an offloaded sample may hop to a neighbour in contact sooner."""

    neighbours: Literal["nearest", "explicit"] = Field(
        "nearest", description="nearest = the k nearest satellites at the start (for a Walker "
                               "shell with k = 4: the +Grid of in-plane and adjacent-plane "
                               "neighbours); explicit = the pairs listed.")
    k: Integer = Field(4, ge=1, le=64, description="Neighbours per satellite (nearest).")
    pairs: list[list[str]] = Field(
        default_factory=list, max_length=100_000,
        description="Satellite name pairs linked (explicit), e.g. [[STARLINK-1, STARLINK-2]].")
    rate_mbps: Number = Field(
        1000.0, gt=0, le=1_000_000,
        description="ISL rate in Mbps (ASSUMPTION: 1 Gbps, the low end of optical terminals: "
                    "SDA Tranche 1 OCTs are specified at 2.5 Gbps; Starlink reports 100 Gbps).")
    max_range_km: Number = Field(
        5000.0, gt=0, le=100_000, description="Longest link in km (and it must clear the "
                                               "Earth's atmosphere).")
    margin_s: Number = Field(
        1.0, ge=0, le=86_400, description="Hop only if the neighbour's downlink starts at "
                                          "least this much sooner (hop included).")
    max_hops: Integer = Field(2, ge=1, le=16, description="Most hops per sample.")

    @model_validator(mode="after")
    def _pairs_need_explicit(self) -> "IslSpec":
        if self.pairs and self.neighbours != "explicit":
            raise _FieldProblem("pairs", "are only used with neighbours: explicit")
        if self.neighbours == "explicit" and not self.pairs:
            raise _FieldProblem("pairs", "neighbours: explicit needs at least one pair")
        for p, pair in enumerate(self.pairs):
            if len(pair) != 2:
                raise _FieldProblem(("pairs", p), f"expected two satellite names, got {len(pair)}")
        return self
