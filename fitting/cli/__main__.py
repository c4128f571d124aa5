"""``python -m fitting.cli`` (and ``python -m fitting``): the ``ionjax`` command.

The signal handlers come first, so that Ctrl-C during the imports ends the command with one
line and the status 130 (143 for SIGTERM), not a traceback."""

import os
import sys

from fitting.cli import interrupt

__all__ = ["run"]


def run() -> int:
    """Install the signal handlers, then import and run the command; its exit status."""
    interrupt.install(command=True)
    try:
        from fitting.cli.main import main

        return main()
    except KeyboardInterrupt:  # before main's own handling began
        interrupt.leave()
        sys.stderr.write("ionjax: interrupted\n")
        sys.stderr.flush()
        os._exit(interrupt.exit_code())


if __name__ == "__main__":
    sys.exit(run())
