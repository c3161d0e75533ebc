"""A trained network (:class:`TrainedConfidence`): applying it, and its files.

Applying a network needs no torch: :meth:`TrainedConfidence.load` reads the
``.pt`` state dict itself and :meth:`TrainedConfidence.predict` runs the
forward pass in numpy (:func:`forward_numpy`, with its tie rule); torch is
imported for training only (and ``ConfidenceNet``, the torch module, is
defined on first use).

A network is saved as ``<name>.pt`` (its state dict, written by ``torch.save``)
and ``<name>.json`` (the :class:`~.features.FeatureSpec`, the architecture, the
training metrics and metadata), each atomically; :func:`read_state_dict` reads
the ``.pt`` without torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import InputError

from .features import FeatureSpec
from .network import _check_architecture, _net_class, check_weights, forward_numpy

#: 2: target choice, token-probability and agreement inputs (format 1 checkpoints, which
#: had none of them and read the answer_similarity column, still load).
FORMAT_VERSION = 2


#: Rows of a table :meth:`TrainedConfidence.predict` takes at once.
PREDICT_ROWS = 16_384


class TrainedConfidence:
    """A trained g̃ (or g, g′) with everything needed to apply it to a trace table.

    Built from a torch network (``net``, as training gives) or from its weights alone
    (``weights``: parameter name -> float32 array, as :meth:`load` gives without torch).
    :meth:`predict` runs in numpy (:func:`forward_numpy`) either way; ``net`` builds the
    torch module from the weights when first asked for.
    """

    def __init__(self, net: Any = None, spec: FeatureSpec | None = None,
                 metrics: dict[str, Any] | None = None, meta: dict[str, Any] | None = None, *,
                 weights: dict[str, np.ndarray] | None = None,
                 architecture: dict[str, Any] | None = None):
        if spec is None:
            raise TypeError("TrainedConfidence needs a FeatureSpec (spec=...)")
        if net is None and weights is None:
            raise TypeError("TrainedConfidence needs a network (net=...) or its weights")
        self.spec = spec
        self.metrics = {} if metrics is None else metrics
        self.meta = {} if meta is None else meta
        self._net = net
        if net is not None:
            architecture = {"input_dims": list(net.input_dims), "hidden": net.hidden,
                            "dropout": net.dropout}
        elif architecture is None:
            raise TypeError("TrainedConfidence(weights=...) needs its architecture")
        self.architecture = architecture
        self._weights = None if net is not None else check_weights(
            weights, architecture["input_dims"], architecture["hidden"])

    @property
    def variant(self) -> str:
        return self.spec.variant

    @property
    def net(self):
        """The torch module (built from the weights, importing torch, when first asked for)."""
        if self._net is None:
            import torch

            arch = self.architecture
            net = _net_class()(arch["input_dims"], hidden=arch["hidden"], dropout=arch["dropout"])
            net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self._weights.items()})
            net.eval()
            self._net = net
        return self._net

    @net.setter
    def net(self, value) -> None:
        self._net = value

    def weights(self) -> dict[str, np.ndarray]:
        """The network's parameters as float32 arrays (read from ``net`` when there is one)."""
        if self._net is not None:
            arch = self.architecture
            return check_weights(self._net.state_dict(), arch["input_dims"], arch["hidden"])
        return self._weights

    def predict(self, df: pd.DataFrame) -> list[np.ndarray]:
        """Confidence per row, one array per network stage (numpy: :func:`forward_numpy`).

        Tables over :data:`PREDICT_ROWS` rows go through in near-equal slices of rows (each
        at least half of it), so the stage inputs (a few KB a row) never exist for all rows
        at once; every row's value is computed from that row alone."""
        weights = self.weights()
        n = len(df)
        pieces = max(1, -(-n // PREDICT_ROWS))
        bounds = np.linspace(0, n, pieces + 1).round().astype(int)
        out: list[list[np.ndarray]] = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            inputs = self.spec.stage_inputs(df.iloc[lo:hi] if pieces > 1 else df)
            out.append([forward_numpy(weights, i + 1, x) for i, x in enumerate(inputs)])
            del inputs
        return [np.concatenate(stage) for stage in zip(*out)]

    def predict_torch(self, df: pd.DataFrame) -> list[np.ndarray]:
        """:meth:`predict` with the torch module (for comparison; imports torch)."""
        import torch

        inputs = self.spec.stage_inputs(df)
        net = self.net
        net.eval()
        with torch.no_grad():
            return [net(i + 1, torch.from_numpy(x)).numpy().astype(float)
                    for i, x in enumerate(inputs)]

    def summary(self) -> dict[str, Any]:
        """What the run notes record about the training."""
        m = self.metrics
        out = {k: m.get(k) for k in ("n_rows", "n_train", "n_val", "best_epoch", "epochs_run",
                                     "best_val_loss", "constant_val_loss", "target",
                                     "target_mean", "train_seconds")}
        best, const = m.get("best_val_loss"), m.get("constant_val_loss")
        out["val_loss_vs_constant"] = (round(best / const, 4) if best is not None and const
                                       else None)
        if out.get("n_rows") is None:  # format 1 metrics
            out["n_rows"] = self.meta.get("n_train")
        return out

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<path>.pt`` (state_dict) and ``<path>.json`` (metadata), each atomically."""
        import torch

        stem = _stem(path)
        stem.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": FORMAT_VERSION,
            **self.meta,
            "variant": self.spec.variant,
            "points": self.spec.points,
            "stage_tokens": self.spec.stage_tokens,
            "feature_kinds": {"stage1": self.spec.base_kind, "answers": self.spec.answer_kind,
                              "token_probabilities": self.spec.tokprob_kind,
                              "second_opinion": self.spec.agreement},
            "inputs": self.spec.input_notes(),
            "target": self.spec.target,
            "spec": asdict(self.spec),
            "net": dict(self.architecture),
            "metrics": self.metrics,
            "torch_version": torch.__version__,
        }
        meta.setdefault("created_utc", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        pt, js = stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")
        _atomic_write(pt, lambda f: torch.save(self.net.state_dict(), f))
        _atomic_write(js, lambda f: f.write(json.dumps(meta, indent=2, sort_keys=True).encode()))
        return pt

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainedConfidence:
        """Read what :meth:`save` wrote (``path`` with or without ``.pt``).

        The ``.pt`` file is read without torch where its format allows
        (:func:`read_state_dict`: what :meth:`save` writes), else with ``torch.load``, so
        that applying a saved network (:meth:`predict`) never needs torch.

        Any problem -- a missing, empty, truncated or garbage file, one that does
        not match its metadata -- is one :class:`InputError` naming the file.  A
        damaged file can make ``json``/``torch.load`` raise nearly anything
        (``EOFError``, pickle and zip errors, ``RuntimeError``, ``KeyError``,
        ``UnicodeDecodeError``, ``OSError``, ...), so every exception is caught.
        """
        stem = _stem(path)
        pt, js = stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")
        for f in (pt, js):
            try:
                present = f.is_file()
            except OSError as exc:
                raise InputError(f"confidence checkpoint {f}: cannot read it "
                                 f"({exc.strerror or exc})") from None
            if not present:
                raise InputError(f"confidence checkpoint {f}: no such file; expected "
                                 f"{pt.name} and {js.name} side by side")
        reading = js
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
            spec = FeatureSpec(**meta["spec"])
            arch = meta["net"]
            dims, hidden = _check_architecture(arch["input_dims"], arch["hidden"])
            arch = {"input_dims": dims, "hidden": hidden, "dropout": float(arch["dropout"])}
            reading = pt
            try:
                state = read_state_dict(pt)
            except Exception:  # noqa: BLE001 - not a format read here: torch's turn
                import torch

                state = torch.load(pt, map_location="cpu", weights_only=True)
            weights = check_weights(state, dims, hidden)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            detail = " ".join(str(exc).split())
            if len(detail) > 160:
                detail = detail[:157] + "..."
            raise InputError(f"confidence checkpoint {reading}: cannot read it "
                             f"({type(exc).__name__}{': ' + detail if detail else ''})") from None
        metrics = meta.pop("metrics", {})
        return cls(spec=spec, metrics=metrics, meta=meta, weights=weights, architecture=arch)


#: ``torch.<name>Storage`` -> numpy dtype, for :func:`read_state_dict`.
_STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
                   "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2",
                   "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?"}


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A state dict that ``torch.save`` wrote (its zip format), as numpy arrays, without torch.

    Only what a state dict of plain CPU tensors holds is understood (an ordered dict of
    tensors of the dtypes in :data:`_STORAGE_DTYPES`); anything else raises, and the
    caller falls back to ``torch.load``.
    """
    import pickle
    import zipfile
    from collections import OrderedDict

    class Storage:
        def __init__(self, dtype: str):
            self.dtype = dtype

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise ValueError("not a torch zip checkpoint (no single <archive>/data.pkl)")
        root = pkl[0].rsplit("/", 1)[0]
        order = f"{root}/byteorder"
        if order in names and archive.read(order).decode().strip() != "little":
            raise ValueError("big-endian checkpoint")

        def rebuild(storage, offset, size, stride, *rest):
            size, stride = tuple(int(v) for v in size), tuple(int(v) for v in stride)
            offset = int(offset)
            if len(size) != len(stride) or min((*size, *stride, offset), default=0) < 0:
                raise ValueError(f"tensor of size {size}, stride {stride}, offset {offset}")
            last = offset + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else -1
            if last >= storage.size:
                raise ValueError(f"tensor of size {size} runs past its storage")
            if not all(size):
                return np.zeros(size, dtype=storage.dtype)
            return np.array(np.lib.stride_tricks.as_strided(
                storage[offset:], shape=size,
                strides=tuple(st * storage.itemsize for st in stride)))

        class Reader(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("collections", "OrderedDict"):
                    return OrderedDict
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild
                if module == "torch" and name in _STORAGE_DTYPES:
                    return Storage(_STORAGE_DTYPES[name])
                raise pickle.UnpicklingError(f"{module}.{name} is not read without torch")

            def persistent_load(self, pid):
                if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                        and isinstance(pid[1], Storage) and pid[3] == "cpu"):
                    raise pickle.UnpicklingError(f"storage {pid!r} is not read without torch")
                data = np.frombuffer(archive.read(f"{root}/data/{pid[2]}"), dtype=pid[1].dtype)
                if data.size < int(pid[4]):
                    raise ValueError(f"storage {pid[2]} holds {data.size} values; "
                                     f"expected {pid[4]}")
                return data

        import io

        state = Reader(io.BytesIO(archive.read(pkl[0]))).load()
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ValueError("not a state dict of tensors")
    return dict(state)


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".pt", ".json") else p


def _atomic_write(target: Path, write) -> None:
    """Write ``target`` by calling ``write(f)`` on a new binary file beside it (a hidden
    temporary name), then renaming it into place.

    The file is created like any ordinary file, with mode ``0666 & ~umask`` (not
    ``mkstemp``'s private 0600), so checkpoints and cached networks in a shared
    folder are as readable as the rest of it.  Temporary files that killed writers
    left for the same target are removed.
    """
    from simulator.fileio import clean_leftovers, temp_name

    tmp = temp_name(target, "tmp", unique=True)
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    clean_leftovers(target.parent, name=target.name)  # what killed writers left
