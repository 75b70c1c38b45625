"""ILSVRC2015-VID (Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge", IJCV 2015), the
training videos of SiamFC and its descendants.

Layout: ``<root>/Data/VID/<split>/<...>/<snippet>/000000.JPEG ...`` and the matching
``<root>/Annotations/VID/<split>/<...>/<snippet>/000000.xml`` (one file per frame, listing ``<object>``
elements with ``trackid``, ``name`` (WordNet id), ``bndbox`` (``xmin, ymin, xmax, ymax``) and
``occluded``/``generated`` flags). The train split nests snippets one folder deeper
(``ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000``).

Each track id of a snippet becomes one :class:`Sequence` named ``<snippet>.<trackid>``, spanning the track's
first to last annotated frame; frames in between where the track is not annotated get a NaN row (absent).
Boxes: ``xmin..xmax`` are inclusive pixel indices, so ``w = xmax - xmin + 1`` (the got10k convention).
The XML is parsed with the standard library (expat >= 2.4 refuses entity-expansion bombs).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from siamtrack.data.annotations import DatasetError, numbered_frames
from siamtrack.data.sequence import ImageFiles, Sequence

SPLITS = ("train", "val")


def _text(element: ElementTree.Element, tag: str, path: Path) -> str:
    child = element.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise DatasetError(f"{path}: <{element.tag}> lacks <{tag}>")
    return child.text.strip()


def _number(element: ElementTree.Element, tag: str, path: Path) -> float:
    text = _text(element, tag, path)
    try:
        return float(text)
    except ValueError:
        raise DatasetError(f"{path}: <{tag}> is {text!r}, not a number") from None


def read_vid_annotation(path: str | os.PathLike) -> list[dict]:
    """The objects of one VID frame annotation: ``[{"trackid", "class", "box", "occluded", "generated"}]``."""
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        raise DatasetError(f"{path}: cannot parse VID annotation ({error})") from None
    objects = []
    for element in root.findall("object"):
        box_element = element.find("bndbox")
        if box_element is None:
            raise DatasetError(f"{path}: <object> lacks <bndbox>")
        x1, y1, x2, y2 = (_number(box_element, tag, path) for tag in ("xmin", "ymin", "xmax", "ymax"))
        if x2 < x1 or y2 < y1:
            raise DatasetError(f"{path}: box xmin={x1:g} ymin={y1:g} xmax={x2:g} ymax={y2:g} has negative size")
        objects.append(
            {
                "trackid": _text(element, "trackid", path),
                "class": _text(element, "name", path),
                "box": np.array([x1, y1, x2 - x1 + 1.0, y2 - y1 + 1.0]),
                "occluded": element.findtext("occluded", "0").strip() == "1",
                "generated": element.findtext("generated", "0").strip() == "1",
            }
        )
    return objects


def read_vid_snippet(
    annotation_dir: str | os.PathLike, frame_dir: str | os.PathLike, min_length: int = 2
) -> list[Sequence]:
    """One :class:`Sequence` per track id of one snippet (tracks with fewer than ``min_length`` annotated
    frames are dropped, as single boxes cannot make a training pair)."""
    annotation_dir, frame_dir = Path(annotation_dir), Path(frame_dir)
    try:
        files = sorted(entry for entry in os.listdir(annotation_dir) if entry.endswith(".xml"))
    except OSError as error:
        raise DatasetError(f"{annotation_dir}: cannot list VID annotations ({error.strerror})") from None
    if not files:
        raise DatasetError(f"{annotation_dir}: no VID annotation files")
    numbers = []
    for entry in files:
        stem = entry[:-4]
        if not stem.isdigit():
            raise DatasetError(f"{annotation_dir / entry}: VID annotation names are frame numbers")
        numbers.append(int(stem))
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise DatasetError(f"{annotation_dir}: annotation frame numbers are not consecutive")
    paths = numbered_frames(frame_dir, numbers, "%06d.JPEG")
    tracks: dict[str, dict] = {}
    for index, entry in enumerate(files):
        for obj in read_vid_annotation(annotation_dir / entry):
            track = tracks.setdefault(obj["trackid"], {"class": obj["class"], "frames": {}})
            if index in track["frames"]:
                raise DatasetError(f"{annotation_dir / entry}: track {obj['trackid']} appears twice")
            track["frames"][index] = obj
    sequences = []
    for track_id, track in sorted(tracks.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0):
        indices = sorted(track["frames"])
        if len(indices) < min_length:
            continue
        first, last = indices[0], indices[-1]
        boxes = np.full((last - first + 1, 4), np.nan)
        occluded = np.zeros(last - first + 1, dtype=bool)
        generated = np.zeros(last - first + 1, dtype=bool)
        for index, obj in track["frames"].items():
            boxes[index - first] = obj["box"]
            occluded[index - first] = obj["occluded"]
            generated[index - first] = obj["generated"]
        sequences.append(
            Sequence(
                name=f"{annotation_dir.name}.{track_id}",
                frames=ImageFiles(paths[first : last + 1]),
                ground_truth=boxes,
                tags={"occluded": occluded, "generated": generated},
                start_frame=numbers[first],
                dataset="ILSVRC2015-VID",
                metadata={"class": track["class"], "track_id": track_id},
            )
        )
    return sequences


def read_vid(
    root: str | os.PathLike, split: str = "train", max_snippets: int | None = None, min_length: int = 2
) -> list[Sequence]:
    """All tracks of ILSVRC2015-VID's ``split`` (snippets in sorted order; ``max_snippets`` reads only the
    first ones, for quick experiments)."""
    if split not in SPLITS:
        raise DatasetError(f"unknown VID split {split!r}; expected one of {SPLITS}")
    root = Path(root)
    annotation_root = root / "Annotations" / "VID" / split
    if not annotation_root.is_dir():
        raise DatasetError(f"{annotation_root}: VID annotation folder not found")
    sequences, snippets = [], 0
    for directory, subdirectories, files in os.walk(annotation_root):
        subdirectories.sort()
        if not any(name.endswith(".xml") for name in files):
            continue
        if max_snippets is not None and snippets >= max_snippets:
            break
        relative = Path(directory).relative_to(annotation_root)
        sequences.extend(read_vid_snippet(directory, root / "Data" / "VID" / split / relative, min_length))
        snippets += 1
    if not snippets:
        raise DatasetError(f"{annotation_root}: no VID annotation files")
    return sequences
