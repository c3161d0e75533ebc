"""Scene-class labels: one spelling per class, and how an answer names a class.

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
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
