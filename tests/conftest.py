"""Test configuration: 64-bit JAX for the precision tests (float32 is tested explicitly).

ionjax itself never touches ``jax_enable_x64``; the tests turn it on so that float64 accuracy can
be checked, and pass ``float32`` arrays explicitly where float32 behaviour is under test.
"""

import atexit
import faulthandler
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


# Every compiled XLA CPU program keeps its machine code in memory mappings of its own (about
# five per program), freed only when JAX drops the program. One test process compiles thousands
# of programs (every model, option and shape the suite tries), and past Linux's limit of
# vm.max_map_count (65530) mappings the next mmap fails and XLA crashes with a segmentation fault
# in compilation or in writing the persistent cache (CI's stops 29 and 30 and a local run: a
# worker at 85% of the suite; one test file alone reached 10,000 mappings). JAX's caches are
# dropped after every test file, and after any test that leaves more than _MAX_MAPS mappings.
_MAX_MAPS = 30_000


def _mappings() -> int:
    try:
        with open(f"/proc/{os.getpid()}/maps", "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs_per_file():
    yield
    jax.clear_caches()


@pytest.fixture(autouse=True)
def _drop_compiled_programs_when_many():
    yield
    if _mappings() > _MAX_MAPS:
        jax.clear_caches()


# A test process that dies of a fatal signal (SIGSEGV, SIGABRT, ...) writes its threads' Python
# stacks to its own file in $IONJAX_FAULT_DIR (made by the first process, inherited by the xdist
# workers); the controlling process prints the crashed thread's stack at the very end of the
# report, where CI's truncated output still shows it (the default dump goes to stderr, above
# the module list, and is cut off).
if "IONJAX_FAULT_DIR" not in os.environ:
    os.environ["IONJAX_FAULT_DIR"] = tempfile.mkdtemp(prefix="ionjax-faults-")
    atexit.register(shutil.rmtree, os.environ["IONJAX_FAULT_DIR"], ignore_errors=True)
_FAULT_DIR = os.environ["IONJAX_FAULT_DIR"]
_FAULT_FILE = None


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    global _FAULT_FILE
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    _FAULT_FILE = open(os.path.join(_FAULT_DIR, f"{name}-{os.getpid()}.log"), "w")
    faulthandler.enable(file=_FAULT_FILE, all_threads=True)


_HARNESS = ("/pluggy/", "/_pytest/", "/xdist/", "/execnet/", '"<string>"')


def _crashed_stack(text: str, limit: int = 24) -> list[str]:
    """The fatal error line and the crashing thread's frames of a faulthandler dump, without
    the test harness's own frames (pytest, pluggy, xdist, execnet)."""
    out, keep = [], False
    for line in text.splitlines():
        if line.startswith("Fatal Python error"):
            out.append(line)
        keep = keep or line.startswith("Current thread")
        if keep and not line.strip():
            break
        if keep and not any(h in line for h in _HARNESS):
            out.append(line)
    return out[:limit]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for path in sorted(Path(_FAULT_DIR).glob("*.log")):
        text = path.read_text(errors="replace")
        if "Fatal Python error" in text:
            terminalreporter.write_sep("=", f"fatal signal in {path.stem} (faulthandler)")
            for line in _crashed_stack(text):
                terminalreporter.write_line(line)
