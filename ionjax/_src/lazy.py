"""Lazy package attributes (PEP 562): a package names its public objects and the modules that
define them, and each module is imported on first access to one of its names.

Used by ``ionjax`` and ``fitting`` so that ``import fitting.cli`` (``ionjax --help``) and
``import ionjax.units`` do not import jax (about 0.5-1.5 s): only what is used is loaded.
"""

import importlib


def lazy_exports(package, exports):
    """``(__getattr__, __dir__, __all__)`` for a package.

    Args:
      package: the package's ``__name__``.
      exports: dict module (relative to ``package``, e.g. "_src.ghk") -> list of the names it
        provides; a name equal to the module's last component that the module does not define
        names the module itself (e.g. "units" from "units"); "NEW=old" exports ``old`` of
        the module as ``NEW``.

    Returns:
      the module-level ``__getattr__`` (imports on first access and caches the value in the
      package), ``__dir__`` and the sorted ``__all__``.
    """
    where, source = {}, {}
    for module, names in exports.items():
        for entry in names:
            name, _, original = entry.partition("=")
            where[name], source[name] = module, original or name

    def __getattr__(name):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = importlib.import_module(f"{package}.{module}")
        own = name == module.rsplit(".", 1)[-1] and not hasattr(target, name)
        value = target if own else getattr(target, source[name])
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(where))

    return __getattr__, __dir__, sorted(where)
