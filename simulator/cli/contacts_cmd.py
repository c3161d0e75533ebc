"""``spaceverse contacts``: contact windows of a constellation and stations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from .app import (DEFAULT_CATALOG, MAX_SHELL_SATELLITES, _FloatRange, _float_list, _out_file,
                  _print_table, _progress, _say, cli, table_output)

@cli.command()
@click.option("--tle", "constellation",
              help="Named catalog, TLE file, or walker:ALT:INC:PLANES:PER_PLANE[:F] "
                   f"[default: {DEFAULT_CATALOG}].")
@click.option("--name", "names", multiple=True,
              help="Keep satellites whose name matches (glob or substring); repeatable.")
@click.option("--station", "stations", multiple=True,
              help="NAME:LAT:LON[:ALT_M], a catalog station name, or network:NET; repeatable. "
                   "Default: Shanghai (the paper's station).")
@click.option("--stations-catalog", type=click.Path(dir_okay=False),
              help="Ground-station CSV used for names (default: the bundled catalog).")
@click.option("--min-elevation", type=_FloatRange(-5, 90, max_open=True),
              help="Elevation mask in degrees for every station (default: each station's own).")
@click.option("--start", help="ISO 8601 start (default: the newest TLE epoch, rounded up to the hour).")
@click.option("--hours", type=_FloatRange(min=0, min_open=True, max=24 * 366),
              default=24.0, show_default=True)
@click.option("--step", "step_s", type=_FloatRange(1, 600), default=360.0, show_default=True,
              help="SGP4 grid step in seconds (the windows do not depend on it; smaller is "
                   "only slower).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the windows to FILE.csv or FILE.parquet.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a timeline figure (PNG/PDF).")
@click.option("--altitudes", help="Comma-separated altitudes (km): contact fraction vs altitude "
                                  "over Walker shells instead of a catalog.")
@click.option("--inclination", type=_FloatRange(0, 180), default=53.0, show_default=True,
              help="Walker-shell inclination for --altitudes (degrees).")
@click.option("--planes", type=click.IntRange(min=1), default=24, show_default=True)
@click.option("--per-plane", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--lenient", is_flag=True, help="Skip bad TLE records with a warning.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--no-cache", is_flag=True, help="Recompute even if a cached result exists.")
@table_output
def contacts(constellation, names, stations, stations_catalog, min_elevation, start, hours,
             step_s, out, plot, altitudes, inclination, planes, per_plane, lenient, workers,
             no_cache):
    """Contact windows between satellites and ground stations."""
    from ..orbits.preloaded_search import preload_pays, preloaded_search

    # First thing, a process that loads the compiled search kernel on another core while
    # this one reads the stations and the catalogue (when the search will need it; a
    # network counts as ten stations here).
    n_stations = sum(10 if s.startswith("network:") else 1 for s in stations) or 1
    wanted = altitudes is None and preload_pays(_catalog_path(constellation), hours * 3600.0,
                                                step_s, n_stations, workers)
    with preloaded_search(wanted) as preloaded:
        _contacts(constellation, names, stations, stations_catalog, min_elevation, start, hours,
                  step_s, out, plot, altitudes, inclination, planes, per_plane, lenient, workers,
                  no_cache, preloaded)


def _catalog_path(constellation) -> Path | None:
    """The file behind ``--tle`` (a named catalog or a path), or None (a Walker shell)."""
    from ..orbits.tle import catalog_file

    name = constellation or DEFAULT_CATALOG
    if name.strip().lower().startswith("walker:"):
        return None
    return catalog_file(name)


def _contacts(constellation, names, stations, stations_catalog, min_elevation, start, hours,
              step_s, out, plot, altitudes, inclination, planes, per_plane, lenient, workers,
              no_cache, preloaded):
    # (pandas, which contact_stats needs, is imported while the contacts are searched)
    from ..orbits.contacts import cached_contacts, write_table
    from ..orbits.frames import as_utc
    from ..orbits.stations import resolve_stations

    _out_file(out, "--out", "contact windows", (".csv", ".parquet"))
    if plot:
        from ..plots import check_figure_path  # matplotlib: only when a figure is asked for

        check_figure_path(plot)
        _out_file(plot, "--plot", "figure")
    if altitudes is not None and planes * per_plane > MAX_SHELL_SATELLITES:
        raise click.BadParameter(f"--planes {planes} x --per-plane {per_plane} = "
                                 f"{planes * per_plane} satellites; at most "
                                 f"{MAX_SHELL_SATELLITES} in a shell", param_hint="--planes")
    if altitudes is not None:
        clash = [opt for opt, value in (("--tle", constellation), ("--name", names),
                                         ("--start", start), ("--lenient", lenient),
                                         ("--no-cache", no_cache)) if value]
        if clash:
            raise click.UsageError(f"{', '.join(clash)}: not used with --altitudes "
                                   "(it builds synthetic Walker shells)")
    station_list = resolve_stations(list(stations) or ["Shanghai"], catalog_path=stations_catalog,
                                    min_elevation_deg=min_elevation)
    duration_s = hours * 3600.0
    if altitudes is not None:
        from ..orbits import contact_stats

        alts = _float_list(altitudes, "--altitudes")
        with _progress(len(alts), "altitudes") as advance:
            table = contact_stats.contact_fraction_by_altitude(
                alts, station_list, inclination_deg=inclination, planes=planes,
                per_plane=per_plane, duration_s=duration_s, step_s=step_s, workers=workers,
                progress=advance)
        _print_table(f"Contact fraction vs altitude (synthetic Walker shells, {planes}x{per_plane}, "
                     f"{inclination:g} deg; stations: {', '.join(s.name for s in station_list)})",
                     table.drop(columns="synthetic"),
                     {"mean_contact_fraction": "{:.2%}", "overhead_pass_fraction": "{:.2%}",
                      "pass_fraction_of_period": "{:.2%}",
                      "mean_pass_s": "{:.1f}", "passes_per_sat_day": "{:.2f}",
                      "altitude_km": "{:g}"})
        if out:
            write_table(table, Path(out))
            _say(f"wrote {out}")
        if plot:
            from ..plots import contact_fraction_vs_altitude

            contact_fraction_vs_altitude(table, plot, title=(
                f"Synthetic Walker shells ({inclination:g} deg), "
                f"mask {max(s.min_elevation_deg for s in station_list):g} deg"))
            _say(f"wrote {plot}")
        return

    from ..orbits.constellations import load_constellation
    from ..orbits.tle import epoch_warnings

    const = load_constellation(constellation or DEFAULT_CATALOG, names=list(names) or None, lenient=lenient)
    t0 = as_utc(start) if start else const.default_start
    if const.catalog is not None:
        epoch_warnings(const.catalog, t0)
    n = len(const.orbits)
    with _progress(n, f"{n} satellites x {len(station_list)} stations") as advance:
        windows = cached_contacts(const.orbits, station_list, t0, duration_s, step_s=step_s,
                                  workers=workers, refresh=no_cache, progress=advance,
                                  preloaded=preloaded)
    from ..orbits import contact_stats

    summary = contact_stats.per_station(windows, duration_s, n)
    end = t0 + timedelta(seconds=duration_s)
    _print_table(f"{const.label}: {n} satellites, {t0:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, "
                 f"{len(windows)} passes", summary,
                 {"mean_pass_s": "{:.1f}", "mean_sat_contact_fraction": "{:.3%}",
                  "coverage_fraction": "{:.1%}"})
    missing = [s.name for s in station_list if s.name not in set(summary["station"])]
    if missing:
        _say(f"no passes at: {', '.join(missing)}")
    if out:
        write_table(windows, Path(out))
        _say(f"wrote {out}")
    if plot:
        from ..plots import contact_timeline

        title = f"{const.label}: contact windows"
        if const.synthetic:
            title += " (synthetic constellation)"
        contact_timeline(windows, plot, duration_s=duration_s, title=title)
        _say(f"wrote {plot}")


