"""``spaceverse view RESULTS``: the interactive page of a run, sweep or compare folder.

Register it in :mod:`simulator.cli` with ``main.add_command(view)``.
"""

from __future__ import annotations

import click

from ..errors import InputError


@click.command("view")
@click.argument("results", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Page to write (default: RESULTS/view.html).")
@click.option("--point", default=None,
              help="Sweep point to show (its key or a unique prefix; default: the first "
                   "finished point), or a run folder's name in a folder of compared runs.")
@click.option("--assets", type=click.Choice(["inline", "folder"]), default="inline",
              show_default=True,
              help="inline: one self-contained file; folder: scripts and data in "
                   "<page>_files/ beside the page.")
@click.option("--open", "open_page", is_flag=True,
              help="Open the page in the default web browser afterwards (best effort).")
def view(results, out, point, assets, open_page):
    """Write an interactive page of RESULTS: a 3D globe, a map, a timeline and the
    latency views (offline: nothing is loaded from the network)."""
    import time
    import webbrowser

    from .page import write_view

    begin = time.perf_counter()
    try:
        path = write_view(results, out, assets=assets, point=point)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    size = path.stat().st_size
    click.echo(f"wrote {path} ({size / 1e6:.1f} MB, {time.perf_counter() - begin:.1f} s)")
    if open_page:
        try:
            if not webbrowser.open(path.resolve().as_uri()):
                click.echo("could not open a web browser; open the file yourself", err=True)
        except Exception as exc:  # noqa: BLE001 - opening a browser is best effort
            click.echo(f"could not open a web browser ({exc}); open the file yourself",
                       err=True)
