"""One exception type for every mistake a user can make.

Anything raised as :class:`SpaceverseError` is printed by the command line as a
single line (``error: ...``) with exit status 2, never as a traceback.  Messages
should say *where* (file, line, field) and *what was expected*.
"""


class SpaceverseError(Exception):
    """A user-facing error: bad input file, bad argument, bad configuration."""


class InputError(SpaceverseError):
    """Bad input data (a file, a string on the command line)."""
