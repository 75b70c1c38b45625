"""Datasets: one :class:`Sequence` type and readers for the standard tracking benchmarks.

``load_dataset(name, root, **options)`` reads a benchmark by its registry name (``READERS``);
``shared_split(shared_root, split)`` reads the project's own real sequences (``shared/data``).
Every reader raises :class:`DatasetError` (a ``ValueError``) naming the file, line and value at fault.
"""

from siamtrack.data.annotations import DatasetError, parse_annotation, read_annotation
from siamtrack.data.folder import read_folder_dataset, read_folder_sequence, read_video_folder, read_video_sequence
from siamtrack.data.got10k import read_got10k, read_got10k_sequence
from siamtrack.data.lasot import read_lasot, read_lasot_sequence
from siamtrack.data.otb import read_otb, read_otb_sequence
from siamtrack.data.registry import READERS, load_dataset
from siamtrack.data.sequence import FrameSource, ImageFiles, Sequence, VideoFile
from siamtrack.data.splits import shared_split
from siamtrack.data.tc128 import read_tc128, read_tc128_sequence
from siamtrack.data.uav123 import read_uav123, read_uav_sequence
from siamtrack.data.vid import read_vid, read_vid_snippet
from siamtrack.data.vot import read_vot, read_vot_sequence

__all__ = [
    "DatasetError",
    "FrameSource",
    "ImageFiles",
    "READERS",
    "Sequence",
    "VideoFile",
    "load_dataset",
    "parse_annotation",
    "read_annotation",
    "shared_split",
    "read_folder_dataset",
    "read_folder_sequence",
    "read_got10k",
    "read_got10k_sequence",
    "read_lasot",
    "read_lasot_sequence",
    "read_otb",
    "read_otb_sequence",
    "read_tc128",
    "read_tc128_sequence",
    "read_uav123",
    "read_uav_sequence",
    "read_vid",
    "read_vid_snippet",
    "read_video_folder",
    "read_video_sequence",
    "read_vot",
    "read_vot_sequence",
]
