"""The repository's promises: the README test command is what CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Run the tests:\n\n```bash\n(.+?)\n```", readme).group(1)
    assert block in (ROOT / ".ci" / "run").read_text()


def test_package_data_globs_name_files_that_exist():
    """Every ``[tool.setuptools.package-data]`` pattern matches a file: a wheel (a
    non-editable install) carries the bundled example that ``ionjax example`` reads."""
    text = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"\[tool\.setuptools\.package-data\]\n(.*?)(\n\[|\Z)", text, re.S)
    assert section, "pyproject.toml has no [tool.setuptools.package-data]"
    for package, patterns in re.findall(r"^(\w+)\s*=\s*\[(.*?)\]", section.group(1), re.M):
        for pattern in re.findall(r'"([^"]+)"', patterns):
            assert list((ROOT / package).glob(pattern)), f"{package}/{pattern} matches no file"


def test_the_readme_fitting_example_runs_as_written(shared_data, monkeypatch, capsys):
    """The README's "Fitting I-V data" block, run as a user pastes it (the data folder named
    by IONJAX_DATA): it runs, and its GHK fit of the real HCN2 tail I-V is usable."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Fitting I-V data\n\n```python\n(.+?)\n```", readme, re.S).group(1)
    monkeypatch.setenv("IONJAX_DATA", str(shared_data))
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)
    import fitting

    assert bool(fitting.usable(scope["res_ghk"].status))
    assert "p_Na" in capsys.readouterr().out
