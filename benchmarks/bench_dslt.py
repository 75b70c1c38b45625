"""DSLT* speed: where the time of a frame goes (feature extraction, regression, online update, ...).

For each backbone, the tracker runs ``--frames`` frames of a real sequence ``--runs`` times (random weights: the
cost does not depend on them); each frame's ``extras["stage_seconds"]`` (the tracker's per-frame output) split it
into ``crop`` (the
``num_scales`` search crops), ``features`` (the frozen backbone on them), ``regression`` (the regression network),
``locate`` (upsampling, peak, scale choice), ``update`` (label + ``update_iterations`` Adam steps on the last
``memory`` frames); the first frame splits into feature extraction and ``init_training`` (``init_iterations``
steps). Reported: medians over the runs of the per-frame means, in ms, and the frames per second.

    python benchmarks/bench_dslt.py [--backbones siamfc,vgg16,resnet50] [--frames 20] [--runs 3]
        [--sequence DragonBaby] [--threads N] [--record]

``--record`` appends the table, the machine, the load average and the git commit to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from common import add_shared_argument, append_results, first_frames, named_sequences, provenance, speed_parser, timed
from siamtrack.trackers import build_tracker

BACKBONES = {  # backbone -> tracker overrides (padded backbones take 256-pixel crops, a multiple of 16)
    "siamfc": {},
    "vgg16": {"backbone": "vgg16", "instance_size": 256, "context_size": 128.0},
    "resnet50": {"backbone": "resnet50", "instance_size": 256, "context_size": 128.0},
}
FRAME_STAGES = ("crop", "features", "regression", "locate", "update")


def measure(backbone: str, frames: list, box, runs: int) -> dict[str, float]:
    per_run: dict[str, list[float]] = {}
    for _ in range(runs):
        tracker = build_tracker("dslt", weights="random", device="cpu", **BACKBONES[backbone])
        init = {
            "init total": timed(tracker.init, frames[0], box)[0],
            "init features": tracker.extras["stage_seconds"]["features"],
            "init_training": tracker.extras["stage_seconds"]["init_training"],
        }
        stages = []  # each frame's stage times (its per-frame extras)
        wall, cpu = time.perf_counter(), time.process_time()
        for image in frames[1:]:
            tracker.update(image)
            stages.append(tracker.extras["stage_seconds"])
        count = len(frames) - 1
        frame_total, frame_cpu = (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count
        values = {stage: sum(frame.get(stage, 0.0) for frame in stages) / count for stage in FRAME_STAGES}
        values["frame total"], values["frame CPU"] = frame_total, frame_cpu
        values.update(init)
        for key, value in values.items():
            per_run.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in per_run.items()}


def main(argv=None) -> int:
    parser = speed_parser(__doc__, frames=20, runs=3, threads=None)
    add_shared_argument(parser)
    parser.add_argument("--backbones", default="siamfc,vgg16,resnet50")
    parser.add_argument("--sequence", default="DragonBaby", help="a dev-eval sequence")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    (sequence,) = named_sequences(args.shared, [args.sequence])
    frames = first_frames(sequence, args.frames)
    names = [name for name in args.backbones.split(",") if name]
    results = {name: measure(name, frames, sequence.init_box, args.runs) for name in names}

    keys = [
        "crop",
        "features",
        "regression",
        "locate",
        "update",
        "frame total",
        "frame CPU",
        "init features",
        "init_training",
        "init total",
    ]
    lines = ["| backbone | " + " | ".join(keys) + " | fps |", "|---" * (len(keys) + 2) + "|"]
    for name, values in results.items():
        cells = [f"{1000 * values[key]:.1f}" for key in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {1 / values['frame total']:.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.record:
        append_results(
            "DSLT* per-frame time by stage (benchmarks/bench_dslt.py)",
            "\n".join(
                [
                    f"- {provenance()}",
                    f"- command: `python benchmarks/bench_dslt.py --backbones {args.backbones} --frames {args.frames} "
                    f"--runs {args.runs} --sequence {args.sequence}`",
                    f"- ms per frame (median of {args.runs} runs of {len(frames) - 1} frames of {args.sequence}, "
                    "random weights, default DSLTParams: 3 scales, 2 Adam steps on the last 7 frames per frame, "
                    "50 first-frame steps); `frame CPU` is the process CPU time",
                    "",
                    table,
                ]
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
