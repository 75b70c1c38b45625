"""Speed of the evaluation metrics (run by hand; the figure goes to benchmarks/RESULTS.md).

Measures computing every one-pass metric (success/precision/normalised-precision curves, AUC, P@20, NP,
AO, SR0.5/0.75, per-sequence and dataset averages) for 100 sequences of 600 frames, under each OPE preset,
from in-memory boxes (file reading excluded). Also reports the VOT raster overlap of one 600-frame
sequence against polygon ground truth. Prints the median of ``--repeats`` runs.

    python benchmarks/bench_metrics.py --repeats 7
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

from common import git_commit, median_seconds
from siamtrack.evaluation import average_scores, frame_scores, get_protocol, raster_overlaps, scores_from_frames


def synthetic(sequences: int, frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(sequences):
        centre = 300 + np.cumsum(rng.normal(0, 3, (frames, 2)), axis=0)
        size = 40 + np.abs(np.cumsum(rng.normal(0, 0.5, (frames, 2)), axis=0))
        truth = np.hstack([centre - size / 2, size])
        predictions = truth + rng.normal(0, 6, truth.shape) * [1, 1, 0.3, 0.3]
        predictions[rng.random(frames) < 0.01] = np.nan
        data.append((predictions, truth))
    return data


def all_ope_metrics(data, protocol):
    frames = [frame_scores(p, t, protocol, image_size=(1280, 720)) for p, t in data]
    per_sequence = [scores_from_frames(f, protocol) for f in frames]
    return average_scores(per_sequence, protocol, frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    data = synthetic(args.sequences, args.frames)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, commit {git_commit()}, "
        f"median of {args.repeats} runs"
    )
    for name in ("otb", "got10k", "got10k_benchmark", "pysot", "lasot"):
        protocol = get_protocol(name)
        wall, cpu = median_seconds(lambda protocol=protocol: all_ope_metrics(data, protocol), args.repeats)
        print(
            f"all OPE metrics, {args.sequences} sequences x {args.frames} frames, preset {name:17s}: "
            f"{wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU"
        )
    rng = np.random.default_rng(1)
    truth = data[0][1]
    x1, y1 = truth[:, 0], truth[:, 1]
    x2, y2 = x1 + truth[:, 2], y1 + truth[:, 3]
    corners = np.stack([x1, y1, x2, y1, x2, y2, x1, y2], 1)
    polygons = corners + rng.normal(0, 2, corners.shape)
    predictions = np.nan_to_num(data[0][0], nan=0.0)
    wall, cpu = median_seconds(lambda: raster_overlaps(predictions, polygons, (1280, 720)), args.repeats)
    print(
        f"VOT raster overlaps, 1 sequence x {args.frames} frames (polygon ground truth): "
        f"{wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU"
    )


if __name__ == "__main__":
    main()
