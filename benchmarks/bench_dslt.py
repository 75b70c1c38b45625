"""DSLT* speed: where the time of a frame goes (feature extraction, regression, online update, ...).

For each backbone, the tracker runs ``--frames`` frames of a real sequence ``--runs`` times (random weights: the
cost does not depend on them); the tracker's ``stage_seconds`` split each frame into ``crop`` (the
``num_scales`` search crops), ``features`` (the frozen backbone on them), ``regression`` (the regression network),
``locate`` (upsampling, peak, scale choice), ``update`` (label + ``update_iterations`` Adam steps on the last
``memory`` frames); the first frame splits into feature extraction and ``init_training`` (``init_iterations``
steps). Reported: medians over the runs of the per-frame means, in ms, and the frames per second.

    python benchmarks/bench_dslt.py [--backbones siamfc,vgg16,resnet50] [--frames 20] [--runs 3]
        [--sequence DragonBaby] [--threads N] [--record]

``--record`` appends the table, the machine, the load average and the git commit to ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from siamtrack.data import shared_split
from siamtrack.trackers import build_tracker

REPO = Path(__file__).resolve().parents[1]
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
        wall, cpu = time.perf_counter(), time.process_time()
        tracker.init(frames[0], box)
        init = {"init total": time.perf_counter() - wall, "init features": tracker.stage_seconds["features"],
                "init_training": tracker.stage_seconds["init_training"]}
        tracker.stage_seconds.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for frame in frames[1:]:
            tracker.update(frame)
        count = len(frames) - 1
        values = {stage: tracker.stage_seconds[stage] / count for stage in FRAME_STAGES}
        values["frame total"] = (time.perf_counter() - wall) / count
        values["frame CPU"] = (time.process_time() - cpu) / count
        values.update(init)
        for key, value in values.items():
            per_run.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in per_run.items()}


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
        return head + (" + uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="siamfc,vgg16,resnet50")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sequence", default="DragonBaby", help="a dev-eval sequence")
    parser.add_argument("--shared", default=os.environ.get("SIAMTRACK_SHARED", str(REPO.parent / "shared")))
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sequence = next(s for s in shared_split(args.shared, "dev-eval") if s.name == args.sequence)
    frames = [sequence.frames[i] for i in range(min(args.frames, len(sequence.frames)))]
    names = [name for name in args.backbones.split(",") if name]
    results = {name: measure(name, frames, sequence.init_box, args.runs) for name in names}

    keys = ["crop", "features", "regression", "locate", "update", "frame total", "frame CPU", "init features",
            "init_training", "init total"]
    lines = ["| backbone | " + " | ".join(keys) + " | fps |", "|---" * (len(keys) + 2) + "|"]
    for name, values in results.items():
        cells = [f"{1000 * values[key]:.1f}" for key in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {1 / values['frame total']:.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.record:
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        section = [
            "", "## DSLT* per-frame time by stage (benchmarks/bench_dslt.py)", "",
            f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
            f"{platform.system()} {platform.release()}; torch {torch.__version__}, {torch.get_num_threads()} threads",
            f"- commit: {git_commit()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average after "
            f"the run {load}",
            f"- command: `python benchmarks/bench_dslt.py --backbones {args.backbones} --frames {args.frames} "
            f"--runs {args.runs} --sequence {args.sequence}`",
            f"- ms per frame (median of {args.runs} runs of {len(frames) - 1} frames of {args.sequence}, random "
            "weights, default DSLTParams: 3 scales, 2 Adam steps on the last 7 frames per frame, 50 first-frame "
            "steps); `frame CPU` is the process CPU time", "", table, ""]
        with open(REPO / "benchmarks" / "RESULTS.md", "a") as handle:
            handle.write("\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
