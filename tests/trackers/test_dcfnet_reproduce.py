"""The DCFNet tracker reproduces the authors' tracker (param.pth): two short dev-eval sequences, whole length, in the
default suite; all 10 dev-eval sequences in the slow test.

Where the target numbers come from: ``TARGETS`` in benchmarks/dcfnet_reproduce.py, the success AUC (got10k metrics)
of the authors' own PyTorch tracker (foolwood/DCFNet_pytorch, ported to ``torch.fft``) with ``param.pth`` on each
sequence, rounded to 3 decimals, as recorded in benchmarks/RESULTS.md ("DCFNet reproduction of the authors'
tracker"). They were not produced by siamtrack's tracker; the run of the authors' code that produced them is not in
this repository (the 8-frame literal port in test_dcfnet_tracker.py is the in-repository check of the same loop).
"""

from __future__ import annotations


import pytest

from conftest import shared_path


@pytest.fixture(scope="module")
def reproduce():
    import dcfnet_reproduce  # benchmarks/dcfnet_reproduce.py (tests/conftest.py puts benchmarks/ on sys.path)

    return dcfnet_reproduce


def test_reproduces_the_authors_success_auc_on_two_short_sequences(reproduce):
    """ball1 (VOT, 105 frames, polygon ground truth) and building5 (UAV123@10fps, 161 frames), each tracked from its
    first frame to its last (~10 s on one core). Tolerance 0.001: the targets are rounded to 3 decimals (+-0.0005),
    and the float32 tracker lands within 0.0005 of every target (RESULTS.md: ball1 +0.0001, building5 +0.0005); the
    slow reproduction allows 0.005 over the longer sequences."""
    shared_path("weights", "dcfnet", "param.pth")
    rows = reproduce.reproduce(shared_path(), names=["ball1", "building5"], verbose=False)
    assert [(row["name"], row["frames"]) for row in rows] == [("ball1", 105), ("building5", 161)]
    for row in rows:
        assert row["target"] == reproduce.TARGETS[row["name"]]
        assert abs(row["diff"]) <= 0.001, (row["name"], round(row["auc"], 4), row["target"])


@pytest.mark.slow
def test_reproduces_the_authors_success_auc_on_every_dev_eval_sequence(reproduce):
    shared = shared_path()
    shared_path("weights", "dcfnet", "param.pth")
    rows = reproduce.reproduce(shared, verbose=False)
    assert [row["name"] for row in rows] == list(reproduce.TARGETS)
    off = {row["name"]: round(row["diff"], 4) for row in rows if abs(row["diff"]) > reproduce.TOLERANCE}
    assert not off, f"success AUC differs from the authors' tracker by more than {reproduce.TOLERANCE}: {off}"
