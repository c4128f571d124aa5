"""Imports of ``fitting.models`` and ``fitting.engine`` run one way (issue 22, rule 2): models
import only ``fitting.models`` (and ionjax, jax, numpy); engine imports only ``fitting.engine``,
``fitting.models`` and the leaf ``fitting.outputs.atomic``; no import circle among their modules
(imports inside functions count; ``if TYPE_CHECKING:`` blocks do not)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "engine")


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name):
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports(path):
    """The fitting modules ``path`` imports, TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fitting"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if _is_module(full) else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("fitting"))
    return out


def _graph():
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / "fitting" / package).glob("*.py")):
            graph[_module_name(path)] = _imports(path)
    return graph


def test_models_and_engine_import_one_way():
    allowed = {"models": ("fitting.models",),
               "engine": ("fitting.engine", "fitting.models", "fitting.outputs.atomic")}
    for module, imported in _graph().items():
        package = module.split(".")[1]
        for name in imported:
            assert name.startswith(allowed[package]), f"{module} imports {name}"


def test_no_import_circle_in_models_and_engine():
    graph = _graph()
    state = {}

    def visit(module, trail):
        if state.get(module) == "done" or module not in graph:
            return
        assert state.get(module) != "open", "import circle: " + " -> ".join(
            trail[trail.index(module):] + [module])
        state[module] = "open"
        for name in sorted(graph[module]):
            visit(name, trail + [module])
        state[module] = "done"

    for module in graph:
        visit(module, [])
