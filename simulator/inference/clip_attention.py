"""Text-image attention over image regions with CLIP: the paper's Eq. 2.

Section 3.2 of the paper cuts an image into ``N`` regions ``x^r`` and scores
how relevant each is to the task prompt ``T``, so that irrelevant regions can
be discarded or downsampled before the downlink (Eq. 3, thresholds ``alpha``
and ``beta``).  Each region's visual tokens ``V_i(x^r)`` (``i = 1..N_V``) and the
prompt's text tokens ``E_j(T)`` (``j = 1..N_E``) live in one feature space, and

    K(x^r) = sum_{i=1..N_V} sum_{j=1..N_E}  V_i(x^r) . E_j(T) / (|V_i(x^r)| |E_j(T)|)    (Eq. 2)

-- the sum of cosine similarities of every (region token, prompt token) pair.
:func:`eq2_scores` is exactly that, on arrays.  The paper embeds with CLIP
ViT-B/16 (section 4.1.3); :class:`ClipRegionScorer` produces the features:

* **regions** (:meth:`ClipRegionScorer.region_features`), one vector per region
  (``N_V = 1``), in one of two modes:

  - ``"pooled"`` (default, one encoder pass): the whole image is resized to the
    encoder's square input (aspect ratio not kept, so no border is cropped
    away), encoded once, and each grid cell's vector is the mean of the patch
    tokens of the last layer covering it, weighted by overlap area.  CLIP only
    trains its class token into the joint image-text space, so each pooled
    cell is mapped there the way the class token is: ``post_layernorm`` then
    ``visual_projection``.  Cheap and coarse: a 10 x 10 grid on ViT-B/16's
    14 x 14 patches gives each cell about two patches' worth;
  - ``"crops"``: each region is cropped from the original image, resized and
    encoded on its own, and its image embedding (projected class token) taken.
    ``N`` encoder passes, but every region is seen at full encoder resolution.

* **prompt** (:meth:`ClipRegionScorer.prompt_features`): the text encoder's last
  hidden state (after its final layer norm) at every prompt token, each
  projected with ``text_projection``.  The start token is dropped -- under
  CLIP's causal mask it sees only itself, so it is the same vector for every
  prompt; the end token, CLIP's sentence embedding, is kept.

Scale.  Eq. 2 is a *sum*: its range is ``[-N_V N_E, N_V N_E]`` and grows with
the prompt length, while the paper's thresholds ``alpha = 0.35``, ``beta = 0.55``
only make sense on ``[0, 1]``.  The paper does not say how it normalises.
:meth:`ClipRegionScorer.attention` therefore returns the raw Eq. 2 scores by
default and, with ``normalize=True``, their min-max rescaling over the image's
regions (:func:`minmax`): the most relevant region scores 1, the least 0.
That keeps Eq. 2's ranking, so Eq. 3 keeps the regions the paper would keep,
at thresholds that are fractions of the image's own score range.  (No softmax
is involved: Eq. 2 has none, and a softmax over regions would not change the
ranking either.)

Example on hand-made features::

    >>> regions = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    >>> prompt = np.array([[1.0, 0.1]])
    >>> eq2_scores(regions, prompt).round(3).tolist()
    [0.995, 0.1, 0.774]
    >>> minmax(eq2_scores(regions, prompt)).round(3).tolist()
    [1.0, 0.0, 0.753]
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch

from simulator.errors import InputError
from simulator.inference.regions import grid_edges, minmax, region_boxes  # noqa: F401  (named here too)
from simulator.inference.transformers_backend import (
    LOAD_ERRORS,
    as_rgb,
    check_model_dir,
    describe_device,
    load_error,
    resolve_device,
)

log = logging.getLogger(__name__)

# transformers / huggingface_hub are imported lazily, after this: never reach for
# the network (every load also passes local_files_only=True).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODES = ("pooled", "crops")


def eq2_scores(region_feats, prompt_feats) -> np.ndarray:
    """Eq. 2: for each region, the sum over its tokens and the prompt's of their cosines.

    ``region_feats`` is ``(N, D)`` (one token per region) or ``(N, N_V, D)``;
    ``prompt_feats`` is ``(N_E, D)``.  Returns ``(N,)`` float64.  A zero vector
    has cosine 0 with everything.
    """
    regions = np.asarray(region_feats, dtype=np.float64)
    prompt = np.asarray(prompt_feats, dtype=np.float64)
    if regions.ndim == 2:
        regions = regions[:, None, :]
    if regions.ndim != 3 or prompt.ndim != 2 or regions.shape[-1] != prompt.shape[-1]:
        raise ValueError(
            f"eq2_scores: region features {np.shape(region_feats)} and prompt features "
            f"{np.shape(prompt_feats)}; expected (N, D) or (N, N_V, D) and (N_E, D) with one D"
        )

    def unit(x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)

    return np.einsum("nvd,td->n", unit(regions), unit(prompt))


def overlap_weights(edges: np.ndarray, size: int, patches: int) -> np.ndarray:
    """``(cells, patches)``: how much of each patch (as a fraction of a patch) lies in each cell.

    Cells are given by pixel ``edges`` along a side of ``size`` px; the
    encoder sees that side as ``patches`` equal patches.
    """
    cell = np.asarray(edges, dtype=np.float64) / size * patches  # cell edges in patch units
    lo, hi = cell[:-1, None], cell[1:, None]
    p = np.arange(patches, dtype=np.float64)[None, :]
    return np.clip(np.minimum(hi, p + 1) - np.maximum(lo, p), 0.0, None)


class ClipRegionScorer:
    """CLIP features of image regions and prompts, and their Eq. 2 attention.

    ``model_dir`` is a local CLIP checkpoint (e.g. ``openai/clip-vit-base-patch16``
    saved with ``save_pretrained``); ``grid`` is ``(rows, cols)``, ``N = rows * cols``
    regions numbered row by row (see :func:`region_boxes`); ``mode`` is
    ``"pooled"`` or ``"crops"`` (module docstring).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        *,
        device: str | torch.device = "cpu",
        grid: tuple[int, int] = (10, 10),
        mode: str = "pooled",
        batch_size: int = 32,
    ) -> None:
        from transformers import AutoProcessor, CLIPModel

        self.model_dir = check_model_dir(model_dir, ("clip",), "openai/clip-vit-base-patch16")
        self.device = resolve_device(device, self.model_dir)
        try:
            rows, cols = (int(g) for g in grid)
        except (TypeError, ValueError):
            raise InputError(f"grid={grid!r}; expected (rows, cols), two whole numbers >= 1") from None
        if rows < 1 or cols < 1:
            raise InputError(f"grid={grid!r}; expected (rows, cols), two whole numbers >= 1")
        if mode not in MODES:
            raise InputError(f"mode={mode!r}; expected one of {', '.join(MODES)}")
        self.grid = (rows, cols)
        self.mode = mode
        self.batch_size = max(1, int(batch_size))
        try:
            self.model = CLIPModel.from_pretrained(self.model_dir, dtype=torch.float32, local_files_only=True)
            self.processor = AutoProcessor.from_pretrained(self.model_dir, local_files_only=True)
        except LOAD_ERRORS as exc:
            raise load_error(self.model_dir, "CLIP", exc) from None
        self.model.to(self.device).eval()
        vision = self.model.config.vision_config
        self.image_size = int(vision.image_size)
        self.patches = self.image_size // int(vision.patch_size)
        log.info("loaded CLIP %s on %s (%d px input, %d x %d patches, grid %d x %d, %s)",
                 self.model_dir.name, self.device_name, self.image_size, self.patches, self.patches,
                 rows, cols, mode)

    @property
    def n_regions(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def device_name(self) -> str:
        return describe_device(self.device)

    def boxes(self, image) -> list[tuple[int, int, int, int]]:
        """The regions' pixel boxes on ``image`` (see :func:`region_boxes`)."""
        width, height = as_rgb(image).size
        rows, cols = self.grid
        if width < cols or height < rows:
            raise InputError(f"image of {width} x {height} px is smaller than the {rows} x {cols} region grid")
        return region_boxes(width, height, self.grid)

    # ------------------------------------------------------------------ features

    def _pixels(self, images: list) -> torch.Tensor:
        """Images resized (not cropped) to the encoder's square input, normalised."""
        from PIL import Image

        side = self.image_size
        square = [im.resize((side, side), Image.Resampling.BICUBIC) for im in images]
        batch = self.processor.image_processor(
            images=square, do_resize=False, do_center_crop=False, return_tensors="pt"
        )
        return batch["pixel_values"].to(self.device, self.model.dtype)

    @torch.inference_mode()
    def region_features(self, image) -> np.ndarray:
        """``(N, D)`` float32: one projected CLIP feature per region (module docstring)."""
        image = as_rgb(image)
        self.boxes(image)  # checks the image is at least one pixel per region
        if self.mode == "crops":
            return self._crop_features(image)
        hidden = self.model.vision_model(pixel_values=self._pixels([image])).last_hidden_state[0]
        patches = hidden[1:].reshape(self.patches, self.patches, -1)  # drop the class token
        width, height = image.size
        rows, cols = self.grid
        wy = torch.as_tensor(overlap_weights(grid_edges(height, rows), height, self.patches),
                             dtype=patches.dtype, device=patches.device)
        wx = torch.as_tensor(overlap_weights(grid_edges(width, cols), width, self.patches),
                             dtype=patches.dtype, device=patches.device)
        total = torch.einsum("rp,cq,pqh->rch", wy, wx, patches)
        area = (wy.sum(1)[:, None] * wx.sum(1)[None, :]).clamp_min(1e-12)
        cells = (total / area[..., None]).reshape(rows * cols, -1)
        projected = self.model.visual_projection(self.model.vision_model.post_layernorm(cells))
        return projected.float().cpu().numpy()

    def _crop_features(self, image) -> np.ndarray:
        crops = [image.crop(box) for box in self.boxes(image)]
        out = []
        for start in range(0, len(crops), self.batch_size):
            pixels = self._pixels(crops[start:start + self.batch_size])
            pooled = self.model.vision_model(pixel_values=pixels).pooler_output  # class token, post-layernorm
            out.append(self.model.visual_projection(pooled).float().cpu())
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def prompt_features(self, prompt: str) -> np.ndarray:
        """``(T, D)`` float32: each prompt token's last hidden state, projected (start token dropped)."""
        if not isinstance(prompt, str):
            raise InputError(f"prompt is a {type(prompt).__name__}; expected text")
        tokenizer = self.processor.tokenizer
        limit = int(self.model.config.text_config.max_position_embeddings)
        encoded = tokenizer(prompt, truncation=True, max_length=limit, return_tensors="pt")
        ids = encoded["input_ids"].to(self.device)
        if ids.shape[1] >= limit:
            log.warning("prompt truncated to CLIP's %d tokens: %r", limit, prompt[:60])
        hidden = self.model.text_model(
            input_ids=ids, attention_mask=encoded["attention_mask"].to(self.device)
        ).last_hidden_state[0]
        if tokenizer.bos_token_id is not None and int(ids[0, 0]) == tokenizer.bos_token_id:
            hidden = hidden[1:]
        return self.model.text_projection(hidden).float().cpu().numpy()

    def attention(self, image, prompt: str, *, normalize: bool = False) -> np.ndarray:
        """``(N,)``: Eq. 2's ``K(x^r)`` per region; ``normalize=True`` min-max rescales to ``[0, 1]``."""
        scores = eq2_scores(self.region_features(image), self.prompt_features(prompt))
        return minmax(scores) if normalize else scores
