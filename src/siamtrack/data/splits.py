"""The project's own real sequences (``shared/data``, described by its ``index.json``) as ``Sequence`` lists.

``index.json`` lists ``benchmarks`` (original layouts, read by the benchmark readers) and ``videos``
(``videos/<Dataset>-<seq>.mp4`` + ``.txt`` with 0-based boxes), each with a ``split``: ``train`` or
``dev-eval``. Conventions (those of the project's DCFNet reproduction table):

* OTB Jogging contributes only its first target ``Jogging.1`` unless ``all_targets=True``;
* VOT polygons stay in ``polygons``; ``ground_truth`` is their min/max box;
* VOT-TIR's grayscale PNGs come back as RGB; NaN rows mean the target is absent;
* names: the benchmark's own (``DragonBaby``, ``Jogging.1``, ``ball1``, ``car16_1``, ``horse``) and the
  file stem for videos (``OTB-Basketball``, ``VOT-bolt1`` ...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from siamtrack.data.annotations import DatasetError
from siamtrack.data.folder import read_video_sequence
from siamtrack.data.otb import otb_targets, read_otb_sequence
from siamtrack.data.sequence import Sequence
from siamtrack.data.uav123 import read_uav_sequence
from siamtrack.data.vot import read_vot_sequence

SPLITS = ("train", "dev-eval")


def shared_data_root(shared_root: str | os.PathLike) -> Path:
    """The folder holding ``index.json``: ``shared_root`` itself or ``shared_root/data``."""
    shared_root = Path(shared_root)
    for candidate in (shared_root / "data", shared_root):
        if (candidate / "index.json").is_file():
            return candidate
    raise DatasetError(f"{shared_root}: no index.json (looked in {shared_root / 'data'} and {shared_root})")


def shared_split(shared_root: str | os.PathLike, split: str, all_targets: bool = False) -> list[Sequence]:
    """All sequences of ``split`` (``"train"`` or ``"dev-eval"``) in ``index.json`` order, benchmarks first."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}")
    root = shared_data_root(shared_root)
    index_path = root / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{index_path}: cannot read the index ({error})") from None
    sequences = []
    for entry in index.get("benchmarks", []):
        _check_entry(entry, index_path, ("path", "split"))
        if entry["split"] == split:
            sequences.extend(_read_benchmark_entry(root / "benchmarks", entry["path"], all_targets))
    for entry in index.get("videos", []):
        _check_entry(entry, index_path, ("name", "split"))
        if entry["split"] == split:
            sequences.append(_read_video_entry(root / "videos", entry))
    return sequences


def _check_entry(entry: dict, index_path: Path, keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if key not in entry]
    if missing:
        raise DatasetError(f"{index_path}: entry {entry} lacks {missing}")
    if entry["split"] not in SPLITS:
        raise DatasetError(f"{index_path}: entry {entry} has unknown split {entry['split']!r}")


def _read_benchmark_entry(benchmarks: Path, relative: str, all_targets: bool) -> list[Sequence]:
    path = benchmarks / relative
    family = Path(relative).parts[0]
    if not path.is_dir():
        raise DatasetError(f"{path}: benchmark sequence folder listed in index.json not found")
    if family == "OTB":
        targets = otb_targets(path)
        return [read_otb_sequence(path, target) for target in (targets if all_targets else targets[:1])]
    if family in ("VOT", "VOT-TIR"):
        return [read_vot_sequence(path, dataset=family)]
    if family in ("UAV123", "UAV123_10fps"):
        variant = "uav123_10fps" if family == "UAV123_10fps" else "uav123"
        return [read_uav_sequence(path.parent, path.name, variant)]
    raise DatasetError(f"{path}: no reader for benchmark family {family!r}")


def _read_video_entry(videos: Path, entry: dict) -> Sequence:
    video_path = videos / f"{entry['name']}.mp4"
    layout = str(entry.get("source_layout", ""))
    parts = [part for part in layout.split("/") if part and part != "partial"]
    dataset = parts[0] if len(parts) >= 2 else entry["name"].rsplit("-", 1)[0]
    metadata = {key: entry[key] for key in ("fps", "source_layout") if key in entry}
    sequence = read_video_sequence(video_path, name=entry["name"], dataset=dataset, metadata=metadata)
    if "frames" in entry and entry["frames"] != len(sequence):
        raise DatasetError(f"{video_path}: index.json says {entry['frames']} frames, the video has {len(sequence)}")
    return sequence
