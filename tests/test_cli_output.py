"""How the command line prints: tables that fit the terminal or run full width, JSON lines
under ``--json`` with the prose moved to stderr, and plain progress lines off a terminal."""

from __future__ import annotations

import json

import pytest

from simulator.cli import app as cli_app
from simulator.cli import main


def run_ok(capsys, *args) -> tuple[str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    return out, err


def test_json_prints_only_json_lines_and_moves_prose_to_stderr(capsys):
    out, err = run_ok(capsys, "catalogs", "--json")
    lines = out.splitlines()
    assert len(lines) == 1
    table = json.loads(lines[0])
    assert table["title"].startswith("TLE catalogs")
    names = {row["catalog"] for row in table["rows"]}
    assert "starlink@2026-06-14" in names and "planet" in names
    assert "ground stations:" in err and "ground stations:" not in out


@pytest.mark.parametrize("argv,key", [(["traces", "converters"], "converter"),
                                      (["traces", "datasets"], "dataset")])
def test_every_listing_is_a_table_with_json(capsys, argv, key):
    out, _ = run_ok(capsys, *argv, "--json")
    rows = json.loads(out)["rows"]
    assert rows and all(row[key] for row in rows)


def test_tables_fold_to_columns_unless_wide(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    folded, _ = run_ok(capsys, "catalogs")
    table = [line for line in folded.splitlines() if "│" in line]
    assert table and max(len(line) for line in table) <= 50
    wide, _ = run_ok(capsys, "catalogs", "--wide")
    assert max(len(line) for line in wide.splitlines() if "│" in line) > 50
    # every catalogue path whole on one line with --wide
    assert any(line.count("/tle/celestrak_2026-06-14/starlink.tle") == 1
               for line in wide.splitlines())


def test_piped_tables_are_never_folded(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out, _ = run_ok(capsys, "catalogs")  # captured: not a terminal
    assert any("/tle/celestrak_2026-06-14/starlink.tle" in line for line in out.splitlines())


def test_plain_progress_lines_off_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(cli_app, "PLAIN_PROGRESS_AFTER_S", 0.0)
    with cli_app._progress(20, "points") as advance:
        for _ in range(20):
            advance(1)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "points: 2/20 (10 %)" and err[-1] == "points: 20/20 (100 %)"
    assert len(err) == 10


def test_plain_progress_is_quiet_for_short_work(capsys):
    with cli_app._progress(20, "points") as advance:
        for _ in range(20):
            advance(1)
    assert capsys.readouterr().err == ""


def test_json_option_on_every_table_command():
    from simulator.cli import cli

    def options(command):
        return {o for p in command.params for o in getattr(p, "opts", [])}

    tables = [("contacts",), ("run",), ("validate",), ("compare",), ("sweep",), ("catalogs",),
              ("policies",), ("traces", "list"), ("runs", "list"), ("runs", "show"),
              ("runs", "diff")]
    import click

    ctx = click.Context(cli)
    for path in tables:
        command = cli
        for name in path:
            command = command.get_command(ctx, name)
        assert {"--json", "--wide"} <= options(command), path
