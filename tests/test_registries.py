"""Issue 22 rule 1: one file plus one registry line adds a protocol or a model to the command.

A toy protocol in a temporary module, registered with one line, appears in ``ionjax analyze
--help`` (its option from its ``Options`` field, its summary in ``--protocol``), runs, writes
its tidy table and has its option refused by the other protocols; a toy model registered with
one line appears in ``ionjax fit --help`` and is fitted by ``ionjax fit``."""

import csv
import textwrap

import numpy as np
import pytest

from fitting.cli.main import main
from fitting.models import registry as models
from fitting.protocols import registry as protocols

TOY_PROTOCOL = '''
"""A toy protocol: the mean current of an I-V table times a gain."""

import dataclasses

import numpy as np

from fitting.engine.status import Status
from fitting.outputs.table import make_row
from fitting.protocols.base import Analysis, Protocol, option


@dataclasses.dataclass(frozen=True)
class Options:
    toy_gain: float = option(1.0, help="toy: the gain of the mean current", parse="float")


def extract(path, options):
    from fitting import io

    return path, io.read_csv(path)


def analyse(data, options):
    path, iv = data
    mean = float(np.mean(iv.i)) * options.toy_gain
    return Analysis("toy", path, mean, f"{path}: toy mean {mean * 1e12:.3f} pA",
                    [make_row(path, "all", "toy_mean", "A", mean, status=Status.CONVERGED)],
                    [(str(path), dict(mean=mean))])


def draw(panel, ax):
    ax.axhline(panel["mean"])


PROTOCOL = Protocol("toy", "the mean current times a gain", Options, extract, analyse,
                    draw)
'''


@pytest.fixture
def table(tmp_path):
    v = np.arange(-100, 41, 10.0)
    i = 3.0 * (v + 75.0)  # pA
    path = tmp_path / "cell.csv"
    path.write_text("voltage_mV,current_pA\n" + "".join(f"{a},{b}\n" for a, b in zip(v, i)))
    return path, float(np.mean(i)) * 1e-12


@pytest.fixture
def toy_protocol(tmp_path, monkeypatch):
    (tmp_path / "toy_protocol_22.py").write_text(textwrap.dedent(TOY_PROTOCOL))
    monkeypatch.syspath_prepend(str(tmp_path))
    protocols.register_protocol("toy", "toy_protocol_22")  # the one registry line
    yield
    protocols.unregister_protocol("toy")


def test_a_protocol_is_one_module_and_one_registry_line(toy_protocol, table, tmp_path,
                                                        capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    help_text = capsys.readouterr().out
    assert "--toy-gain" in help_text and "toy: the gain of the mean current" in help_text
    assert "toy: the mean current times a gain" in " ".join(help_text.split())
    path, mean = table
    out = tmp_path / "toy.csv"
    assert main(["--no-progress", "analyze", str(path), "--protocol", "toy", "--toy-gain", "2",
                 "--out", str(out)]) == 0
    assert "toy mean" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [r["quantity"] for r in rows] == ["toy_mean"] and rows[0]["status"] == "CONVERGED"
    assert float(rows[0]["value"]) == pytest.approx(2 * mean)
    # the API first: the same numbers without the command
    module = __import__("toy_protocol_22")
    analysis = protocols.get_protocol("toy").run(str(path), module.Options(toy_gain=2.0))
    assert analysis.result == pytest.approx(2 * mean)
    # its option is refused by the protocols that do not declare it, and theirs by it
    assert main(["analyze", str(path), "--protocol", "kinetics", "--toy-gain", "2"]) == 2
    assert "--toy-gain do(es) not apply to --protocol kinetics" in capsys.readouterr().err
    assert main(["analyze", str(path), "--protocol", "toy", "--components", "2"]) == 2
    assert "--components do(es) not apply to --protocol toy" in capsys.readouterr().err


def _toy_line():
    import fitting

    return fitting.Model(lambda params, v: params["g"] * (v - params["e"]),
                         params=dict(g=1e-9, e=0.0), name="toy line")


def test_a_model_is_one_registry_line(table, tmp_path, capsys):
    models.register_model("toy-line", _toy_line, help="a toy straight line")  # the one line
    try:
        with pytest.raises(SystemExit):
            main(["fit", "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert "toy-line: a toy straight line" in help_text
        path, _ = table
        assert main(["--no-progress", "fit", str(path), "--model", "toy-line"]) == 0
        assert "toy line" in capsys.readouterr().out
        assert main(["fit", str(path), "--model", "toy-line", "--ion", "K"]) == 2
        assert "--model toy-line takes no ion options" in capsys.readouterr().err
    finally:
        models.unregister_model("toy-line")

