"""The command group, logging, progress and tables shared by every ``spaceverse`` command.

Every user mistake ends as one line on stderr (``error: ...``) and exit status 2;
warnings (stale TLE epochs, skipped records) go to stderr as ``warning: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

from .. import __version__
from ..errors import InputError, SpaceverseError

logger = logging.getLogger("simulator")

DEFAULT_CATALOG = "starlink@2026-06-14"
#: Most satellites of one synthetic Walker shell (``contacts --altitudes``).
MAX_SHELL_SATELLITES = 20_000


class _LineFormatter(logging.Formatter):
    def format(self, record):
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    root = logging.getLogger("simulator")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    root.propagate = False


#: Seconds of work before the plain (non-terminal) progress lines start.
PLAIN_PROGRESS_AFTER_S = 3.0


@contextmanager
def _progress(total: int, label: str, enabled: bool = True):
    """Progress on stderr that the caller advances by counts: a rich bar on a terminal, a
    plain line at every tenth otherwise, once the work has taken a few seconds (a log file or
    CI gets ``label: 3/10 (30 %)``).  The callable it yields has ``paused()``, a context
    manager during which the bar's refresh thread is stopped (the bar is hidden), so
    that worker processes can be forked (see ``simulator.sweep.run_sweep``'s ``quiesce``)."""
    if not enabled:
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        import time

        done, shown, began = [0], [0], time.monotonic()

        def advance(n):
            done[0] += n
            tenth = int(10 * done[0] / total) if total else 10
            # quiet for work shorter than a few seconds, then a line per tenth done
            if tenth > shown[0] and time.monotonic() - began >= PLAIN_PROGRESS_AFTER_S:
                shown[0] = tenth
                click.echo(f"{label}: {done[0]:,}/{total:,} ({min(100, 10 * tenth)} %)",
                           err=True)

        advance.paused = nullcontext  # no thread to stop
        yield advance
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(n):
            bar.advance(task, n)

        @contextmanager
        def paused():
            thread = getattr(bar.live, "_refresh_thread", None)
            bar.stop()   # the refresh thread is told to stop; sys.stdout/stderr restored
            if thread is not None and thread is not threading.current_thread():
                thread.join()
            try:
                yield
            finally:
                bar.start()

        advance.paused = paused
        yield advance


def table_output(command):
    """Give a table-printing command ``--json`` (JSON lines instead of tables) and ``--wide``
    (never fold a table to the terminal's width)."""
    def remember(ctx, param, value):
        ctx.meta[f"spaceverse.{param.name}"] = value
        return value

    command = click.option("--wide", is_flag=True, expose_value=False, callback=remember,
                           help="Print tables at full width (default: the terminal's).")(command)
    return click.option("--json", "json_output", is_flag=True, expose_value=False,
                        callback=remember, is_eager=True,
                        help="Print each table as one JSON line instead.")(command)


def _say(text: str = "", **kwargs) -> None:
    """A line for the reader: on stdout, or on stderr under ``--json`` so that stdout holds
    only JSON lines."""
    as_json, _ = _table_mode()
    click.echo(text, err=as_json or kwargs.pop("err", False), **kwargs)


def _table_mode() -> tuple[bool, bool]:
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    return bool(meta.get("spaceverse.json_output")), bool(meta.get("spaceverse.wide"))


def _cell(value, spec: str) -> str:
    """One table cell: ``spec`` applied to ``value``; a missing value (None, NaN) is ``-``."""
    import pandas as pd

    try:
        if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
            return "-"
    except (TypeError, ValueError):  # an array-like value: printed as it is
        pass
    try:
        return spec.format(value)
    except (TypeError, ValueError):
        return str(value)


def _print_table(title: str, frame, formats: dict, *, fit: bool = False) -> None:
    """``frame`` as a table on stdout: as wide as the terminal (cells fold), or its full
    width with ``--wide`` or when stdout is not a terminal (``fit``: up to 320 columns on a
    terminal); with ``--json`` one JSON line
    ``{"title": ..., "rows": [...]}`` with the raw values."""
    import json

    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    as_json, wide = _table_mode()
    if as_json:
        rows = json.loads(frame.to_json(orient="records", default_handler=str))
        click.echo(json.dumps({"title": title, "rows": rows}, ensure_ascii=False))
        return
    if not wide and not Console().is_terminal and "COLUMNS" not in os.environ:
        wide = True  # piped to a file or a program: whole lines, nothing folded
    width = None  # the terminal's (or COLUMNS)
    if wide or fit:
        cells = [[str(c)] + [_cell(v, formats.get(c, "{}")) for v in frame[c]]
                 for c in frame.columns]
        need = sum(max(len(t) for t in col) + 3 for col in cells) + 1
        width = need if wide else min(320, max(Console().width, need))
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v, formats.get(c, "{}")) for c, v in zip(frame.columns, row)])
    console = Console(width=width)
    console.on_broken_pipe = _broken_pipe  # rich would exit 1 in silence
    console.print(table)


def _broken_pipe() -> None:
    import errno

    raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def _out_file(path, option: str, what: str = "file", suffixes: tuple[str, ...] = ()) -> Path | None:
    """Check a file a command will write, before any work; one-line error if it cannot be.

    ``path`` must not be a folder, its nearest existing ancestor must be a folder (missing
    folders are created on writing) and, with ``suffixes``, it must end in one of them.
    """
    if path is None:
        return None
    from ..report import check_output_file

    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{path}: expected a file ending in {' or '.join(suffixes)}",
                                 param_hint=option)
    try:
        return check_output_file(out, what)
    except SpaceverseError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _out_folder(path, option: str, what: str = "results") -> Path | None:
    """Check a folder a command will write into, before any work: it must be a folder or not
    exist yet, under an existing folder (missing ones in between are created)."""
    if path is None:
        return None
    from ..report import probe_folder

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{path}: not a folder, cannot write the {what} there",
                                 param_hint=option)
    ancestor = out
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise click.BadParameter(f"{path}: {ancestor} is not a folder, cannot write the "
                                 f"{what} there", param_hint=option)
    problem = probe_folder(ancestor)
    if problem:
        raise click.BadParameter(f"{path}: cannot write the {what} there ({problem})",
                                 param_hint=option)
    return out


def _make_folder(path: Path, option: str, what: str = "results") -> Path:
    """Create the output folder ``path`` (and its parents); one line if that fails."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(f"{path}: cannot create the {what} folder "
                                 f"({exc.strerror or exc})", param_hint=option) from None
    return path


class _FigureChoice(click.Choice):
    """A figure name of :data:`simulator.plots.FIGURES`, listed only when needed (the figures
    package imports matplotlib, which the other commands do without)."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        from ..plots import FIGURES

        return tuple(FIGURES)

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns; the names are FIGURES
        pass


class _FloatRange(click.FloatRange):
    """:class:`click.FloatRange` that also refuses NaN and infinities (which pass its bounds)."""

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _stdout_broken() -> bool:
    """Whether standard output can no longer be written (a closed pipe, a full device, a
    closed descriptor: then Python starts with ``sys.stdout`` None)."""
    if sys.stdout is None:
        return True
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return True
    return False


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the flush at exit does not fail again."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (captured output): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _from_stdout(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while writing standard output (a local of one of the
    innermost frames is the stream, its buffer, or a console printing to it)."""
    streams = [s for s in (sys.stdout, sys.__stdout__) if s is not None]
    streams += [getattr(s, "buffer", None) for s in streams]
    streams = [s for s in streams if s is not None]
    tb, frames = exc.__traceback__, []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in frames[-4:]:
        for value in list(frame.f_locals.values()):
            if any(value is s or getattr(value, "file", None) is s for s in streams):
                return True
    return False


class _Cli(click.Group):
    """The command group: output that cannot be written (``spaceverse schema > /dev/full``,
    ``spaceverse catalogs | head -0``) is a one-line error, not a traceback.

    Commands defined in other modules (:attr:`lazy_commands`) are imported only when they
    are run or listed, so that ``spaceverse run`` does not import the viewer.
    """

    #: name -> "module:attribute" of a command imported on first use.
    lazy_commands = {"view": "simulator.view.command:view"}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None and name in self.lazy_commands:
            import importlib

            module, attribute = self.lazy_commands[name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, name)
        return command

    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
        except OSError as exc:
            if not (_from_stdout(exc) or _stdout_broken()):
                raise  # not standard output: whoever raised it says what it was
            _silence_stdout()
            raise InputError(f"standard output: cannot write ({exc.strerror or exc})") from None
        if _stdout_broken():
            _silence_stdout()
            raise InputError("standard output: cannot write the output (closed or full)")
        return result


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="spaceverse")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """spaceverse: satellite-ground VLM inference in LEO constellations."""
    _setup_logging(verbose)


def _float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}",
                                 param_hint=option) from None
    if not values:
        raise click.BadParameter("expected at least one number", param_hint=option)
    import math

    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise click.BadParameter(f"expected finite numbers, got {bad[0]:g} in {text!r}",
                                 param_hint=option)
    return values


#: The rows of the table ``spaceverse run`` prints: metric names of simulator.results.METRICS.
RUN_SHOWN = ("accuracy_every_answer", "accuracy_all_samples", "accuracy_finished_samples",
             "service_mean_s", "service_p95_s", "in_contact_mean_s", "in_contact_p95_s",
             "end_to_end_mean_s", "offload_fraction", "bytes_sent")


def _print_summary(summary: dict) -> None:
    """A run's summary: every shown metric with its value and what it counts."""
    import pandas as pd

    from ..results import METRICS, format_value, summary_value

    trace = summary.get("trace") or {}
    policy = summary.get("policy")
    name = policy.get("name") if isinstance(policy, dict) else policy
    title = (f"{summary.get('scenario')} — policy {name}, trace {trace.get('name')}"
             + (" (SYNTHETIC)" if summary.get("synthetic") else "")
             + f", preset {summary.get('preset', 'physical')}")
    status = summary.get("status") or {}
    pool = summary.get("train_samples")
    samples = format_value("samples", summary.get("samples"))
    if isinstance(pool, int) and not isinstance(pool, bool) and pool:
        samples += f" (+{pool:,} rows in the training pool)"
    rows = [{"metric": "samples", "value": samples, "what it counts": METRICS["samples"].what},
            {"metric": "status", "value": ", ".join(f"{k} {v:,}" for k, v in status.items()
                                                    if isinstance(v, int)),
             "what it counts": "where each sample ended: answered onboard, on the ground, "
                               "dropped (buffer full), unfinished when the run ended"}]
    for metric in RUN_SHOWN:
        rows.append({"metric": metric, "value": format_value(metric,
                                                             summary_value(summary, metric)),
                     "what it counts": METRICS[metric].what})
    _print_table(title, pd.DataFrame(rows), {})


def _print_warnings(warnings) -> None:
    """Degenerate results, one ``warning:`` line each on stderr."""
    for w in warnings:
        text = w.get("message", str(w)) if isinstance(w, dict) else str(w)
        click.echo(f"warning: {text}", err=True)


def _metric_cells(frame, names):
    """``frame`` with the metric columns ``names`` formatted as every table prints them."""
    from ..results import format_value

    frame = frame.copy()
    for name in names:
        if name in frame.columns:
            frame[name] = [format_value(name, v) for v in frame[name]]
    return frame


def _legend(names) -> None:
    """What each metric column of the table above counts."""
    from ..results import definition

    for name in names:
        _say(f"  {definition(name)}")


