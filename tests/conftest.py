"""Shared test fixtures. Real data is read in place from ../shared (never copied into the repository)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIAMTRACK_SHARED", REPO_ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared; skips the calling test with a clear message where it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} is absent (set SIAMTRACK_SHARED to its location)")
    return path


@pytest.fixture
def shared():
    """The ../shared folder (benchmarks, videos, official weights); skips where it is absent."""
    return shared_path()
