"""Training data: curation (synthetic and real sequences), pair sampling, pair items and batch sharding."""

from __future__ import annotations

import json
from collections import Counter

import cv2
import numpy as np
import pytest
import torch
from conftest import shared_path
from training_support import synthetic_sequence

from siamtrack.data.sequence import Sequence, VideoFile
from siamtrack.imaging import crop_window, read_image
from siamtrack.training.augment import BranchAugmentation
from siamtrack.training.curation import CropSettings, curate, fingerprint, load_curated
from siamtrack.training.pairs import GlobalBatchSampler, PairDataset, PairSampler, PairSettings

TINY_CROP = CropSettings(context_size=31, crop_size=79)


@pytest.fixture
def sequences():
    return [
        synthetic_sequence("a", 12, seed=0, absent=(3, 4)),
        synthetic_sequence("b", 10, seed=1),
        synthetic_sequence("c", 1, seed=2),
    ]


def test_crop_settings_windows():
    center, window = CropSettings(context=0.5, context_size=127, crop_size=255).window([10, 20, 40, 20])
    np.testing.assert_allclose(center, [30, 30])
    side = np.sqrt((40 + 30) * (20 + 30)) * 255 / 127  # SiamFC: p = (w + h) / 4 on each side
    np.testing.assert_allclose(window, [side, side])
    _, window = CropSettings(mode="stretched", context=2.0, context_size=125, crop_size=125).window([0, 0, 40, 20])
    np.testing.assert_allclose(window, [120, 60])  # DCFNet: (1 + padding) x the target, per axis
    with pytest.raises(ValueError, match="mode"):
        CropSettings(mode="round")


def test_curation_writes_centred_crops_and_skips_invalid_frames(tmp_path, sequences):
    directory = curate(sequences, TINY_CROP, tmp_path, progress=False)
    assert directory.parent == tmp_path and directory.name == fingerprint(sequences, TINY_CROP)
    settings, curated = load_curated(directory)
    assert settings == TINY_CROP
    assert [s.name for s in curated] == ["a", "b"]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert [s["name"] for s in manifest["skipped_sequences"]] == ["c"]  # a single frame makes no pair
    index = json.loads((curated[0].directory / "index.json").read_text())
    assert index["skipped"]["absent"] == [3, 4]
    assert curated[0].frames.tolist() == [0, 1, 2] + list(range(5, 12))
    sequence = sequences[0]
    for k, frame in enumerate(curated[0].frames):
        box = sequence.ground_truth[frame]
        center, window = TINY_CROP.window(box)
        crop = read_image(curated[0].path(k))
        assert crop.shape == (79, 79, 3)
        scale = 79 / window[0]
        np.testing.assert_allclose(
            curated[0].boxes[k],
            [79 / 2 - box[2] * scale / 2, 79 / 2 - box[3] * scale / 2, box[2] * scale, box[3] * scale],
        )
        direct = crop_window(sequence.frames[frame], center, window, 79)
        ok, encoded = cv2.imencode(".jpg", direct[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, TINY_CROP.jpeg_quality])
        np.testing.assert_array_equal(crop, cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1])


def test_curation_resumes_and_keeps_finished_sequences(tmp_path, sequences):
    directory = curate(sequences, TINY_CROP, tmp_path, progress=False)
    kept, redone = directory / "synthetic-a", directory / "synthetic-b"
    kept_time = (kept / "000000.jpg").stat().st_mtime_ns
    (directory / "manifest.json").unlink()  # as if killed before the end ...
    (redone / "index.json").unlink()  # ... while sequence b was being written
    (redone / "000000.jpg").write_bytes(b"torn")
    again = curate(sequences, TINY_CROP, tmp_path, progress=False)
    assert again == directory
    assert (kept / "000000.jpg").stat().st_mtime_ns == kept_time
    assert read_image(redone / "000000.jpg").shape == (79, 79, 3)
    assert len(load_curated(directory)[1]) == 2


def test_fingerprint_depends_on_settings_and_ground_truth(sequences):
    base = fingerprint(sequences, TINY_CROP)
    assert fingerprint(sequences, CropSettings(context_size=31, crop_size=81)) != base
    moved = synthetic_sequence("b", 10, seed=1)
    moved.ground_truth[2, 0] += 1
    assert fingerprint([sequences[0], moved, sequences[2]], TINY_CROP) != base
    assert fingerprint(sequences, TINY_CROP) == base


def test_curation_errors(tmp_path, sequences):
    with pytest.raises(ValueError, match="empty"):
        curate([], TINY_CROP, tmp_path, progress=False)
    with pytest.raises(ValueError, match="same dataset and name"):
        curate([sequences[0], sequences[0]], TINY_CROP, tmp_path, progress=False)
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        load_curated(tmp_path)


def test_curation_of_a_real_video_with_absent_frames(tmp_path):
    video = shared_path("data", "videos", "UAV123_10fps-group3_2.mp4")
    boxes = np.genfromtxt(video.with_suffix(".txt"), delimiter=",")[80:104]
    sequence = Sequence("group3_2", VideoFile(video, first=80, count=24), boxes, dataset="UAV123_10fps")
    settings = CropSettings(context=0.5, context_size=127, crop_size=160)
    directory = curate([sequence], settings, tmp_path, progress=False)
    (curated,) = load_curated(directory)[1]
    absent = np.flatnonzero(np.isnan(boxes).any(axis=1))
    assert len(absent) > 0 and set(curated.frames) == set(range(24)) - set(absent)
    for k in (0, len(curated.frames) - 1):
        frame = int(curated.frames[k])
        center, window = settings.window(boxes[frame])
        direct = crop_window(sequence.frames[frame], center, window, 160).astype(np.float64)
        crop = read_image(curated.path(k)).astype(np.float64)
        psnr = 10 * np.log10(255**2 / np.mean((crop - direct) ** 2))
        assert psnr > 30
        np.testing.assert_allclose(curated.boxes[k][:2] + curated.boxes[k][2:] / 2, [80, 80], atol=1e-9)


# ----------------------------------------------------------------------------------------------- sampling


def test_pair_sampler_respects_the_gap_and_never_pairs_a_frame_with_itself():
    frames = [np.array([0, 1, 2, 10, 11, 50]), np.array([3, 4])]
    sampler = PairSampler(frames, max_gap=2)
    counts = Counter()
    for seed in range(3000):
        pair = sampler.draw(np.random.default_rng(seed))
        numbers = frames[pair.sequence]
        assert pair.exemplar != pair.instance
        assert pair.gap == abs(numbers[pair.exemplar] - numbers[pair.instance]) <= 2
        counts[pair.sequence] += 1
        assert not (pair.sequence == 0 and pair.exemplar == 5)  # frame 50 has no partner
    assert abs(counts[0] - counts[1]) < 300  # sequences drawn uniformly
    draws = [PairSampler(frames, None).draw(np.random.default_rng(seed)) for seed in range(500)]
    assert max(d.gap for d in draws) == 50


def test_pair_sampler_errors():
    with pytest.raises(ValueError, match="max_gap"):
        PairSampler([np.arange(5)], max_gap=0)
    with pytest.raises(ValueError, match="two valid frames"):
        PairSampler([np.array([0, 10])], max_gap=5)


def test_global_batches_are_split_into_contiguous_shards():
    single = list(GlobalBatchSampler(epoch=2, iterations=3, batch_size=4))
    shards = [list(GlobalBatchSampler(2, 3, 4, rank=r, world_size=2)) for r in range(2)]
    for t in range(3):
        assert shards[0][t] + shards[1][t] == single[t] == [(2, 4 * t + k) for k in range(4)]
    assert list(GlobalBatchSampler(2, 3, 4, start=2)) == single[2:]
    with pytest.raises(ValueError, match="divisible"):
        GlobalBatchSampler(0, 3, 5, rank=0, world_size=2)


# ------------------------------------------------------------------------------------------------- items


def _dataset(tmp_path, sequences, **settings):
    directory = curate(sequences, TINY_CROP, tmp_path, progress=False)
    defaults = dict(exemplar_size=31, instance_size=63, score_size=9, total_stride=4, radius=4)
    return PairDataset(load_curated(directory)[1], PairSettings(**{**defaults, **settings}), max_gap=3, seed=5)


def test_pair_items_without_augmentation(tmp_path, sequences):
    dataset = _dataset(tmp_path, sequences)
    item = dataset[(0, 0)]
    assert item["exemplar"].shape == (3, 31, 31) and item["instance"].shape == (3, 63, 63)
    assert item["exemplar"].dtype == torch.float32 and 0 <= item["instance"].min() and item["instance"].max() <= 255
    assert item["label"].shape == (1, 9, 9)
    assert torch.nonzero(item["label"][0] > 0).tolist() == [[3, 4], [4, 3], [4, 4], [4, 5], [5, 4]]
    assert 1 <= int(item["gap"]) <= 3
    box = item["instance_box"].numpy()
    np.testing.assert_allclose(box[:2] + box[2:] / 2, [31.5, 31.5], atol=1e-4)


def test_pair_items_are_deterministic_per_epoch_and_index(tmp_path, sequences):
    augment = BranchAugmentation(stretch=0.1, shift=4, color=0.2, blur_probability=0.5)
    dataset = _dataset(tmp_path, sequences, instance_augment=augment, exemplar_augment=augment, grayscale=0.5)
    first, again, other = dataset[(1, 7)], dataset[(1, 7)], dataset[(2, 7)]
    for key in first:
        torch.testing.assert_close(first[key], again[key], rtol=0, atol=0)
    assert not torch.equal(first["instance"], other["instance"])
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=GlobalBatchSampler(1, 2, 4), num_workers=2)
    batches = list(loader)
    torch.testing.assert_close(batches[1]["instance"][3], first["instance"], rtol=0, atol=0)


def test_label_follows_the_translated_target(tmp_path, sequences):
    shift = BranchAugmentation(shift=8)
    dataset = _dataset(tmp_path, sequences, instance_augment=shift, radius=0)
    for index in range(10):
        item = dataset[(0, index)]
        box = item["instance_box"].numpy()
        expected = (box[:2] + box[2:] / 2 - 31.5) / 4 + 4  # map position of the target centre
        peak = torch.nonzero(item["label"][0] > 0)
        if len(peak):  # radius 0: positive only where the target centre falls on a cell
            np.testing.assert_allclose(peak[0].numpy()[::-1], expected, atol=1e-4)
        gaussian = _dataset(tmp_path, sequences, instance_augment=shift, label="gaussian")
        label = gaussian[(0, index)]["label"][0].numpy()
        y, x = np.unravel_index(np.argmax(label), label.shape)
        assert abs(x - expected[0]) <= 0.5 + 1e-6 and abs(y - expected[1]) <= 0.5 + 1e-6


def test_dcfnet_items_reproduce_the_dcfnet_label(tmp_path, sequences):
    dcfnet = pytest.importorskip("siamtrack.models.dcfnet")
    crop = CropSettings(mode="stretched", context=2.0, context_size=125, crop_size=141)
    directory = curate(sequences, crop, tmp_path, progress=False)
    settings = PairSettings(
        exemplar_size=125,
        instance_size=125,
        score_size=125,
        total_stride=1,
        label="gaussian",
        sigma_factor=0.1,
        origin="corner",
        input_mean=dcfnet.DCFNET_MEAN_RGB,
    )
    dataset = PairDataset(load_curated(directory)[1], settings, max_gap=None, seed=0)
    item = dataset[(0, 3)]
    expected = dcfnet.DCFNet().label
    np.testing.assert_allclose(item["label"][0].numpy(), expected.numpy(), atol=2e-6)
    assert item["exemplar"].mean() < 60  # mean-subtracted input
