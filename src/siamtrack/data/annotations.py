"""The one annotation parser every reader uses, the dataset error type, and frame-listing helpers.

Annotation files of all the supported benchmarks are text tables: one row per frame, numbers separated by
commas, tabs or spaces (OTB mixes all three between sequences). :func:`parse_annotation` is the only
function that turns such text into numbers; readers differ only in the column counts they accept, whether
NaN is allowed, and how they convert the values afterwards.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

# a field separator: a comma with optional blanks around it, or a run of blanks (space/tab)
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*|[ \t]+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAN = re.compile(r"[+-]?nan", re.IGNORECASE)
# Text made only of these characters can go through float() directly: on them float() accepts exactly the
# decimal numbers _NUMBER accepts (and "nan" in any case where NaN is allowed).
_PLAIN = re.compile(r"[0-9eE+\-., \t\r\n]*")
_PLAIN_WITH_NAN = re.compile(r"[0-9eE+\-., \t\r\nnNaA]*")


class DatasetError(ValueError):
    """A dataset on disk does not match its format; the message names the file, line and value at fault."""


def parse_annotation(
    text: str | bytes,
    source: str,
    columns: int | tuple[int, ...] | None = 4,
    allow_nan: bool = False,
) -> np.ndarray:
    """Parse an annotation table into a ``(rows, columns)`` float64 array.

    Args:
        text: the file's content (bytes are decoded as UTF-8; a leading byte-order mark is ignored).
        source: what to name in error messages (usually the file path).
        columns: the allowed number(s) of values per row; ``None`` accepts any count. Every row of one
            file must have the same count.
        allow_nan: whether ``nan`` fields are allowed (UAV123, LaSOT-style "target absent" rows).

    Trailing blank lines are ignored; a blank line between rows is an error (it would shift every later
    frame). Fields are separated by a comma, a tab or spaces. ``inf`` and empty fields are errors.

    Raises:
        DatasetError: naming ``source``, the 1-based line number and the offending value.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise DatasetError(
                f"{source}: not UTF-8 text (byte {error.start}: {text[error.start : error.start + 1]!r})"
            ) from None
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    allowed = (columns,) if isinstance(columns, int) else columns
    plain = (_PLAIN_WITH_NAN if allow_nan else _PLAIN).fullmatch(text) is not None
    rows: list[list[float]] = []
    width = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip(" \t")
        if not stripped:
            raise DatasetError(f"{source}:{number}: blank line between annotation rows")
        fields = _SEPARATOR.split(stripped)
        values = None
        if plain:
            try:
                values = [float(field) for field in fields]
            except ValueError:
                pass  # the checks below name the offending field
        if values is None:
            values = _parse_fields(fields, source, number, line, allow_nan)
        if allowed is not None and len(values) not in allowed:
            expected = " or ".join(str(count) for count in allowed)
            raise DatasetError(f"{source}:{number}: expected {expected} values, found {len(values)} (line {line!r})")
        if width is not None and len(values) != width:
            raise DatasetError(
                f"{source}:{number}: {len(values)} values where the previous lines have {width} (line {line!r})"
            )
        width = len(values)
        rows.append(values)
    if not rows:
        raise DatasetError(f"{source}: no annotation rows")
    array = np.array(rows, dtype=np.float64)
    if not np.isfinite(array[~np.isnan(array)]).all():  # e.g. 1e999 overflows to inf
        line = int(np.nonzero(np.isinf(array).any(axis=1))[0][0]) + 1
        raise DatasetError(f"{source}:{line}: value out of range (line {lines[line - 1]!r})")
    return array


def _parse_fields(fields: list[str], source: str, number: int, line: str, allow_nan: bool) -> list[float]:
    values = []
    for field in fields:
        if _NUMBER.fullmatch(field):
            values.append(float(field))
        elif _NAN.fullmatch(field):
            if not allow_nan:
                raise DatasetError(
                    f"{source}:{number}: NaN value {field!r} is not allowed in this format (line {line!r})"
                )
            values.append(float("nan"))
        else:
            raise DatasetError(f"{source}:{number}: cannot read {field!r} as a number (line {line!r})")
    return values


def read_annotation(
    path: str | os.PathLike,
    columns: int | tuple[int, ...] | None = 4,
    allow_nan: bool = False,
) -> np.ndarray:
    """Read and :func:`parse_annotation` one annotation file."""
    path = os.fspath(path)
    return parse_annotation(_read_bytes(path, "annotation file"), path, columns=columns, allow_nan=allow_nan)


def read_box_file(path: str | os.PathLike, allow_nan: bool = False, allow_zero: bool = False) -> np.ndarray:
    """Read an ``x, y, w, h`` ground-truth file as written (no change of index base). With ``allow_nan``, rows
    of NaN mark unknown boxes (a row mixing NaN and numbers is an error); sizes as :func:`check_box_sizes`."""
    path = os.fspath(path)
    boxes = read_annotation(path, columns=4, allow_nan=allow_nan)
    partial = np.isnan(boxes).any(axis=1) & ~np.isnan(boxes).all(axis=1)
    if partial.any():
        raise DatasetError(f"{path}:{int(np.nonzero(partial)[0][0]) + 1}: a row mixes NaN and numbers")
    check_box_sizes(boxes, path, allow_zero=allow_zero)
    return boxes


def check_box_sizes(boxes: np.ndarray, source: str, allow_zero: bool = False, first_line: int = 1) -> None:
    """Raise :class:`DatasetError` for a box with negative (or, unless ``allow_zero``, zero) width/height.

    NaN rows are left alone (the caller decides whether the format allows them).
    """
    sizes = boxes[:, 2:4]
    with np.errstate(invalid="ignore"):
        bad = (sizes < 0).any(axis=1) if allow_zero else (sizes <= 0).any(axis=1)
    if bad.any():
        row = int(np.nonzero(bad)[0][0])
        what = "negative" if allow_zero else "non-positive"
        raise DatasetError(f"{source}:{row + first_line}: {what} box size in {', '.join(f'{v:g}' for v in boxes[row])}")


def read_flags(path: str | os.PathLike, length: int, pad: bool = False) -> np.ndarray:
    """Read a per-frame 0/1 file (VOT ``*.tag``/``*.label``, LaSOT occlusion, GOT-10k ``absence.label``).

    Values may be on one line separated by commas (LaSOT) or one per line (VOT, GOT-10k). There must be
    ``length`` of them; with ``pad=True`` fewer are allowed and the rest are 0 (the vot-toolkit convention:
    a tag file may stop after its last set frame, or be empty).
    """
    path = os.fspath(path)
    content = _read_bytes(path, "flag file")
    values = parse_annotation(content, path, columns=None).reshape(-1) if content.strip() else np.zeros(0)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise DatasetError(
            f"{path}: flag number {int(np.nonzero(bad)[0][0]) + 1} is {values[bad][0]:g}, expected 0 or 1"
        )
    if len(values) > length or (len(values) < length and not pad):
        raise DatasetError(f"{path}: {len(values)} flags for {length} frames")
    flags = np.zeros(length, dtype=bool)
    flags[: len(values)] = values.astype(bool)
    return flags


def numbered_frames(directory: str | os.PathLike, numbers, pattern: str) -> list[str]:
    """Paths ``directory / (pattern % n)`` for ``n`` in ``numbers``, checked to exist by one directory listing.

    Raises :class:`DatasetError` naming the first missing file (and how many are missing).
    """
    directory = os.fspath(directory)
    present = _listing(directory)
    names = [pattern % number for number in numbers]
    missing = [name for name in names if name not in present]
    if missing:
        raise DatasetError(
            f"{os.path.join(directory, missing[0])}: frame file missing ({len(missing)} of {len(names)} frames missing)"
        )
    return [os.path.join(directory, name) for name in names]


_FRAME_NAME = re.compile(r"(?P<prefix>.*?)(?P<number>\d+)\.(?P<ext>jpe?g|png|bmp|tiff?)", re.IGNORECASE)


def list_numbered_frames(directory: str | os.PathLike) -> tuple[list[str], list[int]]:
    """All image files named ``<prefix><number>.<ext>`` in ``directory``, sorted by number.

    Returns ``(paths, numbers)``; raises :class:`DatasetError` where there are none, where names mix
    prefixes/extensions, or where the numbers have a gap (a missing frame).
    """
    directory = os.fspath(directory)
    matches = [match for name in _listing(directory) if (match := _FRAME_NAME.fullmatch(name))]
    if not matches:
        raise DatasetError(f"{directory}: no numbered image frames found")
    kinds = {(match["prefix"], match["ext"]) for match in matches}
    if len(kinds) > 1:
        raise DatasetError(f"{directory}: frame names mix prefixes/extensions {sorted(kinds)}")
    matches.sort(key=lambda match: int(match["number"]))
    numbers = [int(match["number"]) for match in matches]
    for previous, current in zip(numbers, numbers[1:]):
        if current != previous + 1:
            raise DatasetError(
                f"{directory}: frame files jump from number {previous} to {current} (frame {previous + 1} missing)"
            )
    return [os.path.join(directory, match.string) for match in matches], numbers


def _read_bytes(path: str, what: str) -> bytes:
    """The content of ``path``, or :class:`DatasetError` saying which ``what`` cannot be read and why."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read {what} ({error.strerror})") from None


def _listing(directory: str) -> set[str]:
    try:
        return set(os.listdir(directory))
    except OSError as error:
        raise DatasetError(f"{directory}: cannot list frame folder ({error.strerror})") from None


def require_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a :class:`Path`, or :class:`DatasetError` saying which ``what`` is missing."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found")
    return path
