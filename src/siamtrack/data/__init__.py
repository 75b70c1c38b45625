"""Datasets: one :class:`Sequence` type and readers for the standard tracking benchmarks."""
from siamtrack.data.sequence import FrameSource, ImageFiles, Sequence, VideoFile

__all__ = ["FrameSource", "ImageFiles", "Sequence", "VideoFile"]
