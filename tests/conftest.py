"""Shared test fixtures. Real data is read in place from ../shared (never copied into the repository)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIAMTRACK_SHARED", REPO_ROOT.parent / "shared"))

# The benchmark scripts that tests import as modules (common, dcfnet_reproduce, seed_tables, rasnet_curves) are put
# on sys.path here, once, so that no test file edits it (this folder, with the *_support helpers, pytest puts there
# itself: it holds this conftest.py).
for _folder in (REPO_ROOT / "benchmarks", REPO_ROOT / "benchmarks" / "ablations"):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))


def shared_path(*parts: str) -> Path:
    """Path under ../shared; fails the calling test with a clear message where it is absent (CI has ../shared, so a
    missing folder is an error to see, never a quiet skip)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data not available: {path} is absent (set SIAMTRACK_SHARED to its location)")
    return path


@pytest.fixture
def shared():
    """The ../shared folder (benchmarks, videos, official weights); fails where it is absent."""
    return shared_path()


@pytest.fixture(scope="module")
def siamfc_quarter():
    """Random quarter-width SiamFC weights (seed 0): the backbone of the DSLT and TADT tracker tests."""
    import torch

    from siamtrack.models import Weights, build_model

    torch.manual_seed(0)
    model = build_model("siamfc", width=0.25)
    return Weights(model.state_dict(), "siamfc", {"width": 0.25}, "<quarter-width siamfc>")


@pytest.fixture(scope="module")
def frame_and_box():
    """The first frame and box of the shared train sequence OTB-Human3; fails where the shared data is absent."""
    from siamtrack.data import shared_split

    shared_path("data", "index.json")
    sequence = next(s for s in shared_split(SHARED, "train") if s.name == "OTB-Human3")
    return sequence.frames[0], sequence.ground_truth[0]
