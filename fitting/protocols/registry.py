"""The protocols of ``ionjax analyze``, by name: one registry line a protocol.

A line names the protocol and the module that defines it (imported on first use, so that
``ionjax --help`` imports no jax); the module holds a ``PROTOCOL`` (``fitting.protocols.base
.Protocol``)::

    register_protocol("ramp", "fitting.protocols.ramp")
"""

from __future__ import annotations

import importlib

__all__ = ["PROTOCOLS", "get_protocol", "register_protocol", "unregister_protocol"]

PROTOCOLS: dict[str, str] = {}


def register_protocol(name: str, module: str) -> None:
    """Add a protocol: ``name`` (the ``--protocol`` value, new) defined by ``module``'s
    ``PROTOCOL``. ValueError if the name is taken."""
    if name in PROTOCOLS:
        raise ValueError(f"a protocol named {name!r} is registered already")
    PROTOCOLS[name] = module


def unregister_protocol(name: str) -> None:
    """Remove a registered protocol (KeyError if there is none of that name)."""
    del PROTOCOLS[name]


def get_protocol(name: str):
    """The ``Protocol`` registered as ``name`` (its module imported now)."""
    try:
        module = PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"no protocol named {name!r}; choose from "
                         f"{', '.join(PROTOCOLS)}") from None
    return importlib.import_module(module).PROTOCOL


register_protocol("membrane-test", "fitting.protocols.membrane_test")
register_protocol("activation", "fitting.protocols.activation")
register_protocol("inactivation", "fitting.protocols.inactivation")
register_protocol("isochronal", "fitting.protocols.isochronal")
register_protocol("ramp", "fitting.protocols.ramp")
register_protocol("kinetics", "fitting.protocols.kinetics")
register_protocol("tail", "fitting.protocols.tail")
