"""``python -m fitting``: the ``ionjax`` command."""

import sys

from fitting.cli.main import main

sys.exit(main())
