"""The repository's promises: the README test command is what CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Run the tests:\n\n```bash\n(.+?)\n```", readme).group(1)
    assert block in (ROOT / ".ci" / "run").read_text()
