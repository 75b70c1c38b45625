"""Slow: the DCFNet tracker reproduces the authors' tracker (param.pth) on the 10 dev-eval sequences."""
from __future__ import annotations

import importlib.util

import pytest

from conftest import REPO_ROOT, shared_path


@pytest.mark.slow
def test_reproduces_the_authors_success_auc_on_every_dev_eval_sequence():
    shared = shared_path()
    shared_path("weights", "dcfnet", "param.pth")
    spec = importlib.util.spec_from_file_location("dcfnet_reproduce", REPO_ROOT / "benchmarks" / "dcfnet_reproduce.py")
    reproduce = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reproduce)
    rows = reproduce.reproduce(shared, verbose=False)
    assert [row["name"] for row in rows] == list(reproduce.TARGETS)
    off = {row["name"]: round(row["diff"], 4) for row in rows if abs(row["diff"]) > reproduce.TOLERANCE}
    assert not off, f"success AUC differs from the authors' tracker by more than {reproduce.TOLERANCE}: {off}"
