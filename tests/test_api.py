"""The Python API and its tutorial: the README's code runs as written, and so does the script."""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path

import pytest

from simulator import api as sv
from simulator.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def in_a_project_copy(tmp_path, monkeypatch):
    """A working folder with the project's scenarios, so results land in tmp."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def readme_tutorial() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_tutorial_runs_as_written(in_a_project_copy, capsys):
    exec(compile(readme_tutorial(), "README.md", "exec"), {})  # noqa: S102 - our own README
    out = capsys.readouterr().out
    assert "deadline-aware" in out and "contact windows" in out
    assert len(list((in_a_project_copy / "results").iterdir())) == 3


def test_the_tutorial_script_runs(in_a_project_copy, capsys):
    runpy.run_path(str(ROOT / "examples" / "tutorial.py"), run_name="__main__")
    assert "ground-only" in capsys.readouterr().out


def test_readme_and_script_say_the_same():
    script = (ROOT / "examples" / "tutorial.py").read_text(encoding="utf-8")
    body = script.split('"""', 2)[2].strip()
    assert body == readme_tutorial().strip()


def test_scenario_from_a_dict_and_its_errors():
    s = sv.scenario({"name": "x", "policy": {"allocation": "oracle"}}, set=["seed=4"])
    assert (s.name, s.seed, s.policy.allocation) == ("x", 4, "oracle")
    with pytest.raises(InputError, match=r"<dict>:\d+: seed"):
        sv.scenario({"seed": -1})
    with pytest.raises(InputError, match="expected a mapping"):
        sv.scenario(["not", "a", "mapping"])


def test_policies_and_metrics_tables():
    p = sv.policies()
    assert {"satellite-only", "spaceverse", "deadline-aware"} <= set(p["name"])
    m = sv.metrics()
    assert {"accuracy_every_answer", "service_mean_s"} <= set(m["name"])
