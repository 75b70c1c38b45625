"""VOT (Kristan et al., "The Visual Object Tracking VOT20xx challenge results") and VOT-TIR sequences.

Two layouts are read:

* **vot-toolkit**: ``<seq>/sequence`` (``key=value`` lines; ``channels.color=color/%08d.jpg``),
  ``<seq>/color/00000001.jpg ...``, ``<seq>/groundtruth.txt``, per-frame ``<seq>/<tag>.tag`` files and
  ``<seq>/<name>.value`` files;
* **legacy flat** (VOT2013-2016, VOT-TIR2015/2016): ``<seq>/00000001.jpg`` (or ``.png``),
  ``<seq>/groundtruth.txt``, per-frame ``<seq>/<tag>.tag`` or ``<tag>.label`` files.

A dataset root may hold ``list.txt`` (one sequence name per line); without it every sub-folder with a
``groundtruth.txt`` is a sequence.

Ground truth: one region per line, either a rectangle ``x, y, w, h`` or a polygon ``x1, y1, ..., xk, yk``
(k >= 3); all lines of one file have the same kind. Polygons are kept in ``Sequence.polygons`` and
``ground_truth`` is their axis-aligned min/max box (:func:`siamtrack.geometry.polygon_to_box`).
Coordinates are kept as the file gives them (VOT regions are image coordinates with the first pixel's corner
at 0, as the vot-toolkit draws them). NaN rows (VOT-LT) mean the target is absent.

Tag files shorter than the sequence are padded with 0, as the vot-toolkit does; ``*.value`` files must have
one value per frame and go to ``metadata["values"]``. Grayscale frames (VOT-TIR) come back as RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamtrack.data.annotations import (
    DatasetError,
    check_box_sizes,
    list_numbered_frames,
    numbered_frames,
    read_annotation,
    read_flags,
    require_file,
)
from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.geometry import polygon_to_box


def read_sequence_file(path: str | os.PathLike) -> dict[str, str]:
    """The ``key=value`` lines of a vot-toolkit ``sequence`` file (blank lines and ``#`` comments ignored)."""
    metadata = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, separator, value = line.partition("=")
            if not separator or not key.strip():
                raise DatasetError(f"{path}:{number}: expected 'key=value', found {line!r}")
            metadata[key.strip()] = value.strip()
    return metadata


def read_vot_regions(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a VOT ground-truth file: returns ``(boxes, polygons)``; ``polygons`` is None for rectangles."""
    path = os.fspath(path)
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip()
    if head[:1] in (b"m", b"M"):
        raise DatasetError(
            f"{path}:1: segmentation-mask regions (VOT2020+) are not supported; "
            "use the sequence's polygon/rectangle ground truth"
        )
    regions = read_annotation(path, columns=None, allow_nan=True)
    width = regions.shape[1]
    if width == 4:
        check_box_sizes(regions, path, allow_zero=True)
        return regions, None
    if width >= 6 and width % 2 == 0:
        return polygon_to_box(regions), regions
    raise DatasetError(
        f"{path}:1: a VOT region has 4 (rectangle) or an even number >= 6 (polygon) of values, found {width}"
    )


def read_vot_sequence(sequence_dir: str | os.PathLike, channel: str = "color", dataset: str = "VOT") -> Sequence:
    """Read one VOT sequence folder (vot-toolkit or legacy layout, see the module docstring)."""
    sequence_dir = Path(sequence_dir)
    metadata: dict = {}
    description = sequence_dir / "sequence"
    if description.is_file():
        fields = read_sequence_file(description)
        metadata.update(fields)
        pattern = fields.get(f"channels.{channel}")
        if pattern is None:
            if channel != "color" or any(key.startswith("channels.") for key in fields):
                raise DatasetError(
                    f"{description}: no 'channels.{channel}' entry "
                    f"(channels: {[k[9:] for k in fields if k.startswith('channels.')]})"
                )
            pattern = "color/%08d.jpg"
        annotation_path = sequence_dir / fields.get("groundtruth", "groundtruth.txt")
    else:
        pattern = None
        annotation_path = sequence_dir / "groundtruth.txt"
    boxes, polygons = read_vot_regions(require_file(annotation_path, "VOT ground-truth file"))
    length = len(boxes)

    if pattern is not None:
        frame_dir = (sequence_dir / pattern).parent
        paths = numbered_frames(frame_dir, range(1, length + 1), Path(pattern).name)
        surplus = _numbered_count(frame_dir) - length
    else:
        paths, numbers = list_numbered_frames(sequence_dir)
        if numbers[0] != 1:
            raise DatasetError(f"{paths[0]}: VOT frames are numbered from 1")
        surplus = len(paths) - length
    if surplus:
        raise DatasetError(f"{annotation_path}: {length} ground-truth rows for {length + surplus} frames")

    tags = {}
    for entry in sorted(os.listdir(sequence_dir)):
        stem, extension = os.path.splitext(entry)
        if extension in (".tag", ".label"):
            if stem in tags:
                raise DatasetError(f"{sequence_dir / entry}: tag {stem!r} given twice (.tag and .label)")
            tags[stem] = read_flags(sequence_dir / entry, length, pad=True)
        elif extension == ".value":
            values = read_annotation(sequence_dir / entry, columns=1, allow_nan=True)[:, 0]
            if len(values) != length:
                raise DatasetError(f"{sequence_dir / entry}: {len(values)} values for {length} frames")
            metadata.setdefault("values", {})[stem] = values
        elif entry.startswith("groundtruth") and entry.endswith(".txt") and sequence_dir / entry != annotation_path:
            metadata.setdefault("other_ground_truth", []).append(str(sequence_dir / entry))
    if "fps" in metadata:
        try:
            metadata["fps"] = float(metadata["fps"])
        except ValueError:
            raise DatasetError(f"{description}: fps={metadata['fps']!r} is not a number") from None
    return Sequence(
        name=sequence_dir.name,
        frames=ImageFiles(paths),
        ground_truth=boxes,
        polygons=polygons,
        tags=tags,
        start_frame=1,
        dataset=dataset,
        metadata=metadata,
    )


def read_vot(root: str | os.PathLike, channel: str = "color", dataset: str = "VOT") -> list[Sequence]:
    """Read every sequence of a VOT dataset root (``list.txt`` order where present, else sorted folders)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: VOT root folder not found")
    list_path = root / "list.txt"
    if list_path.is_file():
        names = [line.strip() for line in list_path.read_text(encoding="utf-8", errors="replace").splitlines()]
        names = [name for name in names if name]
        for number, name in enumerate(names, start=1):
            if not (root / name).is_dir():
                raise DatasetError(f"{list_path}:{number}: sequence folder {name!r} not found")
    else:
        names = sorted(entry.name for entry in root.iterdir() if (entry / "groundtruth.txt").is_file())
    if not names:
        raise DatasetError(f"{root}: no VOT sequences (no list.txt and no <seq>/groundtruth.txt)")
    return [read_vot_sequence(root / name, channel=channel, dataset=dataset) for name in names]


def _numbered_count(directory: Path) -> int:
    return sum(1 for entry in os.listdir(directory) if entry[:1].isdigit())
