"""The settings of a compiled fit, as one frozen, hashable value (the static argument of jit)."""

import dataclasses

__all__ = ["FitConfig"]


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Everything that fixes the compiled program of a batch fit, besides array shapes and dtypes.

    Attributes:
      model: the model (hashable: built-in models by their settings, user ``Model`` by its
        function and parameter layout).
      method: "lm" or "lbfgs".
      max_steps: solver iteration limit per recording.
      has_sigma: whether per-point noise SDs were given (absolute weights, chi^2 loss).
      fast_compile: compile with XLA's backend optimisation off (about half the compile time,
        a large batch runs several times slower): for short jobs that fit few curves once.
    """

    model: object
    method: str = "lm"
    max_steps: int = 200
    has_sigma: bool = False
    fast_compile: bool = False
