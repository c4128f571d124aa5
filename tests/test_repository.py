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
