"""`import ionjax` loads jax and numpy only: no optax, scipy, matplotlib, pyabf or fitting."""

import subprocess
import sys


def test_import_ionjax_loads_no_optimizer_io_or_fitting():
    code = ("import sys, ionjax; ionjax.ghk_current; ionjax.units.mV; "
            "bad = [m for m in ('optax', 'scipy', 'matplotlib', 'pyabf', 'fitting') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_help_argument_errors_and_imports_load_no_jax():
    """``ionjax --help``, a usage error, ``import fitting`` / ``ionjax`` / ``fitting.io`` and a
    unit parse must not pay for jax (0.5-1.5 s): names load on first use."""
    code = """
import sys
import fitting, ionjax, fitting.io, ionjax.units
from fitting.cli.main import main
fitting.recordings.units.parse_temperature("22C")
codes = []
for argv in (["--help"], ["fit", "--help"], ["nernst", "--ion", "K", "--temperature", "25K"],
             ["fit", "x.csv", "--model", "nope"]):
    try:
        main(argv)
    except SystemExit as exc:
        codes.append(exc.code)
print(codes, sorted(m for m in ("jax", "optax", "matplotlib", "scipy") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[0, 0, 2, 2] []", out.stdout + out.stderr


def test_lazy_names_are_the_objects_of_their_modules():
    import fitting
    import ionjax
    from fitting.engine import batch, status
    from ionjax._src import ghk

    assert fitting.fit is batch.fit and fitting.STATUS_MESSAGES is status.MESSAGES
    assert ionjax.ghk_current is ghk.ghk_current and "ghk_current" in dir(ionjax)
    assert set(fitting.__all__) <= set(dir(fitting))
    for package in (fitting, ionjax):
        for name in package.__all__:
            assert getattr(package, name) is not None


def test_ionjax_does_not_enable_x64():
    code = "import jax, ionjax; print(jax.config.jax_enable_x64)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def _imported_fitting_modules(path):
    """The ``fitting.*`` modules a source file imports (anywhere in it, functions included)."""
    import ast

    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == "fitting" or n.startswith("fitting.")}


def test_fitting_imports_run_one_way():
    """engine imports neither io nor app; io never imports app (app -> io/engine -> ionjax)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "fitting"
    forbidden = {"engine": ("fitting.io", "fitting.cli", "fitting.plot"),
                 "io": ("fitting.cli", "fitting.plot")}
    for package, bad in forbidden.items():
        for path in sorted((root / package).rglob("*.py")):
            for name in _imported_fitting_modules(path):
                assert not name.startswith(bad) and name != "fitting", \
                    f"{path.relative_to(root)} imports {name}"
    for path in sorted(root.rglob("*.py")):  # package code stays small
        assert len(path.read_text().splitlines()) <= 320, f"{path.relative_to(root)} too long"
