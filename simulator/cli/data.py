"""``spaceverse traces``, ``policies`` and ``catalogs``: what a scenario can name."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from .app import (_make_folder, _out_file, _out_folder, _print_table, _say, _table_mode, cli, logger,
                  table_output)


@cli.group()
def traces():
    """Inference traces: list, convert recorded predictions, record, synthesise."""


@traces.command("list")
@click.option("--folder", type=click.Path(file_okay=False), help="Another folder of traces.")
@table_output
def traces_list(folder):
    """Every trace with its source, models, task, size, licence, real or synthetic."""
    import pandas as pd

    from ..inference.traces import list_traces

    if folder is not None and not Path(folder).is_dir():
        raise click.BadParameter(f"{folder}: no such folder", param_hint="--folder")
    rows = list_traces(Path(folder) if folder else None)
    if not rows:
        _say("no traces found")
        return
    frame = pd.DataFrame(rows)
    frame["models"] = frame["models"].map(
        lambda m: f"{m.get('onboard')} / {m.get('ground')}" if isinstance(m, dict) else str(m))
    frame["kind"] = frame["synthetic"].map(lambda x: "SYNTHETIC" if x else "real")
    frame["MB"] = frame["path"].map(_size_mb)
    frame = frame.rename(columns={"n_samples": "samples"})
    cols = [c for c in ("name", "kind", "task", "samples", "MB", "models", "licence", "source")
            if c in frame.columns]
    _print_table("Traces", frame[cols], {"MB": "{:.2f}"})


def _size_mb(path) -> float:
    """Megabytes of a file (NaN when it cannot be read, e.g. removed meanwhile)."""
    try:
        return Path(path).stat().st_size / 1e6
    except OSError:
        return float("nan")


@traces.command("convert")
@click.argument("source")
@click.option("--input", "input_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with the original prediction files of that source.")
@click.option("--out", "out_dir", default="models/traces", show_default=True,
              type=click.Path(file_okay=False))
def traces_convert(source, input_dir, out_dir):
    """Convert recorded model outputs (SOURCE: see --help of `traces converters`) to a trace."""
    from ..inference.converters import convert

    if not Path(input_dir).is_dir():
        raise click.BadParameter(f"{input_dir}: no such folder", param_hint="--input")
    _out_folder(out_dir, "--out", "trace")
    for path in convert(source, Path(input_dir), Path(out_dir)):
        _say(f"wrote {path}")


@traces.command("converters")
@table_output
def traces_converters():
    """List the converters of recorded predictions and the files each expects."""
    import pandas as pd

    from ..inference.converters import CONVERTERS

    rows = [{"converter": name,
             "expects": entry[1] if isinstance(entry, tuple) and len(entry) > 1 else ""}
            for name, entry in CONVERTERS.items()]
    _print_table("Converters (spaceverse traces convert NAME --input FOLDER)", pd.DataFrame(rows), {})


@traces.command("synth")
@click.option("--task", type=click.Choice(["vqa", "classification", "detection", "mixed"]),
              default="vqa", show_default=True)
@click.option("--samples", type=click.IntRange(min=1, max=10_000_000), default=1000,
              show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True)
@click.option("--out", "out_dir", default="models/traces", show_default=True,
              type=click.Path(file_okay=False))
def traces_synth(task, samples, seed, out_dir):
    """Write a seeded SYNTHETIC trace (its name says so)."""
    from ..inference.synthetic import generate_synthetic
    from ..inference.traces import write_trace

    folder = _out_folder(out_dir, "--out", "trace")
    trace = generate_synthetic(task=task, samples=samples, seed=seed)
    _make_folder(folder, "--out", "trace")
    path = write_trace(trace, folder / f"{trace.name}.parquet")
    _say(f"wrote {path} (synthetic)")


@traces.command("record")
@click.option("--model-dir", required=True, type=click.Path(file_okay=False),
              help="Onboard VLM (Qwen2-VL family) saved with save_pretrained.")
@click.option("--ground-model-dir", type=click.Path(file_okay=False),
              help="Ground VLM (default: the same as --model-dir).")
@click.option("--dataset", required=True, help="A bundled image set (see `traces datasets`).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Trace file to write (.parquet; a .json sidecar is written beside it).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32",
              show_default=True)
@click.option("--stage-tokens", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples.")
def traces_record(model_dir, ground_model_dir, dataset, out_file, device, dtype, stage_tokens,
                  max_new_tokens, limit):
    """Run real models over a dataset and record a trace the cached backend replays."""
    from ..inference.images import load_image_set
    from ..inference.metrics import score
    from ..inference.record import record_trace
    from ..inference.traces import write_trace

    for option, folder in (("--model-dir", model_dir), ("--ground-model-dir", ground_model_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise click.BadParameter(f"{folder}: no such model folder", param_hint=option)
    if "synthetic" in Path(out_file).stem.lower():
        raise click.BadParameter(f"{out_file}: 'synthetic' in a file name is reserved for "
                                 "synthetic traces; a recorded trace is real", param_hint="--out")
    target = Path(out_file)
    if target.suffix != ".parquet":
        target = target.with_name(target.name + ".parquet")
    _out_file(target, "--out", "trace")
    _out_file(target.with_suffix(".json"), "--out", "trace metadata")
    samples = load_image_set(dataset)[:limit]
    from ..inference.transformers_backend import QwenVLBackend

    onboard = QwenVLBackend(model_dir, device=device, dtype=dtype, max_new_tokens=max_new_tokens)
    ground = (onboard if not ground_model_dir else
              QwenVLBackend(ground_model_dir, device=device, dtype=dtype,
                            max_new_tokens=max_new_tokens))
    items = [(s.sample_id, s.image, s.prompt, s.reference, s.task) for s in samples]
    trace = record_trace(onboard, ground, items, stage_tokens=stage_tokens, scorer=score,
                         name=Path(out_file).stem, source=f"recorded on {onboard.device_name} "
                                                          f"over {dataset}")
    _make_folder(target.parent, "--out", "trace")
    path = write_trace(trace, target)
    _say(f"wrote {path} ({len(trace.table)} samples)")


@traces.command("datasets")
@table_output
def traces_datasets():
    """List the bundled image sets usable by `traces record`."""
    import pandas as pd

    from ..inference.images import list_image_sets

    rows = [{"dataset": name, "what it holds": description}
            for name, description in list_image_sets().items()]
    _print_table("Bundled image sets (spaceverse traces record --dataset NAME)", pd.DataFrame(rows), {})


# ---- spaceverse traces import: your own answers as a trace ---------------------------------


@traces.command("import")
@click.argument("source_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Trace to write, NAME.parquet (NAME.json beside it; default: beside FILE).")
@click.option("--task", help="Task of every row without a task cell (vqa, classification, yesno, "
                             "mcq, detection, caption).")
@click.option("--name", help="Trace name (default: the --out or FILE name).")
@click.option("--models", metavar="ONBOARD,GROUND", help="The two models' names (metadata).")
@click.option("--licence", help="Licence of the data (metadata; default: unspecified).")
@click.option("--provenance", help="Where the answers come from, e.g. a citation (metadata).")
def traces_import(source_file, out, task, name, models, licence, provenance):
    """Check a CSV or Parquet file of two models' answers and write it as a trace.

    The format is in README.md ("Inference: recorded traces"); every problem of the file is
    listed, one line each (FILE:LINE: column: what is wrong), before anything is written.
    """
    from ..inference.trace_import import TraceImportError, import_trace, target_of

    pair = None
    if models is not None:
        pair = tuple(m.strip() for m in models.split(","))
        if len(pair) != 2 or not all(pair):
            raise click.BadParameter(f"{models!r}: expected two model names, ONBOARD,GROUND",
                                     param_hint="--models")
    if not Path(source_file).is_file():
        raise click.BadParameter(f"{source_file}: no such file", param_hint="FILE")
    try:
        target = target_of(Path(source_file), out, name)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    _out_file(target, "--out", "trace", (".parquet",))
    _out_file(target.with_suffix(".json"), "--out", "trace metadata")
    try:
        path, trace = import_trace(source_file, out=target, task=task, models=pair,
                                   licence=licence, description=provenance)
    except TraceImportError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        raise InputError(exc.summary) from None
    table, meta = trace.table, trace.meta
    _say(f"wrote {path} ({len(table)} samples, {', '.join(meta['tasks'])}; accuracy "
               f"onboard {table['onboard_score'].mean():.3f}, ground "
               f"{table['ground_score'].mean():.3f})")
    if meta.get("estimated"):
        _say(f"estimated: {', '.join(meta['estimated'])} (see {path.with_suffix('.json')})")
    absent = [c for c in meta["missing"] if c != "difficulty"]  # synthetic traces only
    _say(f"not given: {', '.join(absent) or 'nothing'}")
    if not licence:
        logger.warning("no --licence: the metadata says 'unspecified'")


# ---- spaceverse policies: every allocation policy and compressor, built-in and plugin ----


def _param_kind(spec: dict) -> str:
    kind = {"number": "number", "integer": "whole number", "boolean": "true/false",
            "text": "text", "numbers": "list of numbers", "path": "path", "any": "any",
            "choice": "one of " + ", ".join(spec.get("choices", []))}[spec["type"]]
    return f"{kind} {spec['bounds']}" if spec.get("bounds") else kind


@cli.command("policies")
@table_output
def policies_command():
    """List every allocation policy and compressor (built-in and plugin) with its parameters."""
    import json

    from ..policies.registry import catalogue, layout_schema

    data = catalogue()
    layout = {n: p.as_dict() for n, p in layout_schema().items()}
    if _table_mode()[0]:
        click.echo(json.dumps({**data, "layout": layout}, ensure_ascii=False))
        return
    titles = {"allocation": "Allocation policies (policy.allocation, parameters policy.params)",
              "compression": "Compressors (policy.compression.method, parameters "
                             "policy.compression.params)"}
    for kind, title in titles.items():
        _say(title)
        for row in data[kind]:
            source = row["source"] if row["source"] == "built-in" else \
                f"plugin: {row['source']}, {row['entry_point']}"
            _say(f"  {row['name']}  [{source}]")
            if "error" in row:
                _say(f"      error: {row['error']}")
                continue
            if row.get("description"):
                _say(f"      {row['description']}")
            for pname, spec in row["params"].items():
                default = spec.get("default_text") or json.dumps(spec["default"])
                _say(f"      {pname} = {default}  ({_param_kind(spec)}) "
                           f"{spec['description']}".rstrip())
        if kind == "allocation":
            shown = ", ".join(f"{n} = {json.dumps(p['default'])}" for n, p in layout.items())
            _say(f"  every allocation policy also takes {shown} (the decision points)")
        _say("")


@cli.command()
@table_output
def catalogs():
    """List the bundled TLE catalogs and ground-station networks."""
    import pandas as pd

    from ..orbits.stations import load_station_catalog, networks
    from ..orbits.tle import list_catalogs

    rows = [{"catalog": name, "file": str(path)} for name, path in list_catalogs().items()]
    _print_table("TLE catalogs (scenario constellation.catalog, contacts --tle)", pd.DataFrame(rows), {})
    stations = load_station_catalog()
    _say(f"ground stations: {len(stations)} in networks {', '.join(networks(stations))}")


