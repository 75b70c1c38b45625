"""AdaCFNet tracking speed on a real sequence, against CFNet-conv2 (the paper: 66 fps vs CFNet's 75 on a GPU).

Times ``AdaCFNetTracker.update`` (3 search crops, SE weights, correlation, response upsampling, the CF
template update on a fourth crop: everything but frame decoding) on the first frames of OTB DragonBaby, for
each tracker/width in ``--configs``, interleaved run by run so every configuration sees the same machine load.
Reports per configuration the median and best per-frame wall time over all runs (fps = 1 / time) and the
median process CPU time per frame (divided by the thread count it estimates the wall time on idle cores,
the steadier figure on a shared machine). Target: >= 30 fps on 2 CPU cores.

    python benchmarks/bench_adacfnet.py [--threads 2] [--frames 30] [--runs 5] [--record]
        [--configs adacfnet@1.0,cfnet-conv2@1.0,adacfnet@0.5,adacfnet@0.25]

``--record`` appends a section (machine, commit, load, numbers) to ``benchmarks/RESULTS.md``. The weights
are random (speed does not depend on their values).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from common import append_results, dragonbaby_frames, provenance, speed_parser, timed
from siamtrack.models import build_model
from siamtrack.trackers import tracker_class


def build(name: str, width: float):
    """Tracker ``name`` around a random model of ``width`` (seed 0)."""
    torch.manual_seed(0)
    return tracker_class(name)(build_model(name, width=width), device="cpu")


def main() -> int:
    parser = speed_parser(__doc__, frames=30, runs=5)
    parser.add_argument(
        "--configs",
        default="adacfnet@1.0,cfnet-conv2@1.0,adacfnet@0.5,cfnet-conv2@0.5",
        help="comma-separated TRACKER@WIDTH",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames, box = dragonbaby_frames(args.frames)
    configs = []
    for item in args.configs.split(","):
        name, _, width = item.partition("@")
        configs.append((name, float(width or 1.0)))
    trackers = {config: build(*config) for config in configs}
    walls = {config: [] for config in configs}
    cpus = {config: [] for config in configs}
    for tracker in trackers.values():  # warm-up: oneDNN primitive creation
        tracker.init(frames[0], box)
        tracker.update(frames[1])
    for _ in range(args.runs):
        for config, tracker in trackers.items():
            tracker.init(frames[0], box)
            for image in frames[1:]:
                wall, cpu = timed(tracker.update, image)
                walls[config].append(wall)
                cpus[config].append(cpu)
    rows = []
    for name, width in configs:
        wall, cpu = np.array(walls[(name, width)]), np.array(cpus[(name, width)])
        idle = np.median(cpu) / args.threads
        rows.append(
            f"| {name} | {width:g} | {np.median(wall) * 1e3:.1f} ms ({1 / np.median(wall):.1f} fps) | "
            f"{wall.min() * 1e3:.1f} ms ({1 / wall.min():.1f} fps) | {np.median(cpu) * 1e3:.1f} ms | "
            f"{1 / idle:.1f} fps |"
        )
    lines = [
        f"- {provenance()}",
        f"- command: `python benchmarks/bench_adacfnet.py --threads {args.threads} --frames {args.frames} "
        f"--runs {args.runs} --configs {args.configs}`",
        f"- {args.runs} runs x {len(frames) - 1} frames of OTB DragonBaby, `update()` only (crops, SE, correlation, "
        "upsampling, template update), random weights",
        "",
        "| tracker | width | wall, median | wall, best | CPU time, median | CPU / threads -> fps |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    print("\n".join(lines))
    if args.record:
        append_results("AdaCFNet tracking speed (benchmarks/bench_adacfnet.py)", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
