"""UAV123, UAV123@10fps and UAV20L (Mueller, Smith and Ghanem, "A Benchmark and Simulator for UAV
Tracking", ECCV 2016).

Two layouts are read:

* **official**: ``<root>/data_seq/<UAV123|UAV123_10fps>/<video>/000001.jpg ...`` and
  ``<root>/anno/<UAV123|UAV123_10fps|UAV20L>/<seq>.txt``, with the optional per-sequence attribute files
  ``<root>/anno/<variant>/att/<seq>.txt`` (12 comma-separated 0/1 flags in the order of
  :data:`ATTRIBUTE_NAMES`). Several sequences of UAV123 are sub-ranges of one video (``car16_1`` is
  frames 1-415 of ``car16``); the ranges come from the benchmark's ``configSeqs`` (:data:`UAV123_RANGES`).
* **per sequence**: ``<root>/<seq>/img/<number>.jpg`` and ``<root>/<seq>/<seq>.txt`` (as in
  ``shared/data/benchmarks/UAV123_10fps``): the frames keep their numbers in the original video, so
  ``car16_2`` at 10 fps starts at ``000139.jpg``; a sequence listed in the tables must cover its range.

Ground truth: 1-based ``x, y, w, h`` separated by commas; ``NaN`` rows mean the target is absent (out of view
or fully occluded).

UAV123@10fps keeps every third frame of the 30 fps videos, so frame ``f`` at 30 fps is frame
``(f - 1) // 3 + 1`` at 10 fps; every range of the 30 fps table starts and ends on a frame ``1 mod 3``,
and this mapping reproduces all 123 ranges of the 10 fps dataset's own ``configSeqs.m`` (a golden fixture in
``tests/data/test_data_tables.py``) and the lengths of the shared 10 fps sequences.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from siamtrack.data.annotations import (
    DatasetError,
    list_numbered_frames,
    numbered_frames,
    read_annotation,
    read_box_file,
    require_file,
)
from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.geometry import one_based_to_zero_based

# name:first-last frame (30 fps numbering). The video folder is the name without a trailing "_<k>".
_UAV123_TABLE = """
bike1:1-3085 bike2:1-553 bike3:1-433 bird1_1:1-253 bird1_2:775-1477 bird1_3:1573-2437 boat1:1-901
boat2:1-799 boat3:1-901 boat4:1-553 boat5:1-505 boat6:1-805 boat7:1-535 boat8:1-685 boat9:1-1399
building1:1-469 building2:1-577 building3:1-829 building4:1-787 building5:1-481 car1_1:1-751
car1_2:751-1627 car1_3:1627-2629 car2:1-1321 car3:1-1717 car4:1-1345 car5:1-745 car6_1:1-487
car6_2:487-1807 car6_3:1807-2953 car6_4:2953-3925 car6_5:3925-4861 car7:1-1033 car8_1:1-1357
car8_2:1357-2575 car9:1-1879 car10:1-1405 car11:1-337 car12:1-499 car13:1-415 car14:1-1327 car15:1-469
car16_1:1-415 car16_2:415-1993 car17:1-1057 car18:1-1207 group1_1:1-1333 group1_2:1333-2515
group1_3:2515-3925 group1_4:3925-4873 group2_1:1-907 group2_2:907-1771 group2_3:1771-2683
group3_1:1-1567 group3_2:1567-2827 group3_3:2827-4369 group3_4:4369-5527 person1:1-799
person2_1:1-1189 person2_2:1189-2623 person3:1-643 person4_1:1-1501 person4_2:1501-2743
person5_1:1-877 person5_2:877-2101 person6:1-901 person7_1:1-1249 person7_2:1249-2065
person8_1:1-1075 person8_2:1075-1525 person9:1-661 person10:1-1021 person11:1-721 person12_1:1-601
person12_2:601-1621 person13:1-883 person14_1:1-847 person14_2:847-1813 person14_3:1813-2923
person15:1-1339 person16:1-1147 person17_1:1-1501 person17_2:1501-2347 person18:1-1393
person19_1:1-1243 person19_2:1243-2791 person19_3:2791-4357 person20:1-1783 person21:1-487
person22:1-199 person23:1-397 truck1:1-463 truck2:1-385 truck3:1-535 truck4_1:1-577 truck4_2:577-1261
uav1_1:1-1555 uav1_2:1555-2377 uav1_3:2473-3469 uav2:1-133 uav3:1-265 uav4:1-157 uav5:1-139 uav6:1-109
uav7:1-373 uav8:1-301 wakeboard1:1-421 wakeboard2:1-733 wakeboard3:1-823 wakeboard4:1-697
wakeboard5:1-1675 wakeboard6:1-1165 wakeboard7:1-199 wakeboard8:1-1543 wakeboard9:1-355
wakeboard10:1-469 car1_s:1-1475 car2_s:1-320 car3_s:1-1300 car4_s:1-830 person1_s:1-1600
person2_s:1-250 person3_s:1-505
"""
_UAV20L_TABLE = """
bike1:1-3085 bird1:1-2437 car1:1-2629 car3:1-1717 car6:1-4861 car8:1-2575 car9:1-1879 car16:1-1993
group1:1-4873 group2:1-2683 group3:1-5527 person2:1-2623 person4:1-2743 person5:1-2101 person7:1-2065
person14:1-2923 person17:1-2347 person19:1-4357 person20:1-1783 uav1:1-3469
"""


def _parse_table(text: str) -> dict[str, tuple[str, int, int]]:
    table = {}
    for item in text.split():
        name, _, frames = item.partition(":")
        first, _, last = frames.partition("-")
        table[name] = (re.sub(r"_\d+$", "", name), int(first), int(last))
    return table


def _to_10fps(frame: int) -> int:
    return (frame - 1) // 3 + 1


UAV123_RANGES = _parse_table(_UAV123_TABLE)
UAV20L_RANGES = _parse_table(_UAV20L_TABLE)
UAV123_10FPS_RANGES = {
    name: (video, _to_10fps(first), _to_10fps(last)) for name, (video, first, last) in UAV123_RANGES.items()
}

# variant: (name -> (video, first, last), frames folder under data_seq/, annotation folder under anno/)
VARIANTS = {
    "uav123": (UAV123_RANGES, "UAV123", "UAV123"),
    "uav123_10fps": (UAV123_10FPS_RANGES, "UAV123_10fps", "UAV123_10fps"),
    "uav20l": (UAV20L_RANGES, "UAV123", "UAV20L"),
}

# The 12 attributes in the order of the official att/<seq>.txt files.
ATTRIBUTE_NAMES = ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB")


def read_attribute_file(path: str | os.PathLike) -> tuple[str, ...]:
    """The attribute names set in an official ``att/<seq>.txt`` file (12 flags)."""
    flags = read_annotation(path, columns=len(ATTRIBUTE_NAMES))
    if len(flags) != 1 or not np.isin(flags, (0.0, 1.0)).all():
        raise DatasetError(f"{path}: expected one line of {len(ATTRIBUTE_NAMES)} 0/1 flags")
    return tuple(name for name, flag in zip(ATTRIBUTE_NAMES, flags[0]) if flag)


def read_uav_sequence(root: str | os.PathLike, name: str, variant: str = "uav123_10fps") -> Sequence:
    """Read sequence ``name`` of a UAV123-family benchmark at ``root`` (either layout)."""
    root = Path(root)
    ranges, frames_folder, annotation_folder = _variant(variant)
    dataset = {"uav123": "UAV123", "uav123_10fps": "UAV123_10fps", "uav20l": "UAV20L"}[variant]
    if (root / "data_seq").is_dir():
        if name not in ranges:
            raise DatasetError(f"{root}: {name!r} is not a {dataset} sequence")
        video, first, last = ranges[name]
        annotation_path = require_file(
            root / "anno" / annotation_folder / f"{name}.txt", f"{dataset} ground-truth file"
        )
        boxes = one_based_to_zero_based(read_box_file(annotation_path, allow_nan=True))
        if len(boxes) != last - first + 1:
            raise DatasetError(
                f"{annotation_path}: {len(boxes)} rows but {name} is frames {first}-{last} "
                f"({last - first + 1} frames) of {video}"
            )
        paths = numbered_frames(root / "data_seq" / frames_folder / video, range(first, last + 1), "%06d.jpg")
        attribute_path = root / "anno" / annotation_folder / "att" / f"{name}.txt"
        attributes = read_attribute_file(attribute_path) if attribute_path.is_file() else ()
    else:
        sequence_dir = root / name
        annotation_path = require_file(sequence_dir / f"{name}.txt", f"{dataset} ground-truth file")
        boxes = one_based_to_zero_based(read_box_file(annotation_path, allow_nan=True))
        paths, numbers = list_numbered_frames(sequence_dir / "img")
        first, last = numbers[0], numbers[-1]
        if name in ranges and ranges[name][1:] != (first, last):
            raise DatasetError(
                f"{sequence_dir / 'img'}: frames {first}-{last}, but {dataset}'s {name} is "
                f"frames {ranges[name][1]}-{ranges[name][2]}"
            )
        if len(paths) != len(boxes):
            raise DatasetError(
                f"{annotation_path}: {len(boxes)} ground-truth rows for {len(paths)} frames in {sequence_dir / 'img'}"
            )
        attributes = ()
    return Sequence(
        name=name,
        frames=ImageFiles(paths),
        ground_truth=boxes,
        attributes=attributes,
        start_frame=first,
        dataset=dataset,
    )


def read_uav123(root: str | os.PathLike, variant: str = "uav123", names: list[str] | None = None) -> list[Sequence]:
    """Read a UAV123-family benchmark; ``variant`` is ``uav123``, ``uav123_10fps`` or ``uav20l``.

    Official layout: every sequence of the variant's table (or ``names``). Per-sequence layout: every
    folder holding ``img/`` (or ``names``).
    """
    root = Path(root)
    ranges, _, _ = _variant(variant)
    if not root.is_dir():
        raise DatasetError(f"{root}: UAV123 root folder not found")
    if names is None:
        if (root / "data_seq").is_dir():
            names = list(ranges)
        else:
            names = sorted(entry.name for entry in root.iterdir() if (entry / "img").is_dir())
            if not names:
                raise DatasetError(f"{root}: neither data_seq/ nor <seq>/img/ folders found")
    return [read_uav_sequence(root, name, variant) for name in names]


def _variant(variant: str):
    if variant not in VARIANTS:
        raise DatasetError(f"unknown UAV123 variant {variant!r}; expected one of {sorted(VARIANTS)}")
    return VARIANTS[variant]
