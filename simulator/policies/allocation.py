"""Allocation policies: keep a sample on the satellite, or offload it to the ground.

A sample meets a policy at a fixed sequence of *decision points* (stages):

=========  =================================================================
stage 0    ``capture`` — before any onboard computation
stage i    ``point<i>``, i = 1..I — point 1 right after vision encoding V(x);
           point i > 1 after the onboard VLM has generated ``(i-1) * N_t``
           answer tokens (the partial answer A_{i-1} of the paper's §3.1)
stage I+1  ``final`` — the onboard answer is complete: it is kept
=========  =================================================================

At each point the policy either offloads the sample or lets it continue; a
sample that is never offloaded is answered onboard at ``final``.  A policy
returns a :class:`Plan`: for every sample, whether it is offloaded and at which
stage the decision fell.  Policies here decide from the sample's own data
(they are vectorised over all samples); the engine turns stages into onboard
seconds with the compute profile.

Registered here: ``satellite-only``, ``ground-only`` and ``oracle``; the other
built-ins register when :data:`REGISTRY` is first read; policies of other
installed packages are found by name through the ``spaceverse.policies``
entry-point group (:mod:`simulator.policies.registry`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd


logger = logging.getLogger(__name__)


@dataclass
class Plan:
    """Per-sample decisions.

    ``offload`` (bool) and ``stage`` (int, see the module doc) are required.
    ``offload_score`` optionally replaces the score of offloaded samples (e.g.
    Tabi's weighted ensemble of the onboard and ground answers); ``notes`` go to
    the run summary (what the policy did, what it fell back on).
    """

    offload: np.ndarray
    stage: np.ndarray
    offload_score: np.ndarray | None = None
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.offload.shape != self.stage.shape:
            raise ValueError("offload and stage must have the same shape")


@dataclass
class PolicyContext:
    """What a policy may look at.

    * ``samples``: the per-sample table of the simulated (test) samples — the
      trace's columns (scores, answers, tokens, optional features, confidences);
    * ``train``: the training split of the same trace (``workload.train_fraction``,
      never simulated; empty when the fraction is 0), for policies that learn;
    * ``points`` (I) and ``stage_tokens`` (N_t): the decision-point layout;
    * ``estimates``: per-sample arrays of what each choice costs, from the compute
      and link models — ``onboard_s_at_stage`` (n x (I + 2): cumulative onboard
      seconds when deciding at stage k), ``ground_s``, ``tx_s`` (raw image at the
      link's nominal rate), ``image_bytes``; and scalars ``contact_wait_s``
      (mean wait for a contact window) and ``rate_bps``;
    * ``trace_meta``: the trace's metadata (``missing`` columns, ``synthetic``);
    * ``cache_dir``: a folder for trained models (checkpoints are reused by key).
    """

    samples: pd.DataFrame
    points: int
    stage_tokens: int
    rng: np.random.Generator
    train: pd.DataFrame = field(default_factory=pd.DataFrame)
    estimates: dict = field(default_factory=dict)
    trace_meta: dict = field(default_factory=dict)
    cache_dir: Path | None = None

    @property
    def final_stage(self) -> int:
        return self.points + 1

    def stage_name(self, stage: int) -> str:
        return stage_name(stage, self.points)


def stage_name(stage: int, points: int) -> str:
    if stage == 0:
        return "capture"
    if stage == points + 1:
        return "final"
    return f"point{stage}"


#: Parameters of the decision-point layout, read by the engine for every policy.
LAYOUT_PARAMS = ("stages", "stage_tokens")


class AllocationPolicy:
    """Base class: subclasses set ``name``, ``params_schema`` and implement :meth:`plan`.

    ``params_schema`` (name -> :class:`~simulator.policies.registry.Param`) declares the
    parameters; ``accepts`` (their names) is derived from it.  The unknown-parameter
    rule (:func:`~simulator.policies.registry.split_params`): a parameter of another
    policy is noted and ignored (a scenario may carry the SpaceVerse parameters while a
    baseline runs), one that no policy declares is an error.  ``self.params`` holds the
    given parameters this policy declares, ``self.values`` the same over the schema's
    defaults.  Policies from other packages register through the ``spaceverse.policies``
    entry-point group (:mod:`simulator.policies.registry`).
    """

    name = "base"
    accepts: tuple[str, ...] = ()
    params_schema: dict = {}
    #: True when ``__init__`` checks its own parameters (finer messages, rules across
    #: parameters): the schema is then checked after the class is built, not before.
    validates_params = False
    #: True for a policy that decides during the simulation (:meth:`decider`); its
    #: :meth:`plan` then only gives notes and, where known, the offload score.
    online = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from .registry import install_schema

        install_schema(cls)  # normalise params_schema, derive accepts

    def __init__(self, **params: Any):
        from .registry import split_params

        self.params = split_params("allocation", self.name, self.accepts, params, LAYOUT_PARAMS)

    @property
    def values(self) -> dict:
        """The given parameters over the schema's defaults."""
        from .registry import defaults_of

        return {**defaults_of(type(self)), **self.params}

    def plan(self, ctx: PolicyContext) -> Plan:  # pragma: no cover - interface
        raise NotImplementedError

    def decider(self, ctx: PolicyContext, plan: Plan):
        """The :class:`~simulator.engine.decisions.Decider` asked during the run.

        A static policy's decisions are its plan (:class:`~simulator.engine.decisions.
        PlanDecider`); the engine then uses its closed-form fast path instead.
        """
        from ..engine.decisions import PlanDecider

        return PlanDecider(plan.offload, plan.stage)

    def describe(self) -> dict:
        return {"name": self.name, **self.params}


class SatelliteOnly(AllocationPolicy):
    """Everything is answered by the onboard model (the paper's satellite-only baseline)."""

    name = "satellite-only"

    def plan(self, ctx: PolicyContext) -> Plan:
        n = len(ctx.samples)
        return Plan(np.zeros(n, dtype=bool), np.full(n, ctx.final_stage))


class GroundOnly(AllocationPolicy):
    """Everything is downlinked raw at capture and answered on the ground."""

    name = "ground-only"

    def plan(self, ctx: PolicyContext) -> Plan:
        n = len(ctx.samples)
        return Plan(np.ones(n, dtype=bool), np.zeros(n, dtype=int))


class Oracle(AllocationPolicy):
    """Offloads, at capture, exactly the samples the ground model answers better.

    With 0/1 scores: those the ground model gets right and the onboard model gets
    wrong.  Not realisable (it peeks at both answers); an upper bound on what any
    allocation policy can reach with these two models.
    """

    name = "oracle"

    def plan(self, ctx: PolicyContext) -> Plan:
        better = (ctx.samples["ground_score"].to_numpy(float)
                  > ctx.samples["onboard_score"].to_numpy(float))
        return Plan(better.copy(), np.where(better, 0, ctx.final_stage))


class _BuiltinRegistry(dict):
    """The built-in allocation policies by name.

    Policies defined in other modules (``baselines``: tabi, ai-rg; ``online``:
    deadline-aware, buffer-aware; ``spaceverse``: spaceverse, spaceverse-g,
    spaceverse-g-prime) add themselves when imported.  Those modules import this one,
    so this one does not import them at module level (an import cycle): the registry
    imports them the first time it is read.
    """

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True  # first: the modules write into this dict while importing
            from . import baselines, online, spaceverse  # noqa: F401

    def __getitem__(self, key):
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def get(self, key, default=None):
        self._load()
        return super().get(key, default)

    def keys(self):
        self._load()
        return super().keys()

    def values(self):
        self._load()
        return super().values()

    def items(self):
        self._load()
        return super().items()


#: The built-in allocation policies (plugins: :mod:`simulator.policies.registry`).
REGISTRY: dict[str, Callable[..., AllocationPolicy]] = _BuiltinRegistry(
    {cls.name: cls for cls in (SatelliteOnly, GroundOnly, Oracle)})


def get_policy(name: str, params: dict | None = None) -> AllocationPolicy:
    """The allocation policy ``name`` (built-in, else a plugin), built with ``params``.

    Its parameters are checked against its ``params_schema``; mistakes are one line
    ``policy.params.NAME: ...`` (:class:`~simulator.policies.registry.ParamError`).
    """
    from .registry import build

    return build("allocation", name, params)

