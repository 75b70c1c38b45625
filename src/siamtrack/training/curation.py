"""Curation: crop every training frame once, centred on its target, into a cache of small JPEGs.

Reading random frames out of long H.264 videos is slow; training reads the curated crops instead (as
SiamFC's curated ILSVRC-VID does). Each frame with a valid box becomes a ``crop_size`` square JPEG in
which the target-with-context window measures ``context_size`` pixels, so that training crops are cut from
its centre at the right scale (with a margin for stretch/translation augmentation).

Layout of a curated directory (``<cache_dir>/<fingerprint>``; the fingerprint hashes the crop settings
and every sequence's identity and ground truth)::

    manifest.json                  written last: the settings and the list of curated sequences
    <dataset>-<sequence>/000017.jpg   frame 17 of that sequence (0-based index in the sequence)
    <dataset>-<sequence>/index.json   written when the sequence is complete: frames, boxes, skipped frames

Curation is resumable: sequences whose ``index.json`` exists are kept, unfinished ones are redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from siamtrack.data.sequence import Sequence
from siamtrack.geometry import box_to_center
from siamtrack.imaging import crop_window, window_box
from siamtrack.atomic_files import write_text_atomically

FORMAT_VERSION = 1
DEFAULT_CACHE_DIR = "~/.cache/siamtrack/curated"


@dataclass(frozen=True)
class CropSettings:
    """How a frame is cropped.

    Attributes:
        mode: ``"square"`` (SiamFC): a square window of side ``sqrt((w + c(w + h)) (h + c(w + h)))``;
            ``"stretched"`` (DCFNet): a ``(1 + c) w x (1 + c) h`` window (the target's aspect ratio is lost).
        context: ``c`` above: SiamFC's context amount 0.5; DCFNet's padding 2.
        context_size: side, in crop pixels, of the target-with-context window (SiamFC's exemplar size 127).
        crop_size: side of the curated crop (>= every training crop, plus the augmentation margin).
        jpeg_quality: JPEG quality of the stored crops.
    """

    mode: str = "square"
    context: float = 0.5
    context_size: float = 127.0
    crop_size: int = 271
    jpeg_quality: int = 90

    def __post_init__(self):
        if self.mode not in ("square", "stretched"):
            raise ValueError(f"crop mode must be 'square' or 'stretched', got {self.mode!r}")
        if self.context < 0 or self.context_size <= 0 or self.crop_size <= 0:
            raise ValueError(f"invalid crop settings {self}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")

    def window(self, box) -> tuple[np.ndarray, np.ndarray]:
        """Centre ``(cx, cy)`` and size ``(w, h)``, in frame pixels, of the curated crop around ``box``."""
        cx, cy, w, h = box_to_center(np.asarray(box, dtype=np.float64))
        if self.mode == "square":
            pad = self.context * (w + h)
            side = np.sqrt((w + pad) * (h + pad))
            context_window = np.array([side, side])
        else:
            context_window = (1.0 + self.context) * np.array([w, h])
        return np.array([cx, cy]), context_window * (self.crop_size / self.context_size)


@dataclass
class CuratedSequence:
    """A curated sequence: ``frames[k]`` (index in the source sequence) is stored as ``path(k)`` and its target
    box in crop coordinates is ``boxes[k]``."""

    name: str
    directory: Path
    frames: np.ndarray
    boxes: np.ndarray

    def path(self, k: int) -> Path:
        return self.directory / f"{int(self.frames[k]):06d}.jpg"


def _sequence_key(sequence: Sequence) -> str:
    key = f"{sequence.dataset}-{sequence.name}" if sequence.dataset else sequence.name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)


def fingerprint(sequences: list[Sequence], settings: CropSettings) -> str:
    """A short hash of the crop settings and of every sequence's dataset, name, frame count, boxes and absent
    flags (not of file paths: the same data read from another folder shares the cache)."""
    digest = hashlib.sha256(json.dumps({"version": FORMAT_VERSION, "settings": asdict(settings)}).encode())
    for sequence in sequences:
        digest.update(json.dumps([sequence.dataset, sequence.name, len(sequence)]).encode())
        digest.update(np.ascontiguousarray(sequence.ground_truth, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(sequence.absent, dtype=bool).tobytes())
    return digest.hexdigest()[:16]


def _valid_frames(sequence: Sequence) -> tuple[list[int], dict[str, list[int]]]:
    boxes = sequence.ground_truth
    finite = np.isfinite(boxes).all(axis=1)
    positive = finite & (np.nan_to_num(boxes[:, 2]) > 0) & (np.nan_to_num(boxes[:, 3]) > 0)
    valid = positive & ~sequence.absent
    skipped = {
        "absent": np.flatnonzero(sequence.absent).tolist(),
        "no_box": np.flatnonzero(~finite & ~sequence.absent).tolist(),
        "empty_box": np.flatnonzero(finite & ~positive & ~sequence.absent).tolist(),
    }
    return np.flatnonzero(valid).tolist(), skipped


def curate_sequence(sequence: Sequence, directory: Path, settings: CropSettings) -> dict:
    """Curate one sequence into ``directory`` (skipped if its ``index.json`` exists); returns its index."""
    index_path = directory / "index.json"
    if index_path.exists():
        return json.loads(index_path.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    valid, skipped = _valid_frames(sequence)
    boxes = []
    for frame in valid:  # increasing order: sequential decoding for video sources
        image = sequence.frames[frame]
        box = sequence.ground_truth[frame]
        center, window = settings.window(box)
        crop = crop_window(image, center, window, settings.crop_size)
        path = directory / f"{frame:06d}.jpg"
        if not cv2.imwrite(
            str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, settings.jpeg_quality]
        ):
            raise OSError(f"{path}: could not write the curated crop of {sequence.frames.describe(frame)}")
        boxes.append(window_box(box, center, window, settings.crop_size).tolist())
    index = {
        "name": sequence.name,
        "dataset": sequence.dataset,
        "source_frames": len(sequence),
        "frames": valid,
        "boxes": boxes,
        "skipped": skipped,
    }
    write_text_atomically(index_path, json.dumps(index, indent=1))
    return index


def _curate_task(task):
    sequence, directory, settings = task
    curate_sequence(sequence, directory, settings)
    return directory.name


def curate(
    sequences: list[Sequence],
    settings: CropSettings,
    cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
    workers: int = 0,
    progress: bool = True,
) -> Path:
    """Curate ``sequences`` into ``<cache_dir>/<fingerprint>`` (resuming a previous run); returns that folder.

    ``workers > 0`` curates that many sequences in parallel processes. Sequences with fewer than two valid
    frames are listed under ``skipped_sequences`` in the manifest (no pair can be drawn from them).
    """
    if not sequences:
        raise ValueError("nothing to curate: the list of training sequences is empty")
    directory = Path(os.path.expanduser(os.fspath(cache_dir))) / fingerprint(sequences, settings)
    manifest_path = directory / "manifest.json"
    if manifest_path.exists():
        return directory
    keys = [_sequence_key(sequence) for sequence in sequences]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"training sequences with the same dataset and name: {duplicates}")
    directory.mkdir(parents=True, exist_ok=True)
    tasks = [(sequence, directory / key, settings) for sequence, key in zip(sequences, keys)]
    from siamtrack.progress import progress_bar  # tqdm: a line on a terminal, plain lines in a log

    bar = progress_bar(total=len(tasks), desc=f"curating into {directory}", unit="seq", disable=not progress)
    if workers > 0:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_curate_task, tasks):
                bar.update()
    else:
        for task in tasks:
            _curate_task(task)
            bar.update()
    bar.close()
    entries, skipped = [], []
    for key in keys:
        index = json.loads((directory / key / "index.json").read_text())
        (entries if len(index["frames"]) >= 2 else skipped).append(
            {"directory": key, "name": index["name"], "dataset": index["dataset"], "frames": len(index["frames"])}
        )
    if not entries:
        raise ValueError(f"{directory}: no training sequence has two valid frames")
    write_text_atomically(
        manifest_path,
        json.dumps(
            {
                "version": FORMAT_VERSION,
                "settings": asdict(settings),
                "sequences": entries,
                "skipped_sequences": skipped,
            },
            indent=1,
        ),
    )
    return directory


def load_curated(directory: str | os.PathLike) -> tuple[CropSettings, list[CuratedSequence]]:
    """Read a curated folder written by :func:`curate`: its crop settings and sequences."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: no curated data here (curation unfinished or wrong folder)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{manifest_path}: curated format version {manifest.get('version')}, "
            f"expected {FORMAT_VERSION}; curate again"
        )
    sequences = []
    for entry in manifest["sequences"]:
        index_path = directory / entry["directory"] / "index.json"
        index = json.loads(index_path.read_text())
        boxes = np.asarray(index["boxes"], dtype=np.float64).reshape(-1, 4)
        frames = np.asarray(index["frames"], dtype=np.int64)
        if len(frames) != len(boxes) or np.any(np.diff(frames) <= 0):
            raise ValueError(f"{index_path}: frames and boxes disagree or frames are not increasing")
        sequences.append(CuratedSequence(entry["name"], index_path.parent, frames, boxes))
    return CropSettings(**manifest["settings"]), sequences
