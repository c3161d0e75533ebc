"""VQA answers: the VQAv2 evaluation's normal form, exact match and soft accuracy.

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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from simulator.errors import InputError

from .labels import _ARTICLES

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
