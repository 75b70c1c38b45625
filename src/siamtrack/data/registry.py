"""The dataset registry: ``READERS[name](root, **options) -> list[Sequence]`` and :func:`load_dataset`."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

from siamtrack.data.annotations import DatasetError
from siamtrack.data.folder import read_folder_dataset, read_video_folder
from siamtrack.data.got10k import read_got10k
from siamtrack.data.lasot import read_lasot
from siamtrack.data.otb import read_otb
from siamtrack.data.sequence import Sequence
from siamtrack.data.splits import shared_split
from siamtrack.data.tc128 import read_tc128
from siamtrack.data.uav123 import read_uav123
from siamtrack.data.vid import read_vid
from siamtrack.data.vot import read_vot

READERS: dict[str, Callable[..., list[Sequence]]] = {
    "otb2013": partial(read_otb, version="otb2013"),
    "otb2015": partial(read_otb, version="otb2015"),
    "otb-folder": partial(read_otb, version="folder"),
    "uav123": partial(read_uav123, variant="uav123"),
    "uav123_10fps": partial(read_uav123, variant="uav123_10fps"),
    "uav20l": partial(read_uav123, variant="uav20l"),
    "tc128": read_tc128,
    "vot": read_vot,
    "vot-tir": partial(read_vot, dataset="VOT-TIR"),
    "lasot": read_lasot,
    "got10k": read_got10k,
    "ilsvrc-vid": read_vid,
    "folder": read_folder_dataset,
    "videos": read_video_folder,
    "shared": shared_split,
}


def load_dataset(name: str, root: str | os.PathLike, **options) -> list[Sequence]:
    """Read dataset ``name`` (a key of :data:`READERS`) from ``root``; ``options`` go to its reader
    (e.g. ``load_dataset("got10k", root, subset="val")``, ``load_dataset("shared", root, split="dev-eval")``)."""
    if name not in READERS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(READERS))}")
    return READERS[name](root, **options)
