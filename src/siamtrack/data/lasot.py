"""LaSOT (Fan et al., "LaSOT: A High-quality Benchmark for Large-scale Single Object Tracking", CVPR 2019).

Layout: ``<root>/<class>/<class>-<k>/img/00000001.jpg ...`` with ``groundtruth.txt`` (1-based
``x, y, w, h``, comma separated), ``full_occlusion.txt`` and ``out_of_view.txt`` (one line of comma-separated
0/1 flags, one per frame) and ``nlp.txt`` (a sentence describing the target). Frames where the target is
fully occluded or out of view are ``absent`` (their boxes are kept as given; zero-size boxes are allowed
there). The official test split lists 280 sequence names in ``testing_set.txt``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamtrack.data.annotations import (
    DatasetError,
    numbered_frames,
    read_box_file,
    read_flags,
    require_file,
)
from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.geometry import one_based_to_zero_based


def read_lasot_sequence(sequence_dir: str | os.PathLike) -> Sequence:
    """Read one LaSOT sequence folder ``<root>/<class>/<class>-<k>``."""
    sequence_dir = Path(sequence_dir)
    annotation_path = require_file(sequence_dir / "groundtruth.txt", "LaSOT ground-truth file")
    boxes = read_box_file(annotation_path, allow_zero=True)
    length = len(boxes)
    tags = {}
    for flag_name in ("full_occlusion", "out_of_view"):
        path = require_file(sequence_dir / f"{flag_name}.txt", "LaSOT flag file")
        tags[flag_name] = read_flags(path, length)
    absent = tags["full_occlusion"] | tags["out_of_view"]
    zero = (boxes[:, 2:] <= 0).any(axis=1) & ~absent
    if zero.any():
        row = int(np.nonzero(zero)[0][0])
        raise DatasetError(f"{annotation_path}:{row + 1}: zero-size box on a frame where the target is visible")
    paths = numbered_frames(sequence_dir / "img", range(1, length + 1), "%08d.jpg")
    metadata = {"class": sequence_dir.parent.name}
    nlp_path = sequence_dir / "nlp.txt"
    if nlp_path.is_file():
        metadata["nlp"] = nlp_path.read_text(encoding="utf-8", errors="replace").strip()
    return Sequence(
        name=sequence_dir.name,
        frames=ImageFiles(paths),
        ground_truth=one_based_to_zero_based(boxes),
        absent=absent,
        tags=tags,
        start_frame=1,
        dataset="LaSOT",
        metadata=metadata,
    )


def read_lasot(
    root: str | os.PathLike, names: list[str] | None = None, split_file: str | os.PathLike | None = None
) -> list[Sequence]:
    """Read LaSOT sequences: ``names`` (``["airplane-1", ...]``), the names listed in ``split_file``
    (e.g. ``testing_set.txt``), or else every ``<class>/<class>-<k>`` folder under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: LaSOT root folder not found")
    if split_file is not None:
        if names is not None:
            raise DatasetError("give either names or split_file, not both")
        names = [line.strip() for line in Path(split_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    if names is None:
        names = sorted(
            sequence.name
            for category in root.iterdir()
            if category.is_dir()
            for sequence in category.iterdir()
            if (sequence / "groundtruth.txt").is_file()
        )
        if not names:
            raise DatasetError(f"{root}: no LaSOT sequences (<class>/<class>-<k>/groundtruth.txt)")
    sequences = []
    for name in names:
        category, separator, _ = name.rpartition("-")
        if not separator or not category:
            raise DatasetError(f"LaSOT sequence name {name!r} is not '<class>-<number>'")
        sequences.append(read_lasot_sequence(root / category / name))
    return sequences
