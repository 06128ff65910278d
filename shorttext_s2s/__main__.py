"""``python -m shorttext_s2s``: the same command as the ``shorttext-s2s`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
