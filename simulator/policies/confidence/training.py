"""Training g̃ on Eq. 1.

Training (:func:`train_confidence`)
-----------------------------------
Adam on Eq. 1 (:func:`eq1_loss`: the sum over stages of the MSE between g̃_i
and s), mini-batches, early stopping on a held-out validation part of the
training rows (patience in epochs), the best epoch's weights kept.  Defaults
(:data:`TRAIN_DEFAULTS`): hidden width 64, dropout 0.1, learning rate 1e-3,
weight decay 1e-4, batches of 32, at most 200 epochs, patience 10, 20 % of the
rows for validation.  Seeded: the split, the initial weights, the batch order
and dropout all derive from ``seed`` (torch's global generator is restored
afterwards), so the same data and seed give bit-identical weights on the CPU
(checked across processes too).  The MiniLM embeddings in the inputs
are cached (:func:`~simulator.policies.confidence.embed_texts`).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError

from .checkpoints import TrainedConfidence
from .features import VARIANTS, FeatureSpec
from .network import _net_class
from .target import DEFAULT_TARGET, _check_target, similarity_target

#: The package's logger (the one this code logged to before the package was split).
log = logging.getLogger("simulator.policies.confidence")

#: Training settings of :func:`train_confidence` not set by the policies' parameters.
TRAIN_DEFAULTS: dict[str, Any] = {"patience": 10, "val_fraction": 0.2, "lr": 1e-3,
                                  "batch_size": 32, "dropout": 0.1, "weight_decay": 1e-4}


def eq1_loss(preds: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Eq. 1: ``sum_i MSE(g̃_i(x), s)`` (each MSE a mean over the batch).

    ``preds`` holds one tensor per stage, each shaped like ``target``.

    >>> import torch
    >>> t = torch.tensor([1.0, 0.0])
    >>> float(eq1_loss([torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])], t))
    0.25
    """
    if len(preds) == 0:
        raise ValueError("eq1_loss needs at least one stage prediction")
    import torch

    total = None
    for i, p in enumerate(preds):
        if p.shape != target.shape:
            raise ValueError(f"stage {i + 1} prediction has shape {tuple(p.shape)}; "
                             f"target has {tuple(target.shape)}")
        term = torch.mean((p - target) ** 2)
        total = term if total is None else total + term
    return total


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{name}={value!r}; expected a whole number >= {low}")
    return int(value)


def train_confidence(
    train_df: pd.DataFrame,
    *,
    points: int = 2,
    stage_tokens: int = 16,
    variant: str = "progressive",
    seed: int = 0,
    epochs: int = 200,
    patience: int = TRAIN_DEFAULTS["patience"],
    val_fraction: float = TRAIN_DEFAULTS["val_fraction"],
    lr: float = TRAIN_DEFAULTS["lr"],
    batch_size: int = TRAIN_DEFAULTS["batch_size"],
    hidden: int = 64,
    dropout: float = TRAIN_DEFAULTS["dropout"],
    weight_decay: float = TRAIN_DEFAULTS["weight_decay"],
    recorded_stage_tokens: int | None = None,
    trace_name: str | None = None,
    target: str = DEFAULT_TARGET,
) -> TrainedConfidence:
    """Train g̃ (``variant="progressive"``), g or g′ on ``train_df`` by Eq. 1.

    ``val_fraction`` of the rows (seeded, at least one when there are two or
    more rows) is held out for early stopping: training stops after
    ``patience`` epochs without a lower validation loss, and the best epoch's
    weights are kept.  ``metrics`` records the per-epoch losses, the best epoch
    and the validation loss of the constant predictor (the training mean of s)
    for comparison.  ``target`` is the Eq. 1 target (:data:`TARGETS`).
    """
    _check_target(target)
    if variant not in VARIANTS:
        raise InputError(f"confidence variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    points = _check_int("points", points, 1)
    stage_tokens = _check_int("stage_tokens", stage_tokens, 1)
    epochs = _check_int("epochs", epochs, 1)
    patience = _check_int("patience", patience, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    hidden = _check_int("hidden", hidden, 1)
    seed = _check_int("seed", seed, 0)
    if not 0 <= float(val_fraction) < 1:
        raise InputError(f"val_fraction={val_fraction!r}; expected a number in [0, 1)")
    if not float(lr) > 0:
        raise InputError(f"lr={lr!r}; expected a number > 0")
    n = len(train_df)
    if n < 2:
        raise InputError(f"the confidence network needs at least 2 training samples; got {n}")
    started = time.perf_counter()
    df = train_df.reset_index(drop=True)
    s, target_source = similarity_target(df, target)

    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(float(val_fraction) * n))
    if val_fraction > 0:
        n_val = min(max(n_val, 1), n - 1)
    val_idx, fit_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

    spec = FeatureSpec.for_table(df, variant=variant, points=points, stage_tokens=stage_tokens,
                                 recorded_stage_tokens=recorded_stage_tokens, target=target)
    spec.fit(df.iloc[fit_idx])
    import torch

    inputs = [torch.from_numpy(x) for x in spec.stage_inputs(df)]
    y = torch.from_numpy(s.astype(np.float32))
    x_fit = [x[fit_idx] for x in inputs]
    x_val = [x[val_idx] for x in inputs]
    y_fit, y_val = y[fit_idx], y[val_idx]
    const = float(y_fit.mean())
    constant_val = (float(eq1_loss([torch.full_like(y_val, const)] * spec.stages, y_val))
                    if n_val else None)

    train_losses: list[float] = []
    val_losses: list[float] = []
    # One thread: the network is small (a second thread only adds synchronisation: 3.5 s
    # -> 2.6 s for the default pool), and the weights do not depend on the machine's
    # core count (a sweep's points train on one thread too).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net, best_loss, best_epoch = _fit(torch, spec, x_fit, x_val, y_fit, y_val, n_val, rng,
                                          seed=seed, epochs=epochs, patience=patience, lr=lr,
                                          batch_size=batch_size, hidden=hidden, dropout=dropout,
                                          weight_decay=weight_decay, train_losses=train_losses,
                                          val_losses=val_losses, m=len(fit_idx))
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started
    metrics = {
        "n_train": int(len(fit_idx)), "n_val": int(n_val), "n_rows": int(n),
        "train_loss": train_losses, "val_loss": val_losses,
        "best_epoch": int(best_epoch), "epochs_run": len(train_losses),
        "best_val_loss": float(best_loss) if n_val else None,
        "constant_val_loss": constant_val, "target": target_source,
        "target_mean": float(s.mean()), "target_kind": target,
        "train_seconds": round(seconds, 3),
        "hyper": {"seed": seed, "epochs": epochs, "patience": patience,
                  "val_fraction": float(val_fraction), "lr": float(lr),
                  "batch_size": batch_size, "hidden": hidden, "dropout": float(dropout),
                  "weight_decay": float(weight_decay)},
    }
    meta = {"trace": trace_name, "n_train": int(n), "variant": variant, "points": points,
            "stage_tokens": stage_tokens, "target": target,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torch_version": torch.__version__}
    log.info("trained confidence network %s (target %s) on %d rows in %.1f s: best epoch %d, "
             "val loss %s (constant %s)", variant, target, n, seconds, best_epoch,
             metrics["best_val_loss"], constant_val)
    return TrainedConfidence(net=net, spec=spec, metrics=metrics, meta=meta)


def _fit(torch, spec, x_fit, x_val, y_fit, y_val, n_val, rng, *, seed, epochs, patience, lr,
         batch_size, hidden, dropout, weight_decay, train_losses, val_losses, m):
    """The epochs of :func:`train_confidence`: the network at its best epoch, that epoch's
    loss and number (the losses of every epoch appended to the lists given)."""
    from .adam import Adam

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _net_class()(spec.input_dims(), hidden=hidden, dropout=dropout)
        opt = Adam(net.parameters(), lr=float(lr), weight_decay=float(weight_decay))
        best_loss, best_epoch, best_state, stale = math.inf, 0, copy.deepcopy(net.state_dict()), 0
        for epoch in range(1, epochs + 1):
            net.train()
            perm = torch.from_numpy(rng.permutation(m))
            total = 0.0
            for start in range(0, m, batch_size):
                b = perm[start:start + batch_size]
                preds = [net(i + 1, x[b]) for i, x in enumerate(x_fit)]
                loss = eq1_loss(preds, y_fit[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            train_losses.append(total / m)
            if n_val:
                net.eval()
                with torch.no_grad():
                    current = float(eq1_loss([net(i + 1, x) for i, x in enumerate(x_val)], y_val))
                val_losses.append(current)
            else:
                current = train_losses[-1]
            if current < best_loss:
                best_loss, best_epoch, stale = current, epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
                if stale >= patience:
                    break
        net.load_state_dict(best_state)
        net.eval()
    return net, best_loss, best_epoch
