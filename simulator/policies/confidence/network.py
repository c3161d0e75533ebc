"""The network g̃ (:class:`ConfidenceNet`) and its forward pass in numpy.

Network (:class:`ConfidenceNet`)
--------------------------------
``I`` input projections ``L_i`` (``Linear(d_i, hidden)``) feed **one** shared
MLP ``M``: ReLU, dropout, ``Linear(hidden, hidden)``, ReLU, dropout,
``Linear(hidden, 1)``, sigmoid.  ``g̃_i = [L_i; M]``.  Stage ``i``'s
input (:mod:`.features`) has ``d_i`` numbers.

Applying a network needs no torch: :func:`forward_numpy` runs the forward pass
in numpy (with its tie rule) from the weights (:func:`check_weights`), and
``ConfidenceNet``, the torch module, is defined on first use (it is
``simulator.policies.confidence.ConfidenceNet``); torch is imported for
training only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# ``ConfidenceNet`` is a torch module, built on first use (``confidence.ConfidenceNet``):
# importing this module, and applying a trained network (numpy, below), need no torch.
_NET_CLASS: Any = None


def _net_class():
    global _NET_CLASS
    if _NET_CLASS is not None:
        return _NET_CLASS
    import torch
    from torch import nn

    class ConfidenceNet(nn.Module):
        """g̃: projections ``L_i`` into one shared MLP ``M`` with a sigmoid output.

        ``ConfidenceNet([16, 400], hidden=8)(1, torch.zeros(5, 16))`` has shape ``(5,)``.
        """

        def __init__(self, input_dims: Sequence[int], hidden: int = 64, dropout: float = 0.1):
            super().__init__()
            dims, hidden = _check_architecture(input_dims, hidden)
            self.input_dims = dims
            self.hidden = hidden
            self.dropout = float(dropout)
            self.projections = nn.ModuleList(nn.Linear(d, self.hidden) for d in dims)
            self.mlp = nn.Sequential(
                nn.ReLU(), nn.Dropout(self.dropout),
                nn.Linear(self.hidden, self.hidden), nn.ReLU(), nn.Dropout(self.dropout),
                nn.Linear(self.hidden, 1),
            )

        @property
        def stages(self) -> int:
            return len(self.projections)

        def forward(self, stage_index: int, x: torch.Tensor) -> torch.Tensor:
            """Confidence ``g̃_i(x)`` in [0, 1], one per row; ``stage_index`` counts from 1."""
            if not 1 <= stage_index <= self.stages:
                raise ValueError(f"stage_index {stage_index}; this network has stages "
                                 f"1..{self.stages}")
            return torch.sigmoid(self.mlp(self.projections[stage_index - 1](x))).squeeze(-1)

    ConfidenceNet.__module__ = "simulator.policies.confidence"  # its public home
    _NET_CLASS = ConfidenceNet
    return ConfidenceNet


def _check_architecture(input_dims: Sequence[int], hidden: int) -> tuple[list[int], int]:
    dims = [int(d) for d in input_dims]
    if not dims or any(d < 1 for d in dims):
        raise ValueError(f"input_dims {input_dims!r}: expected one or more sizes >= 1")
    if hidden < 1:
        raise ValueError(f"hidden={hidden!r}: expected a whole number >= 1")
    return dims, int(hidden)


def weight_shapes(input_dims: Sequence[int], hidden: int) -> dict[str, tuple[int, ...]]:
    """The state dict of a :class:`ConfidenceNet`: parameter name -> shape.

    >>> weight_shapes([3, 5], 4)["projections.1.weight"], weight_shapes([3], 4)["mlp.5.weight"]
    ((4, 5), (1, 4))
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for i, d in enumerate(input_dims):
        shapes[f"projections.{i}.weight"] = (hidden, int(d))
        shapes[f"projections.{i}.bias"] = (hidden,)
    shapes.update({"mlp.2.weight": (hidden, hidden), "mlp.2.bias": (hidden,),
                   "mlp.5.weight": (1, hidden), "mlp.5.bias": (1,)})
    return shapes


def check_weights(state: dict[str, Any], input_dims: Sequence[int],
                  hidden: int) -> dict[str, np.ndarray]:
    """``state`` (a state dict: tensors or arrays) as float32 arrays, after checking that it
    has exactly the parameters and shapes of ``ConfidenceNet(input_dims, hidden)``."""
    want = weight_shapes(input_dims, hidden)
    if set(state) != set(want):
        missing, unexpected = sorted(set(want) - set(state)), sorted(set(state) - set(want))
        raise ValueError(f"weights do not match the network: missing {missing}, "
                         f"unexpected {unexpected}")
    out = {}
    for name, shape in want.items():
        value = state[name]
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        array = np.array(value, dtype=np.float32)
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}; the network needs {shape}")
        out[name] = array
    return out


def forward_numpy(weights: dict[str, np.ndarray], stage_index: int, x: np.ndarray) -> np.ndarray:
    """``g̃_i(x)`` from a network's weights, in numpy: what ``ConfidenceNet.forward`` gives
    (in eval mode: dropout off), one value per row of ``x``.

    The arithmetic is float64 and the result is rounded to float32, the type torch
    returns.  Torch computes in float32 with its own summation order, so the two differ
    by up to about 1e-6 (measured: at most 1.2e-7 with the bundled checkpoints on their
    traces, 6.3e-7 over random networks of the policy's shapes; ``tests/test_caches.py``).
    **Tie rule**: decisions compare *this* value with the thresholds (``g̃_i < τ_i``
    offloads); torch is used only for training.  So a sample whose g̃ lies within about
    1e-6 of a threshold may be decided differently than a torch forward pass would have
    decided it; elsewhere the two agree.
    """
    stages = sum(1 for k in weights if k.endswith(".weight") and k.startswith("projections."))
    if not 1 <= stage_index <= stages:
        raise ValueError(f"stage_index {stage_index}; this network has stages 1..{stages}")

    def linear(h: np.ndarray, name: str) -> np.ndarray:
        w = weights[name + ".weight"].astype(np.float64)
        return h @ w.T + weights[name + ".bias"].astype(np.float64)

    h = np.maximum(linear(np.asarray(x, dtype=np.float64), f"projections.{stage_index - 1}"), 0)
    h = np.maximum(linear(h, "mlp.2"), 0.0)
    z = linear(h, "mlp.5")[:, 0]
    p = np.exp(-np.logaddexp(0.0, -z))  # sigmoid, without overflow
    return p.astype(np.float32).astype(float)
