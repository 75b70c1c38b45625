"""SiamFC tracking speed against its FLOP bound.

Measures (1) the machine's float32 matmul rate with torch (GFLOP/s, large square matmul, median of runs),
(2) the FLOPs of one SiamFC-3s tracking step (3 search crops through the full-width AlexNet + the
cross-correlation with the 6x6 template; 2 FLOPs per multiply-add, convolutions only), and (3) the
measured time of ``SiamFCTracker.update`` on real frames (crops, response upsampling and post-processing
included). The target: measured <= 1.3x the FLOP-bound time.

Matmul and tracking steps are interleaved (one 2048^3 matmul after every tracking step), so both see the
same machine load; the ratio is reported from the medians and from the minima (the least disturbed runs of
each, the better estimate on a shared machine).

    python benchmarks/bench_siamfc.py [--threads 2] [--frames 30] [--runs 5] [--record]

``--record`` appends a section (machine, commit, numbers) to ``benchmarks/RESULTS.md``. The weights are
random (speed does not depend on their values). Timings are noisy on a shared machine: check the load.
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

from siamtrack.data import ImageFiles  # noqa: E402
from siamtrack.models import build_model  # noqa: E402
from siamtrack.trackers.siamfc import SiamFCTracker  # noqa: E402


def timed(function, *args) -> tuple[float, float]:
    """(wall seconds, process CPU seconds, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def step_flops(tracker: SiamFCTracker, image: np.ndarray) -> tuple[int, int]:
    """(backbone FLOPs, correlation FLOPs) of one update: hooks count every Conv2d on the actual crops."""
    counted = []

    def hook(module: nn.Conv2d, _inputs, output):
        kh, kw = module.kernel_size
        counted.append(2 * output.numel() * (module.in_channels // module.groups) * kh * kw)

    handles = [m.register_forward_hook(hook) for m in tracker.model.modules() if isinstance(m, nn.Conv2d)]
    p = tracker.params
    sides = tracker.context_region * p.instance_size / p.context_size * p.scale_factors
    with torch.inference_mode():
        crops = tracker.crop_inputs(image, sides, p.instance_size)
        features = tracker.model.embed(crops)
    for handle in handles:
        handle.remove()
    template = tracker.template
    response = features.shape[-1] - template.shape[-1] + 1
    correlation = 2 * features.shape[0] * response ** 2 * template[0].numel()
    return sum(counted), correlation


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
        return commit + (" + uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_frames(count: int) -> tuple[list[np.ndarray], np.ndarray]:
    shared = Path(os.environ.get("SIAMTRACK_SHARED", REPO.parent / "shared"))
    root = shared / "data" / "benchmarks" / "OTB" / "DragonBaby"
    paths = sorted((root / "img").glob("*.jpg"))[:count]
    if not paths:
        raise SystemExit(f"no frames under {root} (set SIAMTRACK_SHARED)")
    box = np.loadtxt(root / "groundtruth_rect.txt", delimiter=",")[0] - np.array([1, 1, 0, 0])
    return list(ImageFiles(paths)), box


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="append the result to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    frames, box = load_frames(args.frames)
    tracker = SiamFCTracker(build_model("siamfc"), device="cpu")
    tracker.init(frames[0], box)
    backbone_flops, correlation_flops = step_flops(tracker, frames[1])
    flops = backbone_flops + correlation_flops
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    timed(torch.matmul, a, b)

    steps, matmuls = [], []
    for _ in range(args.runs):
        tracker.init(frames[0], box)
        for image in frames[1:]:
            steps.append(timed(tracker.update, image))
            matmuls.append(timed(torch.matmul, a, b))
    steps, matmuls = np.array(steps), np.array(matmuls)  # columns: wall, CPU
    rates = 2.0 * 2048 ** 3 / matmuls[:, 0] / 1e9
    steps_ms = steps[:, 0] * 1e3
    # CPU-time ratio: both sides charged only for the CPU they got, so other processes matter less
    cpu_ratio = np.median(steps[:, 1]) / (np.median(matmuls[:, 1]) * flops / (2.0 * 2048 ** 3))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    bound_median = flops / (np.median(rates) * 1e9) * 1e3
    bound_best = flops / (rates.max() * 1e9) * 1e3

    lines = [
        f"- command: `python benchmarks/bench_siamfc.py {' '.join(sys.argv[1:])}`",
        f"- machine: {machine_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"load average after the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        f"- commit: {git_commit()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- one step: {backbone_flops / 1e9:.3f} GFLOP backbone (3 x 255x255 crops) + "
        f"{correlation_flops / 1e9:.4f} GFLOP correlation",
        f"- matmul float32 2048^3 (interleaved, {len(rates)} runs): median {np.median(rates):.1f} GFLOP/s, "
        f"best {rates.max():.1f} GFLOP/s",
        f"- SiamFCTracker.update ({args.runs} runs x {len(frames) - 1} frames of OTB DragonBaby): median "
        f"{np.median(steps_ms):.1f} ms, best {steps_ms.min():.1f} ms",
        f"- FLOP-bound time: {bound_median:.1f} ms at the median rate, {bound_best:.1f} ms at the best rate",
        f"- ratio measured / bound: **{np.median(steps_ms) / bound_median:.2f}** (medians), "
        f"**{steps_ms.min() / bound_best:.2f}** (minima), **{cpu_ratio:.2f}** (process CPU time of a step / "
        f"CPU time of the matmul FLOPs, medians); target <= 1.30",
    ]
    print("\n".join(lines))
    if args.record:
        results = REPO / "benchmarks" / "RESULTS.md"
        header = "" if results.exists() else "# Benchmark results\n"
        with open(results, "a") as handle:
            handle.write(f"{header}\n## SiamFC-3s speed vs FLOP bound (benchmarks/bench_siamfc.py, "
                         f"{torch.get_num_threads()} threads)\n\n")
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
