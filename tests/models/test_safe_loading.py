"""Every loader of files a user can hand us refuses a pickle whose unpickling would run code, and the code never
runs: the payload below creates a marker file when unpickled, so a loader with ``weights_only=False`` fails here."""

from __future__ import annotations

import pytest
import torch


class CreatesAFile:
    """Unpickling this calls ``open(marker, "w")``: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def payload_file(tmp_path, wrap):
    path, marker = tmp_path / "evil.pth", tmp_path / "code-ran"
    torch.save(wrap(CreatesAFile(marker)), path)
    return path, marker


def loaders():
    from siamtrack.models import read_weights
    from siamtrack.training.checkpoint import load_checkpoint
    from siamtrack.trackers import build_tracker
    from siamtrack.weights.dcfnet import load_dcfnet_features, load_param_pth

    return {
        "read_weights": read_weights,
        "build_tracker(siamfc)": lambda path: build_tracker("siamfc", weights=path),
        "build_tracker(dcfnet)": lambda path: build_tracker("dcfnet", weights=path),
        "load_param_pth": load_param_pth,
        "load_dcfnet_features": load_dcfnet_features,
        "load_checkpoint": load_checkpoint,
    }


@pytest.mark.parametrize("name", list(loaders()))
@pytest.mark.parametrize(
    "wrap",
    [lambda obj: obj, lambda obj: {"state_dict": {"w": torch.zeros(1)}, "x": obj}],
    ids=["bare", "inside a state dict"],
)
def test_a_pickled_payload_is_refused_and_never_runs(tmp_path, name, wrap):
    path, marker = payload_file(tmp_path, wrap)
    with pytest.raises(Exception) as caught:
        loaders()[name](path)
    assert not marker.exists(), f"{name} ran the pickled code"
    assert "evil.pth" in str(caught.value), f"{name}: the error does not name the file: {caught.value}"


def test_the_payload_does_run_under_a_plain_unpickle(tmp_path):
    """The control: without weights_only the payload runs, so the test above would catch a loader that allows it."""
    path, marker = payload_file(tmp_path, lambda obj: obj)
    torch.load(path, weights_only=False)
    assert marker.exists()
