"""TADT tracking speed on the CPU, beside SiamFC-3s on the same frames and under the same load.

For each tracker: the first-frame cost (``init``: one backbone pass + the channel selection of Sec. 3, i.e. the
ridge regressions and the ranking model) and the per-frame cost (``update``: one crop, ONE backbone pass -- the
three proposal sizes are made by rescaling the feature map, Sec. 4 -- the correlation and the post-processing),
as the median over ``--runs`` runs of ``--frames`` frames of the first ``--sequences`` dev-eval sequences.
The trackers alternate run by run so that all see the same machine load. The script also counts the backbone
passes per update (forward hooks) and the convolution FLOPs of one update.

    python benchmarks/bench_tadt.py [--threads 2] [--frames 30] [--runs 3] [--sequences 2] [--vgg] [--record]

Trackers: ``tadt`` (SiamFC AlexNet backbone at full width, 271-px crop, 60 + 125 selected channels),
``siamfc`` (3 search crops of 255 px), and with ``--vgg`` ``tadt-vgg16`` (relu4_1/relu4_3 of VGG-16, 192-px
crop, 80 + 250 channels; ~3x the FLOPs). Weights are random: speed does not depend on their values.
``--record`` appends a section (machine, commit, load, numbers) to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
from torch import nn

from common import (
    add_shared_argument,
    append_results,
    counting_conv_flops,
    first_frames,
    provenance,
    speed_parser,
    timed,
    update_seconds,
)
from siamtrack.data import shared_split
from siamtrack.models.vgg import VGG16
from siamtrack.trackers import build_tracker


def make_tracker(name: str):
    if name == "tadt-vgg16":
        return build_tracker("tadt", weights=VGG16().state_dict(), backbone="vgg16")
    return build_tracker(name, weights="random")


def backbone_of(tracker) -> nn.Module:
    return tracker.features if hasattr(tracker, "features") else tracker.model.backbone


def update_profile(tracker, image: np.ndarray) -> tuple[int, int]:
    """(backbone passes, convolution FLOPs) of one ``update`` on ``image`` (2 FLOPs per multiply-add)."""
    passes = []
    backbone = backbone_of(tracker)
    counting_passes = backbone.register_forward_hook(lambda *_: passes.append(1))
    state = (tracker._center.copy(), tracker._scale)
    try:
        with counting_conv_flops(backbone) as flops:
            tracker.update(image)
    finally:
        counting_passes.remove()
        tracker._center, tracker._scale = state
    return len(passes), int(sum(flops))


def one_run(name: str, sequences, frames: int) -> tuple[float, float, float]:
    """(init seconds per sequence, update wall seconds per frame, update CPU seconds per frame)."""
    inits, walls, cpus = [], [], []
    for sequence in sequences:
        tracker = make_tracker(name)
        images = first_frames(sequence, frames + 1)
        inits.append(timed(tracker.init, images[0], sequence.ground_truth[0])[0])
        wall, cpu = update_seconds(tracker, images[1:])
        walls.append(wall)
        cpus.append(cpu)
    return float(np.mean(inits)), float(np.mean(walls)), float(np.mean(cpus))


def main() -> int:
    parser = speed_parser(__doc__, frames=30, runs=3, frames_help="updates per sequence and run")
    add_shared_argument(parser)
    parser.add_argument("--sequences", type=int, default=2, help="the first N dev-eval sequences")
    parser.add_argument("--vgg", action="store_true", help="also time the VGG-16 backbone (slow)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sequences = shared_split(args.shared, "dev-eval")[: args.sequences]
    names = ["tadt", "siamfc"] + (["tadt-vgg16"] if args.vgg else [])
    load_before = os.getloadavg()[0]

    profiles = {}
    for name in names:  # warm-up (first-use costs: imports, allocator) + the per-update profile
        tracker = make_tracker(name)
        tracker.init(sequences[0].frames[0], sequences[0].ground_truth[0])
        profiles[name] = update_profile(tracker, sequences[0].frames[1])
    results = {name: [] for name in names}
    for _ in range(args.runs):
        for name in names:
            results[name].append(one_run(name, sequences, args.frames))
    load_after = os.getloadavg()[0]

    lines = [
        "| tracker | fps (update, wall, median) | ms / frame (wall) | CPU ms / frame | init s / sequence | "
        "backbone passes / update | conv GFLOP / update |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        init, wall, cpu = (float(np.median([run[i] for run in results[name]])) for i in range(3))
        passes, flops = profiles[name]
        lines.append(
            f"| {name} | {1 / wall:.2f} | {wall * 1e3:.0f} | {cpu * 1e3:.0f} | {init:.2f} | {passes} | "
            f"{flops / 1e9:.2f} |"
        )
    runs = {name: [f"{1 / run[1]:.2f}" for run in results[name]] for name in names}
    table = "\n".join(lines)
    print(table)
    print("fps of each run:", runs)
    if args.record:
        sequence_names = ", ".join(s.name for s in sequences)
        append_results(
            "TADT beside SiamFC (`benchmarks/bench_tadt.py`)",
            f"Command: `python benchmarks/bench_tadt.py --threads {args.threads} --frames {args.frames} "
            f"--runs {args.runs} --sequences {args.sequences}{' --vgg' if args.vgg else ''} --record`; "
            f"dev-eval {sequence_names}, random weights, full width; load average {load_before:.1f} -> "
            f"{load_after:.1f}.\n{provenance()}.\n\n{table}\n\nfps of each run: {runs}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
