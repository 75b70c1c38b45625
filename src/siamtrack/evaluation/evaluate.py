"""Score one tracker from its result files and the sequences' ground truth (no tracker is imported, nor anything
that runs one: the run names come from :func:`~siamtrack.evaluation.tre_sre.one_pass_runs`, as the runner's do).

* :func:`evaluate_one_pass` — OPE, TRE, SRE: overall, per sequence, per sequence attribute
  (``Sequence.attributes``: OTB's 11, UAV123's 12 ...) and per frame tag (``Sequence.tags``).
* :func:`evaluate_supervised` — VOT baseline/realtime: accuracy, failures, robustness, EAO, per sequence
  and per frame tag (accuracy over the tagged frames, failures on tagged frames).

Every result is a JSON-ready dict; the ``protocol`` entry records every convention used.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from siamtrack.data.sequence import Sequence, image_size
from siamtrack.evaluation.metrics import (
    FrameScores,
    average_scores,
    frame_scores,
    overall_fps,
    scores_from_frames,
    sequence_fps,
)
from siamtrack.evaluation.protocol import Protocol, get_protocol
from siamtrack.evaluation.results import (
    ResultFileError,
    ope_paths,
    read_boxes,
    read_supervised,
    read_times,
    supervised_repetitions,
)
from siamtrack.evaluation.supervised import FrameState, accuracy_mask, run_overlaps, supervised_scores
from siamtrack.evaluation.tre_sre import one_pass_runs


def _needs_image_size(protocol: Protocol, reset: bool) -> bool:
    measure = protocol.reset_overlap if reset else protocol.overlap
    return measure == "raster" or protocol.clip_to_image


def evaluate_one_pass(
    root, tracker: str, sequences: list[Sequence], protocol: Protocol | str = "otb", experiment: str = "ope"
) -> dict:
    """Scores of ``tracker``'s ``experiment`` results under ``<root>/<tracker>``."""
    protocol = get_protocol(protocol)
    if not sequences:
        raise ValueError("no sequence to evaluate")
    per_sequence, frames_of, scores_of, times_of = {}, {}, {}, []
    tag_frames: dict[str, list[FrameScores]] = defaultdict(list)
    for sequence in sequences:
        size = image_size(sequence) if _needs_image_size(protocol, reset=False) else None
        parts, tag_parts, run_times = [], defaultdict(list), []
        for start, run in one_pass_runs(sequence, experiment):
            boxes_path, times_path = ope_paths(root, tracker, run, experiment)
            boxes = read_boxes(boxes_path, expected_length=len(sequence) - start)
            truth, absent = sequence.ground_truth[start:], sequence.absent[start:]
            polygons = None if sequence.polygons is None else sequence.polygons[start:]
            common = dict(absent=absent, image_size=size, polygons=polygons, source=str(boxes_path))
            parts.append(frame_scores(boxes, truth, protocol, **common))
            for tag, flags in sequence.tags.items():
                tagged = np.asarray(flags, dtype=bool)[start:]
                tag_parts[tag].append(frame_scores(boxes, truth, protocol, frame_mask=tagged, **common))
            times = read_times(times_path, expected_length=len(sequence) - start)
            if times is not None:
                run_times.append(times)
        frames = FrameScores.concatenate(parts)
        scores = scores_from_frames(frames, protocol, name=f"{tracker}/{sequence.name}")
        times = np.concatenate(run_times) if run_times else np.zeros(0)
        frames_of[sequence.name], scores_of[sequence.name] = frames, scores
        times_of.append(times)
        per_sequence[sequence.name] = {**scores.summary(), "fps": sequence_fps(times, protocol)}
        for tag, tagged in tag_parts.items():
            tag_frames[tag].append(FrameScores.concatenate(tagged))

    names = [s.name for s in sequences]
    overall = average_scores([scores_of[n] for n in names], protocol, [frames_of[n] for n in names])
    per_attribute = {}
    for attribute in sorted({a for s in sequences for a in s.attributes}):
        members = [s.name for s in sequences if attribute in s.attributes]
        per_attribute[attribute] = average_scores(
            [scores_of[n] for n in members], protocol, [frames_of[n] for n in members]
        ).to_dict()
    per_tag = {}
    for tag in sorted(tag_frames):
        pooled = FrameScores.concatenate(tag_frames[tag])
        if len(pooled):
            per_tag[tag] = scores_from_frames(pooled, protocol, name=f"{tracker} tag {tag}").to_dict()
    return {
        "tracker": tracker,
        "experiment": experiment,
        "protocol": protocol.describe(),
        "overall": {**overall.to_dict(), "fps": overall_fps(times_of, protocol)},
        "per_sequence": per_sequence,
        "per_attribute": per_attribute,
        "per_tag": per_tag,
    }


def evaluate_supervised(
    root, tracker: str, sequences: list[Sequence], protocol: Protocol | str = "vot", experiment: str = "baseline"
) -> dict:
    """Scores of ``tracker``'s reset-based results under ``<root>/<tracker>/<experiment>``."""
    protocol = get_protocol(protocol)
    if not sequences:
        raise ValueError("no sequence to evaluate")
    runs, lengths, valid, all_times = {}, {}, {}, []
    tag_overlap: dict[str, list[np.ndarray]] = defaultdict(list)
    tag_failures: dict[str, float] = defaultdict(float)
    for sequence in sequences:
        paths = supervised_repetitions(root, tracker, experiment, sequence.name)
        if not paths:
            raise ResultFileError(f"{root}/{tracker}/{experiment}/{sequence.name}: no {sequence.name}_NNN.txt results")
        size = image_size(sequence) if _needs_image_size(protocol, reset=True) else None
        valid[sequence.name] = ~np.isnan(sequence.ground_truth).any(axis=1)
        repetitions = []
        for path in paths:
            run = read_supervised(path, expected_length=len(sequence))
            run_overlap = run_overlaps(
                run, sequence.ground_truth, protocol, image_size=size, polygons=sequence.polygons
            )
            repetitions.append((run_overlap, run.states))
            times = read_times(path.with_name(path.stem + "_time.value"), expected_length=len(sequence))
            if times is not None:
                all_times.append(times)
            mask = accuracy_mask(run.states, protocol.burnin, valid[sequence.name])
            for tag, flags in sequence.tags.items():
                flags = np.asarray(flags, dtype=bool)
                tag_overlap[tag].append(run_overlap[mask & flags])
                tag_failures[tag] += np.count_nonzero((run.states == FrameState.FAILED) & flags) / len(paths)
        runs[sequence.name], lengths[sequence.name] = repetitions, len(sequence)
    scores = supervised_scores(runs, lengths, protocol, valid_ground_truth=valid)
    per_tag = {}
    for tag in sorted(tag_overlap):
        values = np.concatenate(tag_overlap[tag])
        per_tag[tag] = {
            "accuracy": float(np.mean(values)) if len(values) else float("nan"),
            "num_frames": int(len(values)),
            "failures": float(tag_failures[tag]),
        }
    timed = np.concatenate(all_times) if all_times else np.zeros(0)
    overall = scores.to_dict()
    per_sequence = overall.pop("per_sequence")
    return {
        "tracker": tracker,
        "experiment": experiment,
        "protocol": protocol.describe(),
        "overall": {**overall, "fps": sequence_fps(timed, protocol)},
        "per_sequence": per_sequence,
        "per_tag": per_tag,
    }


__all__ = ["evaluate_one_pass", "evaluate_supervised"]
