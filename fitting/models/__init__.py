"""What is fitted: the model families (parameter layout, units, the current as a function of
voltage), each in its own module."""

from ionjax._src.lazy import lazy_exports

_EXPORTS = {
    "builtin": ["GHK", "BoltzmannConductance", "BoltzmannCurrent", "BoltzmannGHK",
                "BoltzmannOhmic", "MultiIonGHK", "Ohmic"],
    "params": ["ParamSpec"],
    "pnp": ["PNPChannel"],
    "user": ["Model"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
