"""``python -m fitting.cli``: the ``ionjax`` command (as ``python -m fitting``)."""

import sys

from fitting.cli.main import main

sys.exit(main())
