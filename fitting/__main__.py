"""``python -m fitting``: the ``ionjax`` command."""

import sys

from fitting.app.cli import main

sys.exit(main())
