"""One exception type for every mistake a user can make.

Anything raised as :class:`SpaceverseError` is printed by the command line as a
single line (``error: ...``) with exit status 2, never as a traceback.  Messages
should say *where* (file, line, field) and *what was expected*.
"""


class SpaceverseError(Exception):
    """A user-facing error: bad input file, bad argument, bad configuration."""


class InputError(SpaceverseError):
    """Bad input data (a file, a string on the command line)."""


def did_you_mean(word: str, choices, n: int = 2, cutoff: float = 0.5) -> str:
    """A ``"; did you mean 'x'?"`` hint for a misspelt ``word`` (empty if nothing is close).

    >>> did_you_mean("grund-only", ["ground-only", "oracle"])
    "; did you mean 'ground-only'?"
    """
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def lookup(registry: dict, name: str, field: str, what: str):
    """``registry[name]`` with names normalised (case, ``_`` -> ``-``), or a one-line error."""
    key = name.strip().lower().replace("_", "-")
    if key not in registry:
        raise InputError(f"{field}: unknown {what} {name!r}{did_you_mean(key, registry)} "
                         f"(known: {', '.join(sorted(registry))})")
    return registry[key]
