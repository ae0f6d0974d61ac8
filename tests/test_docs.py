"""README is a guide (short, with links that lead somewhere); the details live under docs/."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# written in other branches; README links them already
ELSEWHERE = {"docs/queries.md", "docs/guarantees.md", "docs/adopt.md",
             "docs/incremental-views.md", "docs/citus.md"}  # fmt: skip


def test_readme_is_a_short_guide():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    for section in ("## Quick start", "## Commands", "## Configuration", "## Cron",
                    "## Testing", "## Where to read more"):  # fmt: skip
        assert section in text, section


def test_readme_links_lead_somewhere():
    links = re.findall(r"\]\(([^)#:]+)\)", README.read_text())
    assert "docs/cli.md" in links and "bench/README.md" in links
    for link in links:
        if link not in ELSEWHERE:
            assert (ROOT / link).exists(), link


def test_cron_line_uses_the_absolute_path_and_quiet():
    text = README.read_text()
    assert re.search(r"^\S+ \S+ \S+ \S+ \S+\s+/opt/moltctl/\.venv/bin/moltctl --quiet ", text, re.M)


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci and "python -m pytest -q" in README.read_text()
    assert "python -m moltctl.cli.docgen --check docs/cli.md" in ci
