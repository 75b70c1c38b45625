"""Shared helpers of the evaluation tests: index-encoding frames and deterministic "oracle" trackers.

The oracle trackers read the frame number from the image they are given (:class:`IndexFrames` encodes it
in the pixels), so they output a known function of the ground truth of exactly the frame the runner
passed them: ground truth plus a drift since initialisation, seeded noise, or a constant box.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_path
from siamtrack.data.sequence import FrameSource, Sequence


class IndexFrames(FrameSource):
    """``count`` frames of ``height x width`` whose every pixel holds the frame number (base 256, RGB);
    zero-copy read-only views, so a 1280x720 sequence costs nothing to "decode"."""

    def __init__(self, count: int, width: int, height: int):
        self.count, self.width, self.height = count, width, height

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < self.count:
            raise IndexError(f"frame index {index} out of range for {self.count} frames")
        pixel = np.array([index % 256, (index // 256) % 256, index // 65536], dtype=np.uint8)
        return np.lib.stride_tricks.as_strided(
            pixel, shape=(self.height, self.width, 3), strides=(0, 0, 1), writeable=False
        )


def frame_index(image: np.ndarray) -> int:
    red, green, blue = (int(v) for v in image[0, 0])
    return red + 256 * green + 65536 * blue


class OracleTracker:
    """Outputs ``ground_truth[k] + drift * (k - k0) + noise * N(0, 1)`` on frame k (k0 = the init frame);
    NaN ground truth rows are replaced by the last known box. ``constant=True`` keeps the initial box."""

    def __init__(
        self,
        ground_truth,
        drift=(0.0, 0.0, 0.0, 0.0),
        noise: float = 0.0,
        seed: int = 0,
        constant: bool = False,
        nan_every: int = 0,
    ):
        truth = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4).copy()
        for k in range(1, len(truth)):
            if np.isnan(truth[k]).any():
                truth[k] = truth[k - 1]
        self.truth, self.drift, self.noise, self.seed = truth, np.asarray(drift, dtype=np.float64), noise, seed
        self.constant, self.nan_every = constant, nan_every

    def init(self, image, box):
        self.start, self.box = frame_index(image), np.asarray(box, dtype=np.float64)

    def update(self, image):
        k = frame_index(image)
        if self.constant:
            return self.box.copy()
        if self.nan_every and k % self.nan_every == 0:
            return np.full(4, np.nan)
        box = self.truth[k] + self.drift * (k - self.start)
        if self.noise:
            box = box + self.noise * np.random.default_rng([self.seed, k]).standard_normal(4)
        return box


def oracle_sequence(name: str, ground_truth, width: int, height: int, **fields) -> Sequence:
    """A sequence with the given (real) ground truth and :class:`IndexFrames` frames."""
    truth = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    metadata = dict(fields.pop("metadata", {}), image_size=(width, height))
    return Sequence(name, IndexFrames(len(truth), width, height), truth, metadata=metadata, **fields)


def real_oracle_sequences(kind: str) -> list[Sequence]:
    """Real ground truth of the shared data as oracle sequences: ``"otb"`` (OTB/UAV123 layouts and one
    UAV123 video with NaN rows) or ``"vot"`` (VOT/VOT-TIR polygons and VOT videos)."""
    from siamtrack.data import read_otb_sequence, read_uav_sequence, read_video_sequence, read_vot_sequence

    benchmarks = shared_path("data", "benchmarks")
    videos = shared_path("data", "videos")
    if kind == "otb":
        sources = [
            read_otb_sequence(benchmarks / "OTB" / "DragonBaby"),
            read_otb_sequence(benchmarks / "OTB" / "Jogging", 1),
            read_otb_sequence(benchmarks / "OTB" / "Jogging", 2),
            read_uav_sequence(benchmarks / "UAV123_10fps", "car16_1", "uav123_10fps"),
            read_video_sequence(videos / "UAV123_10fps-group3_2.mp4"),
        ]
    elif kind == "vot":
        sources = [
            read_vot_sequence(benchmarks / "VOT" / "ball1"),
            read_vot_sequence(benchmarks / "VOT-TIR" / "horse"),
            read_video_sequence(videos / "VOT-bolt1.mp4"),
            read_video_sequence(videos / "VOT-car1.mp4"),
            read_video_sequence(videos / "VOT-zebrafish1.mp4"),
        ]
    else:
        raise ValueError(kind)
    out = []
    for source in sources:
        height, width = source.frames[0].shape[:2]
        out.append(
            oracle_sequence(
                source.name,
                source.ground_truth,
                width,
                height,
                absent=source.absent,
                polygons=source.polygons,
                tags=source.tags,
                attributes=source.attributes,
            )
        )
    return out


def test_index_frames_round_trip():
    frames = IndexFrames(70000, 5, 4)
    for index in (0, 1, 255, 256, 65535, 69999):
        image = frames[index]
        assert image.shape == (4, 5, 3) and image.dtype == np.uint8
        assert frame_index(image) == index
    with pytest.raises(IndexError):
        frames[70000]


def test_oracle_tracker_follows_the_frames_it_is_given():
    truth = np.arange(40, dtype=np.float64).reshape(10, 4) + 100
    frames = IndexFrames(10, 50, 50)
    tracker = OracleTracker(truth, drift=(1, 0, 0, 0))
    tracker.init(frames[3], truth[3])
    assert np.allclose(tracker.update(frames[7]), truth[7] + [4, 0, 0, 0])
