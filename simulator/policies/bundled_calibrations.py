"""Compression calibrations that ship with the project, for a first run without waiting.

A compression method's calibration (its bytes ratio on each bundled image,
:meth:`simulator.policies.compression.ImageCompression.calibration`) depends only on
bundled inputs: the method and its parameters, the images under ``models/images``,
the code that compresses them and the encoding libraries.  Computing it takes a few
seconds (about 1,400 PNG encodes), so the calibrations of the bundled scenarios'
methods ship in ``models/calibrations/``, each under its cache file name
(:func:`~simulator.policies.multiscale.calibration_cache_name`), which encodes all
of those inputs.  A run reads one only when its name is exactly the name it would
cache under: any other parameter, image, code or library version (another zlib, say)
gives another name, and the calibration is computed as before.  The files hold what
the computation writes, bit for bit (``tests/test_bundled_calibrations.py``
recomputes one and compares).

Regenerate them after changing the compression code or the bundled images::

    python -m simulator.policies.bundled_calibrations
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from ..paths import project_root

logger = logging.getLogger(__name__)

#: The index of the shipped files: name -> method key and the libraries it was made with.
INDEX = "index.json"


def bundled_dir() -> Path:
    """``<project root>/models/calibrations``."""
    return project_root() / "models" / "calibrations"


def read_bundled(name: str | None, load):
    """``load(path)`` of the shipped calibration ``name``, or None (none shipped, or it
    cannot be read: then it is computed, as when nothing shipped)."""
    if not name:
        return None
    path = bundled_dir() / name
    try:
        if not path.is_file():
            return None
        return load(path)
    except Exception as exc:  # noqa: BLE001 - a damaged file only costs the computation
        logger.warning("ignoring the shipped compression calibration %s (%s)", path,
                       " ".join(str(exc).split())[:160])
        return None


def scenario_compressions(paths) -> list:
    """The compression methods of the scenario files ``paths`` that have a calibration
    with a cache name (duplicates once)."""
    from ..config import load_scenario
    from . import multiscale as ms
    from .build import policies_from_scenario

    out, seen = [], set()
    for path in paths:
        comp = policies_from_scenario(load_scenario(path)).compression
        if getattr(comp, "calibration", None) is None or not hasattr(comp, "_bytes_key"):
            continue
        key = comp._bytes_key()
        name = ms.calibration_cache_name(key)
        if name and name not in seen:
            seen.add(name)
            out.append((name, key, comp))
    return out


def refresh(paths, folder: Path | None = None) -> list[str]:
    """Compute and write the calibrations of the scenarios ``paths`` into ``folder``
    (default :func:`bundled_dir`), remove the files no longer named, rewrite the index.
    Returns the names written."""
    import zlib

    import numpy as np
    from PIL import __version__ as pil_version

    from ..fileio import write_atomic
    from . import multiscale as ms

    folder = Path(folder) if folder is not None else bundled_dir()
    folder.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, key, comp in scenario_compressions(paths):
        cal = comp._calibrate()
        write_atomic(folder / name, lambda p, c=cal: ms.write_calibration(p, c.__dict__),
                     what="compression calibration")
        index[name] = {"method_key": [str(k) for k in key],
                       "libraries": {"Pillow": pil_version, "zlib": zlib.ZLIB_RUNTIME_VERSION,
                                     "numpy": np.__version__}}
        logger.info("wrote %s", folder / name)
    for stale in folder.glob("*.json"):
        if stale.name != INDEX and stale.name not in index:
            stale.unlink()
    write_atomic(folder / INDEX, lambda p: p.write_text(json.dumps(index, indent=2) + "\n"),
                 what="calibration index")
    return sorted(index)


def default_scenarios() -> list[Path]:
    """The bundled scenarios whose methods ship calibrated: ``scenarios/*.yaml``."""
    return sorted((project_root() / "scenarios").glob("*.yaml"))


def main(argv=None) -> int:
    from ..errors import InputError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or default_scenarios()
    try:
        names = refresh(paths)
    except InputError as exc:  # a scenario that does not load: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(names)} calibration(s) in {bundled_dir()}")
    return 0


if __name__ == "__main__":  # pragma: no cover - python -m
    raise SystemExit(main())
