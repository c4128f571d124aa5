"""Test configuration: 64-bit JAX for the precision tests (float32 is tested explicitly).

ionjax itself never touches ``jax_enable_x64``; the tests turn it on so that float64 accuracy can
be checked, and pass ``float32`` arrays explicitly where float32 behaviour is under test.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest

jax.config.update("jax_enable_x64", True)
# XLA's backend optimisation off (before fitting is imported): the suite compiles many small
# programs and runs small batches, where compilation dominates. Subprocesses inherit it.
# tests/test_fitting_batch.py checks the fully optimised program against it.
os.environ.setdefault("IONJAX_FAST_COMPILE", "1")
# JAX's persistent compilation cache: a fresh folder per test process (per xdist worker), shared
# only with the commands that process starts and waits for; no two processes of the suite use
# one folder at once. A worker of CI's run crashed (segmentation fault) with both workers on one
# folder even with JAX's file lock held for reads and writes (fitting/engine/compiled.py).
if "IONJAX_CACHE_DIR" not in os.environ:
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["IONJAX_CACHE_DIR"] = tempfile.mkdtemp(prefix=f"ionjax-xla-{_worker}-")
    atexit.register(shutil.rmtree, os.environ["IONJAX_CACHE_DIR"], ignore_errors=True)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if os.environ.get("IONJAX_DATA"):
    DATA = Path(os.environ["IONJAX_DATA"])


@pytest.fixture
def shared_data():
    """Folder of the real recordings (../shared/data); skips the test when absent."""
    if not DATA.is_dir():
        pytest.skip(f"real recordings not present at {DATA}")
    return DATA
