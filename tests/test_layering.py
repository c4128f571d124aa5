"""`import ionjax` loads jax and numpy only: no optax, scipy, matplotlib, pyabf or fitting."""

import subprocess
import sys


def test_import_ionjax_loads_no_optimizer_io_or_fitting():
    code = ("import sys, ionjax; "
            "bad = [m for m in ('optax', 'scipy', 'matplotlib', 'pyabf', 'fitting') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ionjax_does_not_enable_x64():
    code = "import jax, ionjax; print(jax.config.jax_enable_x64)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
