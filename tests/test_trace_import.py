"""``spaceverse traces import``: your own answers as a trace
(:mod:`simulator.inference.trace_import`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import main
from simulator.config import load_scenario
from simulator.engine.world import check_scenario, run_scenario
from simulator.errors import InputError
from simulator.inference.trace_import import (MAX_SHOWN, TraceImportError, check_file,
                                              import_trace)
from simulator.inference.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "models" / "images" / "choice_scene_classification" / "images" / "110.png"

HEADER = ("sample_id,task,image_path,image_width_px,image_height_px,question,onboard_answer,"
          "ground_answer,reference_answer,onboard_confidence,features")

#: Five deliberate mistakes, on lines 3 to 7 (line 2 is right).
FIVE_MISTAKES = "\n".join([
    HEADER,
    'a1,vqa,,256,256,Is there water?,yes,no,no,0.8,"[0.1, 0.2]"',
    'a2,vqq,,256,256,Is there a road?,yes,yes,yes,0.7,"[0.1, 0.2]"',
    'a3,classification,,abc,256,What scene?,forest,forest,forest,0.9,"[0.3, 0.1]"',
    'a1,vqa,,256,256,How many ships?,2,3,3,0.5,"[0.2, 0.2]"',
    'a5,vqa,,256,256,Is it day?,,yes,yes,0.4,"[0.2, 0.4]"',
    'a6,detection,,512,512,Where is the ship?,"[10, 10, 50, 50]","[12, 8, 48, 52]",'
    '"[10, 10, 50, 50]",0.6,"[0.1, 0.2"',
]) + "\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _good_csv(folder: Path, rows: int = 24) -> Path:
    """A correct file: classification rows on a real image, VQA and detection rows by size."""
    shutil.copy(IMAGE, folder / "scene.png")
    lines = [HEADER]
    for i in range(rows):
        kind = i % 3
        if kind == 0:
            lines.append(f's{i},classification,scene.png,,,What is in the image?,'
                         f'{"forest" if i % 2 else "dense residential"},dense residential,'
                         f'Dense residential,0.{i % 9 + 1},"[{i % 5}, 1.5]"')
        elif kind == 1:
            lines.append(f's{i},vqa,,256,256,Is there water?,{"yes" if i % 2 else "no"},no,no,'
                         f'0.{i % 9 + 1},"[0.5, {i}]"')
        else:
            lines.append(f's{i},detection,,800,600,Where is the plane?,"[0.1, 0.2, 0.5, 0.6]",'
                         f'"(100,200),(500,600)","[0.1, 0.2, 0.5, 0.6]",0.{i % 9 + 1},'
                         f'"[{i}, 0.0]"')
    return _write(folder / "mine.csv", "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- mistakes


def test_five_mistakes_are_all_reported_with_their_lines(tmp_path):
    path = _write(tmp_path / "bad.csv", FIVE_MISTAKES)
    with pytest.raises(TraceImportError) as info:
        import_trace(path, licence="CC0-1.0")
    error = info.value
    lines = error.lines()
    assert lines[:4] == [
        f"{path}:3: task: unknown task 'vqq'; did you mean 'vqa'? (known: caption, "
        "classification, detection, mcq, vqa, yesno)",
        f"{path}:4: image_width_px: 'abc' is not a whole number",
        f"{path}:5: sample_id: duplicate 'a1' (first on line 2)",
        f"{path}:6: onboard_answer: empty answer",
    ]
    assert lines[4].startswith(f"{path}:7: features: bad JSON (")
    assert lines[4].endswith("expected a JSON list such as [0.1, 0.2]")
    assert len(lines) == 5 and len(error.problems) == 5
    assert error.summary == f"{path}: 5 problems; nothing imported"
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob("*.json"))


def test_the_command_lists_every_problem_and_writes_nothing(tmp_path, capsys):
    path = _write(tmp_path / "bad.csv", FIVE_MISTAKES)
    with pytest.raises(SystemExit) as done:
        main(["traces", "import", str(path), "--licence", "CC0-1.0"])
    err = capsys.readouterr().err.splitlines()
    assert done.value.code == 2
    assert [line.split(": ")[0] for line in err[:5]] == [f"{path}:{n}" for n in range(3, 8)]
    assert err[5] == f"error: {path}: 5 problems; nothing imported"
    assert "Traceback" not in "\n".join(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_the_list_is_capped(tmp_path):
    rows = [HEADER] + [f"x{i},vqa,,256,256,q,,no,no,0.5,[1]" for i in range(60)]
    path = _write(tmp_path / "many.csv", "\n".join(rows) + "\n")
    with pytest.raises(TraceImportError) as info:
        check_file(path)
    lines = info.value.lines()
    assert len(lines) == MAX_SHOWN + 1 and lines[-1] == "... and 10 more"
    assert lines[0] == f"{path}:2: onboard_answer: empty answer"
    assert len(info.value.problems) == 60


def test_header_problems(tmp_path):
    path = _write(tmp_path / "h.csv", "sample_id,image_width_px,onboard_answer,ground_answr,"
                                      "reference_answer,sample_id\n"
                                      "a,256,yes,no,no,a\n")
    with pytest.raises(TraceImportError) as info:
        check_file(path)
    assert info.value.lines() == [
        f"{path}:1: sample_id: appears twice (columns 1 and 6)",
        f"{path}:1: task: missing column; give a task column or --task (one of caption, "
        "classification, detection, mcq, vqa, yesno)",
        f"{path}:1: ground_answer: missing column (required: the ground model's answer)",
        f"{path}:1: image_height_px: missing column (the image size needs both "
        "image_width_px and image_height_px)",
        f"{path}:1: ground_answr: unknown column; did you mean 'ground_answer'?",
    ]
    empty = _write(tmp_path / "empty.csv", "\n")
    with pytest.raises(TraceImportError, match="the file has no header line"):
        check_file(empty)
    only_header = _write(tmp_path / "only.csv", HEADER + "\n")
    with pytest.raises(TraceImportError, match=r"only.csv:1: no data rows"):
        check_file(only_header)


def test_cell_problems(tmp_path):
    _write(tmp_path / "notanimage.png", "text")
    text = "\n".join([
        "sample_id,task,image_path,image_width_px,image_height_px,onboard_answer,ground_answer,"
        "reference_answer,onboard_confidence,onboard_wall_s,onboard_stage_confidence,split,"
        "prompt_tokens",
        "a,vqa,nope.png,,,yes,no,no,0.5,1.0,[0.5],test,3",
        "b,vqa,notanimage.png,,,yes,no,no,0.5,1.0,[0.5],test,3",
        f"c,vqa,{IMAGE},300,,yes,no,no,,-1,[0.5],test,3",
        "d,detection,,256,256,yes,no,a box,0.5,1.0,[1.5],maybe,-2",
        'e,vqa,,256,0,yes,no,"[""2"", ",0.5,1.0,"{""a"": 1}",test,x',
        "f,vqa,,256,256,yes,no,no,0.5,1.0,[0.5],test",
    ]) + "\n"
    path = _write(tmp_path / "cells.csv", text)
    with pytest.raises(TraceImportError) as info:
        check_file(path)
    got = [line.split(": ", 1)[1] for line in info.value.lines()]
    where = [line.split(": ", 1)[0] for line in info.value.lines()]
    expected = [
        (2, f"image_path: 'nope.png': no such file ({tmp_path / 'nope.png'})"),
        (3, "image_path: 'notanimage.png': cannot read it as an image ("),
        (4, "image_width_px: 300 but the image 110.png is"),
        (4, "onboard_confidence: empty; an optional column, once present, needs a value"),
        (4, "onboard_wall_s: '-1' is negative; expected seconds >= 0"),
        (5, "reference_answer: not a box: box 'a box': found 0 numbers"),
        (5, "prompt_tokens: '-2'; expected a whole number >= 0"),
        (5, "onboard_stage_confidence: 1.5 is outside [0, 1]"),
        (5, "split: 'maybe'; expected test or train"),
        (6, "reference_answer: bad JSON ("),
        (6, "image_height_px: '0'; expected a whole number from 1 to 1,000,000"),
        (6, "prompt_tokens: 'x' is not a whole number"),
        (6, "onboard_stage_confidence: JSON dict, not a list"),
        (7, "12 fields; the header has 13"),
    ]
    assert len(got) == len(expected), info.value.lines()
    for (line, start), w, g in zip(expected, where, got):
        assert w == f"{path}:{line}" and g.startswith(start), (w, g)


def test_task_option(tmp_path):
    path = _write(tmp_path / "t.csv", "sample_id,image_width_px,image_height_px,onboard_answer,"
                                      "ground_answer,reference_answer\n"
                                      "a,256,256,Forest,beach,forest\n")
    with pytest.raises(TraceImportError, match="task: missing column; give a task column or "
                                               "--task"):
        check_file(path)
    table, _ = check_file(path, task="Classification")
    assert table["task"].tolist() == ["classification"]
    assert table[["onboard_score", "ground_score"]].values.tolist() == [[1.0, 0.0]]
    with pytest.raises(InputError, match="--task: unknown task 'clasification'; did you mean "
                                         "'classification'"):
        check_file(path, task="clasification")


# --------------------------------------------------------------------------- a correct file


def test_a_correct_csv_imports_and_runs_end_to_end(tmp_path, capsys):
    source = _good_csv(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["traces", "import", str(source), "--out", str(tmp_path / "traces" / "mine.parquet"),
              "--licence", "CC-BY-4.0", "--models", "Qwen2-VL-2B,Qwen2-VL-7B",
              "--provenance", "my lab's recordings"])
    out = capsys.readouterr().out
    assert done.value.code == 0, out
    target = tmp_path / "traces" / "mine.parquet"
    assert out.startswith(f"wrote {target} (24 samples, classification, detection, vqa;")
    trace = read_trace(target)
    meta = json.loads(target.with_suffix(".json").read_text())
    assert meta["synthetic"] is False and meta["licence"] == "CC-BY-4.0"
    assert meta["models"] == {"onboard": "Qwen2-VL-2B", "ground": "Qwen2-VL-7B"}
    assert meta["source"] == "my lab's recordings" and meta["task"] == "mixed"
    assert meta["provenance"]["imported_from"] == "mine.csv"
    assert len(meta["provenance"]["input_sha256"]) == 64 and meta["provenance"]["input_rows"] == 24
    assert set(meta["estimated"]) == {"prompt_tokens", "onboard_output_tokens",
                                      "ground_output_tokens"}
    assert meta["image_size_basis"] == {"image_path": 8, "size columns": 16}
    assert meta["image_bytes_basis"] == {"image file size": 8, "raw 8-bit RGB": 16}
    assert "ground_confidence" in meta["missing"] and "features" not in meta["missing"]
    table = trace.table
    # scores by the task's metric: lenient class names, exact VQA, IoU of boxes
    first = table.set_index("sample_id")
    assert first.loc["s0", "onboard_score"] == 1.0 and first.loc["s3", "onboard_score"] == 0.0
    assert first.loc["s1", "onboard_score"] == 0.0 and first.loc["s1", "ground_score"] == 1.0
    assert first.loc["s2", "onboard_score"] == 1.0 and first.loc["s2", "ground_score"] == 1.0
    from PIL import Image

    with Image.open(IMAGE) as image:
        size = image.size
    assert (first.loc["s0", "image_width_px"], first.loc["s0", "image_height_px"]) == size
    assert first.loc["s0", "image_bytes"] == IMAGE.stat().st_size
    assert first.loc["s1", "image_bytes"] == 256 * 256 * 3
    assert Path(first.loc["s0", "image_path"]).is_absolute()  # outside the project root
    assert list(table["features"].iloc[0]) == [0.0, 1.5]

    # ... and runs in a short scenario, named by its path
    scenario_path = tmp_path / "traces" / "run.yaml"
    scenario_path.write_text(f"base: {ROOT / 'scenarios' / 'small.yaml'}\n"
                             "workload: {synthetic: null, trace: mine.parquet}\n"
                             "policy: {allocation: oracle}\n")
    scenario = load_scenario(scenario_path)
    assert check_scenario(scenario)["trace"] == "mine (24 rows)"
    result = run_scenario(scenario, out_dir=tmp_path / "results")
    assert result.summary["samples"] == 24 and result.summary["synthetic"] is False
    better = (table["ground_score"] > table["onboard_score"]).mean()
    assert result.summary["offload_fraction"] == pytest.approx(better)


def test_parquet_input_and_default_output(tmp_path):
    frame = pd.DataFrame({"sample_id": ["p1", "p2"], "task": ["yesno", "mcq"],
                          "image_width_px": [64, 64], "image_height_px": [32, 32],
                          "onboard_answer": ["Yes, there is", "B"],
                          "ground_answer": ["no", "(A)"], "reference_answer": ["yes", "A"],
                          "onboard_output_tokens": [3, 1], "onboard_score": [0.2, 0.2],
                          "image_id": ["x.tif", "y.tif"]})
    source = tmp_path / "answers.parquet"
    frame.to_parquet(source)
    path, trace = import_trace(source)
    assert path == tmp_path / "answers-trace.parquet"
    table = trace.table
    assert table["onboard_score"].tolist() == [1.0, 0.0] and table["ground_score"].tolist() == [
        0.0, 1.0]
    assert table["onboard_output_tokens"].tolist() == [3, 1]
    assert table["image_id"].tolist() == ["x.tif", "y.tif"]  # other columns are kept
    assert trace.meta["ignored_columns"] == {"onboard_score": "recomputed from the answers"}
    assert trace.meta["licence"] == "unspecified" and "licence_note" in trace.meta
    assert trace.meta["estimated"]["ground_output_tokens"].startswith("2 of 2 rows")
    bad = frame.assign(onboard_answer=["yes", " "], image_width_px=[64, -1])
    bad.to_parquet(source)
    with pytest.raises(TraceImportError) as info:
        check_file(source)
    assert info.value.lines() == [
        f"{source}:row 2: onboard_answer: empty answer",
        f"{source}:row 2: image_width_px: -1; expected a whole number from 1 to 1,000,000",
    ]


def test_names_and_unreadable_files(tmp_path):
    source = _good_csv(tmp_path, rows=3)
    with pytest.raises(InputError, match="'synthetic' in a trace's file name is reserved"):
        import_trace(source, name="my-synthetic")
    with pytest.raises(InputError, match="--name 'a' and --out '.*b.parquet' disagree"):
        import_trace(source, name="a", out=tmp_path / "b.parquet")
    path, _ = import_trace(source, name="renamed")
    assert path == tmp_path / "renamed.parquet" and path.with_suffix(".json").is_file()
    with pytest.raises(InputError, match="no such file"):
        check_file(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="expected a .csv or .parquet file"):
        check_file(_write(tmp_path / "x.txt", "a"))
    (tmp_path / "latin.csv").write_bytes(b"sample_id,task\n\xe9,vqa\n")
    with pytest.raises(InputError, match="not UTF-8 text"):
        check_file(tmp_path / "latin.csv")
