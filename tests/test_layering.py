"""`import ionjax` loads jax and numpy only: no optax, scipy, matplotlib, pyabf or fitting."""

import ast
import re
import subprocess
import sys
from pathlib import Path


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


ROOT = Path(__file__).resolve().parents[1]


def _is_module(name):
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imported_fitting_modules(path):
    """The ``fitting.*`` modules a source file imports, anywhere in it (functions included;
    ``if TYPE_CHECKING:`` blocks left out): ``from fitting.x import y`` counts as
    ``fitting.x.y`` where that is a module, else as ``fitting.x``."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if _is_module(full) else node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == "fitting" or n.startswith("fitting.")}


def _modules():
    """(module name, path) of every module of ``fitting``."""
    for path in sorted((ROOT / "fitting").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _drawn_graph():
    """The layer graph of the README's Architecture section (its ``imports`` block)."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```imports\n(.*?)```", readme, re.S)
    assert block, "README.md has no ```imports block in its Architecture section"
    graph = {}
    for line in block.group(1).splitlines():
        left, _, right = line.partition("->")
        if left.strip():
            graph[left.strip()] = {x.strip() for x in right.split(",") if x.strip()}
    return graph


def _layer(module):
    """fitting.cli.main -> 'cli'; fitting.outputs.atomic -> 'atomic' (the leaf every layer may
    use); the facade (fitting, fitting.io, fitting.plot, fitting.__main__) -> 'fitting'."""
    parts = module.split(".")
    if parts[1:3] == ["outputs", "atomic"]:
        return "atomic"
    if len(parts) == 1 or parts[1] in ("io", "plot", "__main__"):
        return "fitting"
    return parts[1]


def _cycle(graph):
    """One circle of ``graph`` (node -> set of nodes) as a list, or None."""
    state = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_imports_follow_the_graph_the_readme_draws():
    """Every import of every ``fitting`` module is an edge of the README's graph, which has
    no circle."""
    graph = _drawn_graph()
    assert _cycle(graph) is None, f"the README draws a circle: {_cycle(graph)}"
    for module, path in _modules():
        source = _layer(module)
        assert source in graph, f"{module}: layer {source!r} is not in the README's graph"
        for name in _imported_fitting_modules(path):
            target = _layer(name)
            assert target == source or target in graph[source], \
                f"{module} ({source}) imports {name} ({target}): an edge the README does not draw"


def test_no_import_circle_between_modules():
    """No circle among the modules themselves (imports inside functions count): e.g. batch ->
    result -> inference -> batch."""
    graph = {module: {n for n in _imported_fitting_modules(path)
                      if n != module and not module.startswith(n + ".")}
             for module, path in _modules()}
    packages = {m for m, p in _modules() if p.name == "__init__.py"}
    # a package __init__ that re-exports lazily names its modules without importing them
    graph = {m: {n for n in targets if n not in packages} for m, targets in graph.items()}
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph))}"


def test_public_modules_declare_all_and_hint_their_functions():
    """Every public module of ``fitting`` has ``__all__``; every function it exports carries
    type hints (on its arguments or its return)."""
    import importlib
    import inspect

    missing = []
    for module, path in _modules():
        if any(part.startswith("_") for part in module.split(".")):
            continue
        source = path.read_text()
        if "__all__" not in source:
            missing.append(f"{module} has no __all__")
        if path.name == "__init__.py" or "lazy_exports" in source or "__all__" not in source:
            continue
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj) and obj.__module__ == module and not obj.__annotations__:
                missing.append(f"{module}.{name} carries no type hints")
    assert not missing, "\n".join(missing)


def test_modules_stay_small():
    for module, path in _modules():
        assert len(path.read_text().splitlines()) <= 320, f"{module} is over 320 lines"


def test_every_module_is_named_in_its_package_docstring():
    """A reader finds each module's job in its package's docstring (the tree and the docs
    cannot drift apart)."""
    missing = []
    for init in sorted((ROOT / "fitting").rglob("__init__.py")):
        words = set(re.findall(r"[A-Za-z_]+", ast.get_docstring(ast.parse(init.read_text()))
                               or ""))
        package = init.parent
        names = [p.stem for p in package.glob("*.py") if not p.stem.startswith("_")]
        names += [p.name for p in package.iterdir() if (p / "__init__.py").exists()]
        missing += [f"{package.relative_to(ROOT)}/{n}" for n in names if n not in words]
    assert not missing, f"modules no package docstring names: {missing}"
