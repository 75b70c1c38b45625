"""GOT-10k (Huang, Zhao and Huang, "GOT-10k: A Large High-Diversity Benchmark for Generic Object Tracking
in the Wild", TPAMI 2019).

Layout: ``<root>/<subset>/list.txt`` (sequence names) and ``<root>/<subset>/<name>/00000001.jpg ...`` with
``groundtruth.txt`` (``x, y, w, h`` comma separated, taken as 0-based as by the GOT-10k toolkit),
``absence.label`` (1 = target absent), ``cover.label`` (visible fraction in 0..8, i.e. eighths),
``cut_by_image.label`` (1 = box cut by the image border) and ``meta_info.ini`` (``key: value`` lines under a
``[METAINFO]`` header). The test subset gives only the first frame's box (and no labels): its
``ground_truth`` is that box followed by NaN rows, ``absent`` is all False (unknown, not absent) and
``metadata["first_box_only"]`` is True.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamtrack.data.annotations import (
    DatasetError,
    list_numbered_frames,
    read_annotation,
    read_box_file,
    read_flags,
    require_file,
)
from siamtrack.data.sequence import ImageFiles, Sequence

SUBSETS = ("train", "val", "test")


def read_meta_info(path: str | os.PathLike) -> dict[str, str]:
    """The ``key: value`` lines of a GOT-10k ``meta_info.ini`` (the ``[METAINFO]`` header is skipped)."""
    meta = {}
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        key, separator, value = line.partition(":")
        if not separator:
            raise DatasetError(f"{path}:{number}: expected 'key: value', found {line!r}")
        meta[key.strip()] = value.strip()
    return meta


def read_got10k_sequence(sequence_dir: str | os.PathLike, first_box_only: bool = False) -> Sequence:
    """Read one GOT-10k sequence folder; ``first_box_only`` for the test subset."""
    sequence_dir = Path(sequence_dir)
    annotation_path = require_file(sequence_dir / "groundtruth.txt", "GOT-10k ground-truth file")
    boxes = read_box_file(annotation_path, allow_zero=True)
    paths, numbers = list_numbered_frames(sequence_dir)
    if numbers[0] != 1:
        raise DatasetError(f"{paths[0]}: GOT-10k frames are numbered from 1")
    length = len(paths)
    metadata: dict = {}
    meta_path = sequence_dir / "meta_info.ini"
    if meta_path.is_file():
        metadata.update(read_meta_info(meta_path))
    if first_box_only:
        if len(boxes) != 1:
            raise DatasetError(
                f"{annotation_path}: {len(boxes)} rows; a GOT-10k test sequence has only the first frame's box"
            )
        ground_truth = np.full((length, 4), np.nan)
        ground_truth[0] = boxes[0]
        metadata["first_box_only"] = True
        return Sequence(
            name=sequence_dir.name,
            frames=ImageFiles(paths),
            ground_truth=ground_truth,
            absent=np.zeros(length, dtype=bool),
            start_frame=1,
            dataset="GOT-10k",
            metadata=metadata,
        )
    if len(boxes) != length:
        raise DatasetError(f"{annotation_path}: {len(boxes)} ground-truth rows for {length} frames")
    tags = {}
    for label in ("absence", "cut_by_image"):
        path = sequence_dir / f"{label}.label"
        if path.is_file():
            tags[label] = read_flags(path, length)
    cover_path = sequence_dir / "cover.label"
    if cover_path.is_file():
        cover = read_annotation(cover_path, columns=1)[:, 0]
        bad = (cover != np.round(cover)) | (cover < 0) | (cover > 8)
        if bad.any():
            row = int(np.nonzero(bad)[0][0])
            raise DatasetError(f"{cover_path}:{row + 1}: cover {cover[row]:g} is not an integer in 0..8")
        if len(cover) != length:
            raise DatasetError(f"{cover_path}: {len(cover)} values for {length} frames")
        metadata["cover"] = cover.astype(np.int64)
    absent = tags.get("absence")
    if absent is None:
        absent = np.zeros(length, dtype=bool)
    zero = (boxes[:, 2:] <= 0).any(axis=1) & ~absent
    if zero.any():
        row = int(np.nonzero(zero)[0][0])
        raise DatasetError(f"{annotation_path}:{row + 1}: zero-size box on a frame where the target is present")
    return Sequence(
        name=sequence_dir.name,
        frames=ImageFiles(paths),
        ground_truth=boxes,
        absent=absent,
        tags=tags,
        start_frame=1,
        dataset="GOT-10k",
        metadata=metadata,
    )


def read_got10k(root: str | os.PathLike, subset: str = "val") -> list[Sequence]:
    """Read the sequences of ``<root>/<subset>/list.txt`` (``subset``: train, val or test)."""
    if subset not in SUBSETS:
        raise DatasetError(f"unknown GOT-10k subset {subset!r}; expected one of {SUBSETS}")
    subset_dir = Path(root) / subset
    list_path = require_file(subset_dir / "list.txt", "GOT-10k sequence list")
    names = [line.strip() for line in list_path.read_text(encoding="utf-8", errors="replace").splitlines()]
    sequences = []
    for number, name in enumerate(names, start=1):
        if not name:
            continue
        if not (subset_dir / name).is_dir():
            raise DatasetError(f"{list_path}:{number}: sequence folder {name!r} not found")
        sequences.append(read_got10k_sequence(subset_dir / name, first_box_only=subset == "test"))
    if not sequences:
        raise DatasetError(f"{list_path}: lists no sequences")
    return sequences
