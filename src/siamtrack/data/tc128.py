"""Temple Color 128 (Liang, Blasch and Ling, "Encoding Color Information for Visual Tracking: Algorithms and
Benchmark", TIP 2015).

Layout: ``<root>/<Seq>/img/0001.jpg ...``, ``<root>/<Seq>/<Seq>_gt.txt`` (1-based ``x, y, w, h``) and
``<root>/<Seq>/<Seq>_frames.txt`` (one line ``first, last``: the annotated frame range, which may start after
frame 1 and end before the folder's last image).
"""

from __future__ import annotations

import os
from pathlib import Path

from siamtrack.data.annotations import DatasetError, numbered_frames, read_annotation, read_box_file, require_file
from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.geometry import one_based_to_zero_based


def read_tc128_sequence(sequence_dir: str | os.PathLike) -> Sequence:
    """Read one TC128 sequence folder."""
    sequence_dir = Path(sequence_dir)
    name = sequence_dir.name
    annotation_path = require_file(sequence_dir / f"{name}_gt.txt", "TC128 ground-truth file")
    range_path = require_file(sequence_dir / f"{name}_frames.txt", "TC128 frame-range file")
    frame_range = read_annotation(range_path, columns=2)
    if len(frame_range) != 1:
        raise DatasetError(f"{range_path}:2: expected a single 'first,last' line, found {len(frame_range)} lines")
    first, last = frame_range[0]
    if first != int(first) or last != int(last) or not 1 <= first <= last:
        raise DatasetError(f"{range_path}:1: invalid frame range {first:g},{last:g}")
    first, last = int(first), int(last)
    boxes = read_box_file(annotation_path)
    if len(boxes) != last - first + 1:
        raise DatasetError(
            f"{annotation_path}: {len(boxes)} ground-truth rows for frames {first}-{last} "
            f"({last - first + 1} frames, from {range_path.name})"
        )
    paths = numbered_frames(sequence_dir / "img", range(first, last + 1), "%04d.jpg")
    return Sequence(
        name=name,
        frames=ImageFiles(paths),
        ground_truth=one_based_to_zero_based(boxes),
        start_frame=first,
        dataset="TC128",
    )


def read_tc128(root: str | os.PathLike) -> list[Sequence]:
    """Every ``<Seq>/<Seq>_gt.txt`` sequence under ``root``, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: TC128 root folder not found")
    names = sorted(entry.name for entry in root.iterdir() if (entry / f"{entry.name}_gt.txt").is_file())
    if not names:
        raise DatasetError(f"{root}: no TC128 sequences (<Seq>/<Seq>_gt.txt)")
    return [read_tc128_sequence(root / name) for name in names]
