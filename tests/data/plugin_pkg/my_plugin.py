"""Plugins of the test distribution ``spaceverse-demo-plugin`` (see pyproject.toml)."""

from __future__ import annotations

import numpy as np

from simulator.policies.allocation import AllocationPolicy, Plan
from simulator.policies.compression import CompressionPolicy, Compressed
from simulator.policies.registry import Param


class MyPolicy(AllocationPolicy):
    """Offloads a random share of the samples at capture (a test plugin)."""

    # no ``name``: it is set from the entry point ("my-policy")
    params_schema = {
        "share": (float, 0.5, (0, 1), "fraction of the samples offloaded"),
        "mode": (("capture", "final"), "capture", None, "where the decision falls"),
        "batch": Param("integer", 8, "unused; a whole-number parameter", low=1),
    }

    def plan(self, ctx) -> Plan:
        values = self.values  # checked against the schema before __init__, defaults filled
        n = len(ctx.samples)
        offload = ctx.rng.random(n) < values["share"]
        stage = 0 if values["mode"] == "capture" else ctx.final_stage
        return Plan(offload, np.where(offload, stage, ctx.final_stage).astype(int),
                    notes={"share": values["share"], "plugin": "spaceverse-demo-plugin"})


class HalfCodec(CompressionPolicy):
    """Sends a fixed fraction of each image's bytes (a test plugin)."""

    params_schema = {"keep": (float, 0.5, (0, 1), "fraction of the bytes sent")}

    def apply(self, samples, rng) -> Compressed:
        raw = samples["image_bytes"].to_numpy(np.int64)
        sent = np.ceil(raw * self.values["keep"]).astype(np.int64)
        return Compressed(sent, np.zeros(len(samples)), samples["ground_score"].to_numpy(float))


class Misnamed(AllocationPolicy):
    """Declares a name other than its entry point's."""

    name = "something-else"

    def plan(self, ctx) -> Plan:  # pragma: no cover - never built
        raise NotImplementedError


not_a_policy = "a string, not a class"
