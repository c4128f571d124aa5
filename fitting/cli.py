"""Former home of the command line, kept so that ``python -m fitting.cli`` and
``from fitting.cli import main`` still work: the command is ``fitting.app.cli``."""

import sys

from fitting.app.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
