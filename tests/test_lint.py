"""``ruff check`` (configured in pyproject.toml, [tool.ruff]) finds nothing in src, tests and benchmarks, and
``ruff format --check`` finds every file formatted: the lint runs with the default suite, so .ci/run stays the
README's test command. ruff comes with the ``test`` extra."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT


def test_ruff_check_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "benchmarks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "No module named ruff" not in result.stderr, "ruff is missing: pip install -e '.[test]'"
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout[-6000:]}{result.stderr[-2000:]}"


def test_ruff_format_leaves_every_file_as_it_is():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "src", "tests", "benchmarks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "No module named ruff" not in result.stderr, "ruff is missing: pip install -e '.[test]'"
    assert result.returncode == 0, (
        f"files not formatted (run `ruff format src tests benchmarks`):\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
    )
