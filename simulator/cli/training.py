"""``spaceverse train confidence``: the progressive confidence network."""

from __future__ import annotations

from pathlib import Path

import click

from .app import _FloatRange, _out_file, _out_folder, _say, cli, logger

@cli.group()
def train():
    """Train learning policies (the progressive confidence network)."""


@train.command("confidence")
@click.option("--trace", required=True, help="Trace name or .parquet path.")
@click.option("--train-fraction", type=_FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True, help="Share of the trace rows to train on (§3.1).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Seed of the split and the network (a scenario with this seed holds out "
                   "the same rows).")
@click.option("--variant", type=click.Choice(["progressive", "g", "g-prime"]),
              default="progressive", show_default=True,
              help="g~ (progressive), or the ablations g (image features) and g' (full answer).")
@click.option("--stages", type=click.IntRange(min=1), default=2, show_default=True, help="I.")
@click.option("--stage-tokens", type=click.IntRange(min=1), default=16, show_default=True,
              help="N_t.")
@click.option("--train-rows", type=click.IntRange(min=2),
              help="Train on this many rows instead of --train-fraction of the trace.")
@click.option("--target", type=click.Choice(["agreement", "minilm"]), default="agreement",
              show_default=True,
              help="Eq. 1 target: answer agreement, or the MiniLM similarity of the answers.")
@click.option("--out", type=click.Path(), help="Checkpoint path or folder "
                                               "(default: models/confidence/<trace>-<variant>.pt).")
@click.pass_context
def train_confidence(ctx, trace, train_fraction, seed, variant, stages, stage_tokens, train_rows,
                     target, out):
    """Train g~ with the loss of Eq. 1; write the checkpoint and its metadata."""
    from ..policies.confidence import train_command

    if train_rows is not None and \
            ctx.get_parameter_source("train_fraction") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--train-rows and --train-fraction: give one of them")
    if out is not None:
        if out.endswith(("/", "\\")) or Path(out).is_dir():
            _out_folder(out, "--out", "checkpoint")
        else:
            _out_file(out, "--out", "checkpoint")
    path = train_command(trace, train_fraction, seed, out, points=stages,
                         stage_tokens=stage_tokens, variant=variant, train_rows=train_rows,
                         target=target)
    meta = _checkpoint_meta(Path(path).with_suffix(".json"))
    if meta is not None:
        metrics = meta.get("metrics")
        best = meta.get("best_val_loss",
                        metrics.get("best_val_loss") if isinstance(metrics, dict) else None)
        _say(f"trained on {meta.get('n_train', '?')} rows; best validation loss {best}")
    _say(f"wrote {path}")


def _checkpoint_meta(path: Path) -> dict | None:
    """The metadata written beside a checkpoint, or None (with a warning) if unreadable."""
    import json

    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("%s: cannot read the checkpoint metadata (%s)", path, exc)
        return None
    return meta if isinstance(meta, dict) else None


