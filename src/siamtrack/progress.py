"""Progress of the long commands (``track``, ``demo``, ``eval``, ``train``) on stderr, and their one-line summary.

:func:`progress_bar` is ``tqdm`` with one rule for where it goes: on a terminal, one updating line (rate and ETA);
when stderr is a file or a pipe (a log, CI), a plain line every :data:`PLAIN_INTERVAL` seconds (and one at the start
and the end) in the same words, without ``\\r`` or a bar, so a log holds readable lines. ``disable=True``
(``--quiet``) prints nothing. :func:`summary_line` is the command's last line on stdout, printed also with
``--quiet``: ``siamtrack track: 120 frames, 4.2 s, 28.6 fps``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

# seconds between two plain progress lines when stderr is not a terminal (SIAMTRACK_PROGRESS_INTERVAL overrides)
PLAIN_INTERVAL = 10.0
PLAIN_FORMAT = (
    "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%), {rate_fmt}, elapsed {elapsed}, ETA {remaining}{postfix}"
)
PLAIN_FORMAT_OPEN = "{desc}: {n_fmt}, {rate_fmt}, elapsed {elapsed}{postfix}"  # no total known (a camera)


class _PlainLines:
    """A file for tqdm that turns its ``\\r`` redraws into whole lines (each different status once)."""

    def __init__(self, stream):
        self.stream = stream
        self.last = None

    def write(self, text: str) -> None:
        for part in text.replace("\n", "\r").split("\r"):
            line = part.strip()
            if line and line != self.last:
                self.stream.write(line + "\n")
                self.last = line

    def flush(self) -> None:
        self.stream.flush()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(iterable: Iterable | None = None, *, disable: bool = False, file=None, **kwargs):
    """``tqdm(iterable, **kwargs)`` on ``file`` (default stderr): an updating line on a terminal, plain lines every
    :data:`PLAIN_INTERVAL` seconds otherwise, nothing when ``disable``."""
    from tqdm import tqdm

    stream = sys.stderr if file is None else file
    if disable or _is_terminal(stream):
        return tqdm(iterable, disable=disable, file=stream, **kwargs)
    kwargs.pop("dynamic_ncols", None)
    known = kwargs.get("total") is not None or hasattr(iterable, "__len__")
    kwargs.setdefault("bar_format", PLAIN_FORMAT if known else PLAIN_FORMAT_OPEN)
    interval = float(os.environ.get("SIAMTRACK_PROGRESS_INTERVAL", PLAIN_INTERVAL))
    return tqdm(iterable, file=_PlainLines(stream), mininterval=interval, maxinterval=max(interval, 10.0), **kwargs)


class counted:
    """``frames`` (at most ``limit``), advancing ``bar`` by one as each frame is done: when the next one is asked
    for, and for the last when the frames end. Other attributes are the frames' own (``paths`` of
    :class:`~siamtrack.data.sequence.ImageFiles`, which name a frame in errors; ``fps`` of a video)."""

    def __init__(self, frames: Iterable, bar, limit: int | None = None):
        self.frames, self.bar, self.limit = frames, bar, limit

    def __iter__(self) -> Iterator:
        index = -1
        for index, frame in enumerate(self.frames):
            if self.limit is not None and index >= self.limit:
                index -= 1
                break
            if index:
                self.bar.update(1)
            yield frame
        if index >= 0:
            self.bar.update(1)

    def __getattr__(self, name: str):
        if name in ("frames", "bar", "limit"):  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self.frames, name)


def summary_line(
    command: str, seconds: float, count: int, unit: str = "frames", rate: str = "fps", sequences: int | None = None
) -> str:
    """``siamtrack eval: 10 sequences, 3421 frames, 120.3 s, 28.4 fps`` (``-`` fps when nothing was done)."""
    speed = f"{count / seconds:.1f}" if count and seconds > 0 else "-"
    where = "" if sequences is None else f"{sequences} sequences, "
    return f"siamtrack {command}: {where}{count} {unit}, {seconds:.1f} s, {speed} {rate}"


__all__ = ["PLAIN_INTERVAL", "counted", "progress_bar", "summary_line"]
