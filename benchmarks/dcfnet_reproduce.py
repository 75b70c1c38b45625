"""Reproduce the DCFNet authors' tracker with their weights on the 10 dev-eval sequences of ../shared.

The targets are the success AUCs of the authors' own PyTorch tracker (foolwood/DCFNet_pytorch, ported to
``torch.fft``) with ``param.pth`` on these sequences: got10k metrics (IoU without +1, 21 thresholds with a
strict ``>``, mean of the curve, first frame scored with the ground-truth box), Jogging = target 1, VOT
polygons -> their min/max box for init and scoring, BGR frames as OpenCV decodes them. Our tracker must match
each to within 0.005.

    python benchmarks/dcfnet_reproduce.py [--weights PATH] [--precision float32|bfloat16] [--threads N] [--record]

``--record`` appends the table (with machine and commit) to ``benchmarks/RESULTS.md``. Frame decoding is not
timed: the fps column is frames / seconds spent in ``init``/``update`` on that sequence.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import SHARED, add_shared_argument, append_results, command_line, named_sequences, provenance
from siamtrack.evaluation.metrics import frame_scores, scores_from_frames
from siamtrack.trackers.dcfnet import DCFNetTracker
from siamtrack.weights.dcfnet import load_dcfnet_features

#: Success AUC of the authors' tracker (param.pth) per dev-eval sequence.
TARGETS = {
    "DragonBaby": 0.641,
    "Jogging.1": 0.167,
    "ball1": 0.765,
    "building5": 0.828,
    "car16_1": 0.522,
    "horse": 0.673,
    "OTB-Basketball": 0.703,
    "VOT-bolt1": 0.012,
    "TinyTLP-Bike": 0.580,
    "UAV123_10fps-car16_2": 0.618,
}
TOLERANCE = 0.005


def run_sequence(tracker: DCFNetTracker, sequence) -> tuple[float, float]:
    """Track one sequence from its first ground-truth box; returns (success AUC, tracking fps)."""
    boxes, seconds = tracker.track(sequence.frames, sequence.init_box)  # times init/update only, not decoding
    scores = scores_from_frames(
        frame_scores(boxes, sequence.ground_truth, "got10k", absent=sequence.absent, source=sequence.name),
        "got10k",
        name=sequence.name,
    )
    return scores.auc, len(seconds) / float(np.sum(seconds))


def reproduce(
    shared: Path = SHARED, weights: Path | None = None, precision: str = "float32", names=None, verbose: bool = True
) -> list[dict]:
    """Run the tracker on the target sequences; one row (name, auc, target, diff, fps, frames) per sequence."""
    weights = weights or shared / "weights" / "dcfnet" / "param.pth"
    features = load_dcfnet_features(weights)
    rows = []
    for sequence in named_sequences(shared, list(TARGETS) if names is None else list(names)):
        name = sequence.name
        tracker = DCFNetTracker(features, device="cpu", precision=precision)
        auc, fps = run_sequence(tracker, sequence)
        row = {"name": name, "auc": auc, "target": TARGETS.get(name, float("nan")), "fps": fps, "frames": len(sequence)}
        row["diff"] = row["auc"] - row["target"]
        rows.append(row)
        if verbose:
            print(
                f"{name:24s} AUC {auc:.3f}  target {row['target']:.3f}  diff {row['diff']:+.4f}  {fps:6.1f} fps",
                flush=True,
            )
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| sequence | frames | AUC (ours) | AUC (authors) | difference | fps |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['frames']} | {row['auc']:.3f} | {row['target']:.3f} | "
            f"{row['diff']:+.4f} | {row['fps']:.1f} |"
        )
    aucs, targets = [r["auc"] for r in rows], [r["target"] for r in rows]
    lines.append(
        f"| **mean** | {sum(r['frames'] for r in rows)} | **{np.mean(aucs):.3f}** | "
        f"**{np.mean(targets):.3f}** | {np.mean(aucs) - np.mean(targets):+.4f} | "
        f"{np.median([r['fps'] for r in rows]):.1f} (median) |"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_argument(parser)
    parser.add_argument("--weights", type=Path, default=None, help="default: SHARED/weights/dcfnet/param.pth")
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--record", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = reproduce(args.shared, args.weights, args.precision)
    text = table(rows)
    print(text)
    within = all(abs(r["diff"]) <= TOLERANCE for r in rows)
    print(f"all within {TOLERANCE}: {within}  ({time.perf_counter() - start:.0f} s)")
    if args.record:
        append_results(
            f"DCFNet reproduction ({args.precision}, `benchmarks/dcfnet_reproduce.py`)",
            f"Command: `{command_line(__file__, argv)}`. Weights: "
            f"`{args.weights or 'shared/weights/dcfnet/param.pth'}`. got10k success AUC vs the authors' "
            f"tracker (tolerance {TOLERANCE}); fps = frames / tracking time with frames decoded beforehand "
            f"(noisy on the shared machine).\n{provenance()}.\n\n{text}\n\nAll within {TOLERANCE}: "
            f"**{within}**.",
        )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
