"""Result files — the contract between running trackers and evaluating them.

Layouts (boxes are siamtrack's 0-based ``x, y, w, h``, comma-separated, one frame per line):

* one-pass, got10k ``ExperimentOTB`` layout::

      <root>/<tracker>/<run>.txt                 boxes, row 0 = the initial box
      <root>/<tracker>/times/<run>_time.txt      seconds per frame (row 0 = the init call)

  ``<run>`` is the sequence name for OPE; TRE and SRE runs live in ``<root>/<tracker>/tre`` and
  ``<root>/<tracker>/sre`` with ``<run> = <seq>_<k:03d>`` (k = 1..20 segments / 1..12 perturbations).
* reset-based, vot-toolkit layout (``<experiment>`` is ``baseline`` or ``realtime``)::

      <root>/<tracker>/<experiment>/<seq>/<seq>_<rep:03d>.txt         1 = init, 2 = failure, 0 = skipped, or a box
      <root>/<tracker>/<experiment>/<seq>/<seq>_<rep:03d>_time.value  seconds per frame (0 where not run)

Every file is written to a temporary name and renamed into place, the timing file before the boxes, so
a results file that exists is complete; runners skip runs whose results file exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from siamtrack.evaluation.supervised import FrameState, SupervisedRun
from siamtrack.atomic_files import write_text_atomically


class ResultFileError(ValueError):
    """A result file does not match its format; the message names the file, line and value."""


def ope_paths(root, tracker: str, run: str, experiment: str = "ope") -> tuple[Path, Path]:
    """``(boxes file, timing file)`` of one one-pass run; ``experiment`` is ``ope``, ``tre`` or ``sre``."""
    base = Path(root) / tracker
    if experiment != "ope":
        base = base / experiment
    return base / f"{run}.txt", base / "times" / f"{run}_time.txt"


def supervised_paths(root, tracker: str, experiment: str, sequence: str, repetition: int = 1) -> tuple[Path, Path]:
    """``(trajectory file, timing file)`` of one reset-based run in the vot-toolkit layout."""
    base = Path(root) / tracker / experiment / sequence
    stem = f"{sequence}_{repetition:03d}"
    return base / f"{stem}.txt", base / f"{stem}_time.value"


def supervised_repetitions(root, tracker: str, experiment: str, sequence: str) -> list[Path]:
    """The existing ``<seq>_NNN.txt`` trajectory files of one sequence, in repetition order."""
    base = Path(root) / tracker / experiment / sequence
    pattern = re.compile(re.escape(sequence) + r"_(\d{3})\.txt")
    if not base.is_dir():
        return []
    found = [(int(m.group(1)), base / entry) for entry in os.listdir(base) if (m := pattern.fullmatch(entry))]
    return [path for _, path in sorted(found)]


def _format_box(box) -> str:
    return ",".join("nan" if np.isnan(v) else f"{v:.4f}" for v in box)


def _format_times(times) -> str:
    return "".join(f"{t:.8f}\n" for t in np.asarray(times, dtype=np.float64).ravel())


def write_one_pass(boxes_path, times_path, boxes, times) -> None:
    """Write one one-pass run (timing file first, then the boxes that mark the run as done)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    times = np.asarray(times, dtype=np.float64).ravel()
    if len(times) != len(boxes):
        raise ValueError(f"{boxes_path}: {len(times)} times for {len(boxes)} boxes")
    write_text_atomically(times_path, _format_times(times))
    write_text_atomically(boxes_path, "".join(_format_box(b) + "\n" for b in boxes))


def write_supervised(trajectory_path, times_path, run: SupervisedRun) -> None:
    """Write one reset-based run in the vot-toolkit text format."""
    lines = []
    for state, box in zip(run.states, run.boxes):
        lines.append(_format_box(box) if state == FrameState.TRACKED else str(int(state)))
    times = run.times if run.times is not None else np.zeros(len(run))
    write_text_atomically(times_path, _format_times(times))
    write_text_atomically(trajectory_path, "".join(line + "\n" for line in lines))


def _lines(path) -> list[str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: result file not found") from None
    except UnicodeDecodeError as error:
        raise ResultFileError(f"{path}: not UTF-8 text ({error})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _numbers(path, number: int, line: str) -> list[float]:
    fields = [f for f in re.split(r"[,\t ]+", line.strip()) if f]
    try:
        return [float(f) for f in fields]
    except ValueError:
        raise ResultFileError(f"{path}:{number}: cannot read {line!r} as numbers") from None


def read_boxes(path, expected_length: int | None = None) -> np.ndarray:
    """Boxes of a one-pass results file (comma, tab or space separated; ``nan`` allowed)."""
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        values = _numbers(path, number, line)
        if len(values) != 4:
            raise ResultFileError(f"{path}:{number}: expected 4 values x,y,w,h, found {len(values)} ({line!r})")
        rows.append(values)
    boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    if np.isinf(boxes).any():
        row = int(np.flatnonzero(np.isinf(boxes).any(axis=1))[0])
        raise ResultFileError(f"{path}:{row + 1}: infinite value in {boxes[row].tolist()}")
    if expected_length is not None and len(boxes) != expected_length:
        raise ResultFileError(f"{path}: {len(boxes)} boxes, expected {expected_length} (one per frame)")
    return boxes


def read_times(path, expected_length: int | None = None) -> np.ndarray | None:
    """Seconds per frame from a timing file; None when the file does not exist."""
    if not Path(path).is_file():
        return None
    values = []
    for number, line in enumerate(_lines(path), start=1):
        row = _numbers(path, number, line)
        if len(row) != 1:
            raise ResultFileError(f"{path}:{number}: expected one time per line, found {len(row)} ({line!r})")
        values.append(row[0])
    times = np.array(values, dtype=np.float64)
    if expected_length is not None and len(times) != expected_length:
        raise ResultFileError(f"{path}: {len(times)} times, expected {expected_length}")
    return times


def read_supervised(path, expected_length: int | None = None) -> SupervisedRun:
    """A vot-toolkit trajectory file: ``0``/``1``/``2`` codes or ``x,y,w,h`` boxes."""
    states, boxes = [], []
    for number, line in enumerate(_lines(path), start=1):
        values = _numbers(path, number, line)
        if len(values) == 1:
            if values[0] not in (0, 1, 2):
                raise ResultFileError(f"{path}:{number}: unknown special code {line.strip()!r} (0, 1 or 2)")
            states.append(int(values[0]))
            boxes.append([np.nan] * 4)
        elif len(values) == 4:
            states.append(FrameState.TRACKED)
            boxes.append(values)
        else:
            raise ResultFileError(
                f"{path}:{number}: expected a code or 4 values x,y,w,h, found {len(values)} "
                f"({line!r}); polygon results are not supported"
            )
    if expected_length is not None and len(states) != expected_length:
        raise ResultFileError(f"{path}: {len(states)} frames, expected {expected_length}")
    if states and states[0] != FrameState.INITIALIZED:
        raise ResultFileError(f"{path}:1: a reset-based run starts with an initialisation ('1'), found {states[0]}")
    return SupervisedRun(np.array(states, dtype=np.int8), np.array(boxes, dtype=np.float64).reshape(-1, 4))
