"""A model added with one file and one registry line is fitted, and its compiled programs are
kept across processes like the built-ins' (issue 22, rule 1); ``fit`` leaves JAX's settings
as it found them (rule 4)."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import fitting
from fitting.models import registry

TOY = textwrap.dedent('''
    """A toy model in a module of its own: I = a v^2 / (100 mV) + b, linear in a and b."""
    import dataclasses

    import jax.numpy as jnp

    from fitting.models.linear import Linear
    from fitting.models.params import spec

    TRACED = [0]  # calls at trace time: none when the programs come from exported artifacts


    @dataclasses.dataclass(frozen=True)
    class Toy(Linear):
        name = "Toy"
        specs = (spec("a", "nS"), spec("b", "pA"))

        def current(self, params, v):
            TRACED[0] += 1
            return params["a"] * v * v / 0.1 + params["b"]

        def features(self, v):
            TRACED[0] += 1
            return v * v / 0.1, jnp.ones_like(v)

        def from_linear(self, a, theta):
            return {"a": a[..., 0], "b": a[..., 1]}
''')

SCRIPT = textwrap.dedent('''
    import json
    import jax
    import numpy as np
    before = dict(jax.config.values)
    import fitting, toymod
    from fitting.models.registry import is_registered, model_entry, register_model
    register_model("toy", "toymod:Toy", help="a v^2 + b")
    model = model_entry("toy").make()
    v = np.linspace(-0.09, 0.04, 15)
    i = 3e-9 * v * v / 0.1 + 5e-12 + np.random.default_rng(0).normal(0, 1e-13, (4, 15))
    res = fitting.fit(model, v, i)
    print(json.dumps(dict(traced=toymod.TRACED[0], a=res.params["a"].tolist(),
                          status=res.status.tolist(), registered=is_registered(model),
                          same_config=dict(jax.config.values) == before)))
''')


def _run(tmp_path):
    env = dict(os.environ, IONJAX_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.getcwd()]
                                          + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("IONJAX_NO_CACHE", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_model_registered_from_any_module_gets_exported_programs(tmp_path):
    module = tmp_path / "toymod.py"
    module.write_text(TOY)
    first = _run(tmp_path)
    assert first["registered"] and first["traced"] > 0 and first["same_config"]
    assert first["status"] == [0] * 4
    np.testing.assert_allclose(first["a"], 3e-9, rtol=1e-3)
    artifacts = sorted((tmp_path / "cache" / "exported").glob("*.bin"))
    assert len(artifacts) == 3  # start, run, finish
    second = _run(tmp_path)  # a new process loads them: the model's code is never traced
    assert second["traced"] == 0 and second["a"] == first["a"]
    module.write_text(TOY + "\n# edited: the artifacts of the old source no longer apply\n")
    third = _run(tmp_path)
    assert third["traced"] > 0 and third["a"] == first["a"]
    assert len(list((tmp_path / "cache" / "exported").glob("*.bin"))) == 6


MAIN_MODEL = textwrap.dedent("""
    import dataclasses, json, sys
    import numpy as np
    import fitting, ionjax
    from fitting.models import Ohmic, registry

    @dataclasses.dataclass(frozen=True)
    class Scaled(Ohmic):
        def current(self, params, v):
            return {factor} * ionjax.ohmic_current(v, params["g"], params["e_rev"])

    registry.register_model("scaled", Scaled)
    v = np.linspace(-0.08, 0.04, 9)
    res = fitting.fit(Scaled(), v, 1e-9 * (v + 0.07))
    print(json.dumps(float(res.params["g"])))
""")


def test_a_model_without_a_source_file_is_never_kept(tmp_path):
    """A class defined in ``python -c`` (or a notebook) has no source to tell its versions
    apart: its programs are traced each time, so an edited class gives its own answer."""
    env = dict(os.environ, IONJAX_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("IONJAX_NO_CACHE", None)
    found = []
    for factor in (1.0, 2.0):
        out = subprocess.run([sys.executable, "-c", MAIN_MODEL.replace("{factor}", str(factor))],
                             env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        found.append(json.loads(out.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(found, [1e-9, 0.5e-9], rtol=1e-4)
    assert not list((tmp_path / "cache").rglob("*.bin"))

def test_unregister_model_removes_the_entry_and_only_it():
    class Toy(fitting.Ohmic):
        pass

    class Other(fitting.Ohmic):
        pass

    names = list(registry.MODELS)
    entry = registry.register_model("toy-in-process", Toy, help="a subclass")
    assert registry.is_registered(Toy()) and not registry.is_registered(Other())
    assert registry.unregister_model("toy-in-process") is entry
    assert list(registry.MODELS) == names and not registry.is_registered(Toy())
    with pytest.raises(ValueError, match="no model named 'toy-in-process'"):
        registry.unregister_model("toy-in-process")


def test_built_in_registry_targets_resolve_to_the_public_classes():
    for name, cls in [("ohmic", fitting.Ohmic), ("ghk", fitting.GHK),
                      ("multi-ghk", fitting.MultiIonGHK),
                      ("boltzmann-ohmic", fitting.BoltzmannOhmic),
                      ("boltzmann-ghk", fitting.BoltzmannGHK)]:
        assert registry.model_entry(name).resolve() is cls


def test_fit_leaves_the_jax_configuration_as_it_found_it(tmp_path, monkeypatch):
    monkeypatch.setenv("IONJAX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IONJAX_NO_CACHE", raising=False)
    before = dict(jax.config.values)
    v = np.linspace(-0.09, 0.04, 15)
    fitting.fit(fitting.BoltzmannOhmic(), v, 4e-9 / (1 + np.exp((-0.03 - v) / 0.007)) * (v - 0.04))
    assert dict(jax.config.values) == before
