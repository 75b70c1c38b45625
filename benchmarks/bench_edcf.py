"""Tracking speed of EDCF and its Table 1 variants beside SiamFC (and CFNet-conv2), in one run.

Every tracker runs at full width with random weights (speed does not depend on their values) on the first
``--frames`` frames of real dev-eval sequences; ``init`` and frame decoding are excluded. The trackers take
turns run by run (round robin), so all of them see the same machine load; each figure is the median over
``--runs`` runs of (frames / seconds), as wall-clock fps and as process-CPU time per frame (the steadier
figure on a shared machine: with T threads busy, CPU time is up to T x wall time).

    python benchmarks/bench_edcf.py [--threads 2] [--frames 20] [--runs 5] [--sequences 2] [--record]

``--record`` appends a section (machine, commit, load, numbers) to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

from common import add_shared_argument, append_results, first_frames, provenance, speed_parser, update_seconds
from siamtrack.data import shared_split
from siamtrack.trackers import RANDOM_WEIGHTS, build_tracker

TRACKERS = ("siamfc", "edsiam", "edcf", "cacfnet", "cacfnet-plus", "cacf", "cfnet-conv2")


def one_run(tracker, frames, box) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per frame of ``update`` over ``frames[1:]``."""
    tracker.init(frames[0], box)
    return update_seconds(tracker, frames[1:])


def main() -> int:
    parser = speed_parser(__doc__, frames=20, runs=5)
    add_shared_argument(parser)
    parser.add_argument("--trackers", default=",".join(TRACKERS))
    parser.add_argument("--sequences", type=int, default=2, help="the first N dev-eval sequences")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sequences = shared_split(args.shared, "dev-eval")[: args.sequences]
    clips = [(first_frames(s, args.frames), s.init_box) for s in sequences]
    names = [name for name in args.trackers.split(",") if name]
    trackers = {name: build_tracker(name, weights=RANDOM_WEIGHTS, device="cpu") for name in names}
    for tracker in trackers.values():  # warm-up (allocator, oneDNN kernels)
        one_run(tracker, clips[0][0][:3], clips[0][1])
    load_before = os.getloadavg()[0]
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for _ in range(args.runs):
        for frames, box in clips:
            for name, tracker in trackers.items():
                samples[name].append(one_run(tracker, frames, box))
    load_after = os.getloadavg()[0]
    rows = []
    for name in names:
        wall = np.median([s[0] for s in samples[name]])
        cpu = np.median([s[1] for s in samples[name]])
        rows.append((name, 1.0 / wall, 1e3 * wall, 1e3 * cpu))
    siamfc = dict((r[0], r) for r in rows).get("siamfc")
    lines = [
        "| tracker | fps (wall, median) | ms / frame (wall) | CPU ms / frame | fps relative to SiamFC |",
        "|---|---|---|---|---|",
    ]
    for name, fps, wall_ms, cpu_ms in rows:
        relative = f"{fps / siamfc[1]:.2f}" if siamfc else "-"
        lines.append(f"| {name} | {fps:.2f} | {wall_ms:.0f} | {cpu_ms:.0f} | {relative} |")
    table = "\n".join(lines)
    header = (
        f"{len(clips)} dev-eval sequences ({', '.join(s.name for s in sequences)}), {args.frames} frames each, "
        f"{args.runs} runs, {args.threads} torch threads, full width, random weights; load average "
        f"{load_before:.1f} -> {load_after:.1f}"
    )
    print(header)
    print(table)
    if args.record:
        append_results(
            "EDCF and its ablation trackers beside SiamFC (`benchmarks/bench_edcf.py`)",
            f"Command: `python benchmarks/bench_edcf.py --threads {args.threads} --frames {args.frames} "
            f"--runs {args.runs} --sequences {args.sequences} --record`; {header}.\n{provenance()}.\n\n"
            f"{table}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
