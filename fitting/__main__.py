"""``python -m fitting``: the ``ionjax`` command (``fitting.cli.__main__.run``)."""

import sys

from fitting.cli.__main__ import run

sys.exit(run())
