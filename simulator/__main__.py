"""``python -m simulator`` is the ``spaceverse`` command."""

from .cli import main

if __name__ == "__main__":
    main()
