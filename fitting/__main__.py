"""``python -m fitting``: the ``ionjax`` command (``fitting.cli.__main__.run``).

The signal handlers come first, as in the console script: before this module imports the
command (``fitting.cli.__main__``), so that Ctrl-C a few ms after the start ends the command
with status 130 and no output, never lost (issue 23)."""

import sys

from fitting.cli import interrupt

interrupt.install(command=True)

from fitting.cli.__main__ import run  # after the handlers, on purpose

sys.exit(run())
