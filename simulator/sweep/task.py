"""One point: the task function every executor calls, with plain data in and out."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from .. import config as _cfg
from ..config import parse_scenario, scenario_hash
from ..errors import InputError
from ..results import point_metrics, summary_text


def _exception_text(exc: BaseException) -> str:
    text = _cfg._one_line(str(exc))
    if isinstance(exc, InputError):
        return text
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextmanager
def _one_thread():
    """Numeric libraries on one thread while a point runs, in any executor.

    Results must not depend on where a point ran, and multi-threaded reductions
    (a policy network trained with torch, BLAS) give slightly different numbers
    with different thread counts.  So every point computes single-threaded: the
    sweep's parallelism is over points.  Settings are restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARS}
    os.environ.update({name: "1" for name in _THREAD_VARS})  # for libraries loaded now
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=1)
    except Exception:  # noqa: BLE001 - optional; torch and the variables still apply
        limits = None
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if limits is not None:
            limits.restore_original_limits()
        torch = sys.modules.get("torch")
        if torch is not None:
            if torch_threads is None:  # imported during the point: its usual default
                given = saved.get("OMP_NUM_THREADS")
                torch_threads = int(given) if given and given.isdigit() else (os.cpu_count() or 1)
            torch.set_num_threads(max(1, torch_threads))


def run_point(scenario_yaml: str, base_dir: str | None, out_dir: str, key: str,
              source: str = "<sweep point>") -> dict:
    """Run one point: the task function every executor calls (plain data in and out).

    ``scenario_yaml`` is the point's resolved scenario (:func:`~simulator.config.dump_resolved`),
    ``base_dir`` the folder relative paths in it are looked up in, ``out_dir`` the folder that
    receives the run folder ``<key>/``.  Never raises for a failing point: returns
    ``{"key", "ok", "summary", "metrics", "error", "problems", "wall_s"}``.
    """
    from ..engine.world import run_scenario

    begin = time.perf_counter()
    try:
        scenario = parse_scenario(scenario_yaml, source=source, base_dir=base_dir)
        got = scenario_hash(scenario)
        if got != key:
            raise InputError(f"{source}: the point's scenario reads back with hash {got}, not "
                             f"{key} (do the files it names differ on this worker?)")
        with _one_thread():
            result = run_scenario(scenario, out_dir=out_dir)
        metrics = point_metrics(result.summary, result.samples)
        summary = json.loads(summary_text(result.summary))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the sweep goes on
        problems = [tuple(p) for p in getattr(exc, "problems", None) or []]
        return {"key": key, "ok": False, "summary": None, "metrics": None,
                "error": _exception_text(exc), "problems": problems,
                "wall_s": time.perf_counter() - begin}
    return {"key": key, "ok": True, "summary": summary, "metrics": metrics, "error": "",
            "problems": [], "wall_s": time.perf_counter() - begin}
