"""The console-script entry point: one line and exit 2 for any user mistake."""

from __future__ import annotations

import sys

import click

from ..errors import SpaceverseError
from .app import cli

def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line and exit 2 for any user mistake.

    A real interrupt -- Ctrl-C (SIGINT) or SIGTERM -- prints "interrupted" and exits
    130.  While the command runs, SIGTERM raises :class:`KeyboardInterrupt` like
    Ctrl-C does, so ``kill PID`` unwinds the same way (temporary folders removed,
    sweep workers stopped).  Nothing else prints "interrupted": click also turns an
    :class:`EOFError` into an abort, but one reaching here is a bug, not an
    interrupt, so it is raised again as itself.  Run as the process itself (``argv``
    None), it skips the collector's passes at exit
    (:func:`simulator.processes.skip_final_collections`).
    """
    import signal
    import threading

    if argv is None:  # the process itself (console script, python -m), not a call from code
        from ..processes import skip_final_collections

        skip_final_collections()

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    args = sys.argv[1:] if argv is None else list(argv)
    if not args:  # bare `spaceverse`: the help text, not an error squashed into one line
        args = ["--help"]
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if in_main_thread else None
    try:
        code = cli.main(args=args, prog_name="spaceverse", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, KeyboardInterrupt):
            raise cause from None
        click.echo("interrupted", err=True)
        code = 130
    except click.ClickException as exc:
        message = exc.format_message().replace("\n", " ")
        click.echo(f"error: {message}", err=True)
        code = 2
    except SpaceverseError as exc:
        click.echo(f"error: {exc}", err=True)
        code = 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    sys.exit(code if isinstance(code, int) else 0)

