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

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from siamtrack.data import shared_split  # noqa: E402
from siamtrack.models.vgg import VGG16  # noqa: E402
from siamtrack.trackers import build_tracker  # noqa: E402


def make_tracker(name: str):
    if name == "tadt-vgg16":
        return build_tracker("tadt", weights=VGG16().state_dict(), backbone="vgg16")
    return build_tracker(name, weights="random")


def backbone_of(tracker) -> nn.Module:
    return tracker.features if hasattr(tracker, "features") else tracker.model.backbone


def update_profile(tracker, image: np.ndarray) -> tuple[int, int]:
    """(backbone passes, convolution FLOPs) of one ``update`` on ``image`` (2 FLOPs per multiply-add)."""
    passes, flops = [], []
    backbone = backbone_of(tracker)

    def count_conv(module: nn.Conv2d, _inputs, output):
        kh, kw = module.kernel_size
        flops.append(2 * output.numel() * (module.in_channels // module.groups) * kh * kw)

    handles = [backbone.register_forward_hook(lambda *_: passes.append(1))]
    handles += [m.register_forward_hook(count_conv) for m in backbone.modules() if isinstance(m, nn.Conv2d)]
    state = (tracker._center.copy(), tracker._scale)
    try:
        tracker.update(image)
    finally:
        for handle in handles:
            handle.remove()
        tracker._center, tracker._scale = state
    return len(passes), int(sum(flops))


def one_run(name: str, sequences, frames: int) -> tuple[float, float, float]:
    """(init seconds per sequence, update wall seconds per frame, update CPU seconds per frame)."""
    inits, walls, cpus = [], [], []
    for sequence in sequences:
        tracker = make_tracker(name)
        images = [sequence.frames[i] for i in range(min(frames + 1, len(sequence)))]
        start = time.perf_counter()
        tracker.init(images[0], sequence.ground_truth[0])
        inits.append(time.perf_counter() - start)
        wall, cpu = time.perf_counter(), time.process_time()
        for image in images[1:]:
            tracker.update(image)
        walls.append((time.perf_counter() - wall) / (len(images) - 1))
        cpus.append((time.process_time() - cpu) / (len(images) - 1))
    return float(np.mean(inits)), float(np.mean(walls)), float(np.mean(cpus))


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
        return commit + (" (+ uncommitted work)" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the machine's cores)")
    parser.add_argument("--frames", type=int, default=30, help="updates per sequence and run")
    parser.add_argument("--runs", type=int, default=3, help="runs (the median is reported)")
    parser.add_argument("--sequences", type=int, default=2, help="first N dev-eval sequences")
    parser.add_argument("--shared", default=os.environ.get("SIAMTRACK_SHARED", str(REPO.parent / "shared")))
    parser.add_argument("--vgg", action="store_true", help="also time the VGG-16 backbone (slow)")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
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

    lines = ["| tracker | fps (update, wall, median) | ms / frame (wall) | CPU ms / frame | init s / sequence | "
             "backbone passes / update | conv GFLOP / update |", "|---|---|---|---|---|---|---|"]
    for name in names:
        init, wall, cpu = (float(np.median([run[i] for run in results[name]])) for i in range(3))
        passes, flops = profiles[name]
        lines.append(f"| {name} | {1 / wall:.2f} | {wall * 1e3:.0f} | {cpu * 1e3:.0f} | {init:.2f} | {passes} | "
                     f"{flops / 1e9:.2f} |")
    runs = {name: [f"{1 / run[1]:.2f}" for run in results[name]] for name in names}
    table = "\n".join(lines)
    print(table)
    print("fps of each run:", runs)
    if args.record:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        sequence_names = ", ".join(s.name for s in sequences)
        section = (f"\n## TADT beside SiamFC (`benchmarks/bench_tadt.py`)\n\n"
                   f"Command: `python benchmarks/bench_tadt.py --threads {args.threads} --frames {args.frames} "
                   f"--runs {args.runs} --sequences {args.sequences}{' --vgg' if args.vgg else ''} --record`; "
                   f"dev-eval {sequence_names}, random weights, full width; load average {load_before:.1f} -> "
                   f"{load_after:.1f}.\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} "
                   f"logical CPUs, {platform.system()} {platform.release()}; torch {torch.__version__}; git commit "
                   f"{git_commit()}; {stamp}.\n\n{table}\n\nfps of each run: {runs}\n")
        with open(REPO / "benchmarks" / "RESULTS.md", "a") as handle:
            handle.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
