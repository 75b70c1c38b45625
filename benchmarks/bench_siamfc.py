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

import sys

import numpy as np
import torch

from common import (
    append_results,
    command_line,
    dragonbaby_frames,
    flop_bound_ms,
    interleaved_times,
    matmul_gflops,
    matmul_operands,
    provenance,
    siamese_step_flops,
    speed_parser,
    MATMUL_FLOPS,
    MATMUL_SIZE,
)
from siamtrack.models import build_model
from siamtrack.trackers.siamfc import SiamFCTracker


def main() -> int:
    parser = speed_parser(__doc__, frames=30, runs=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    frames, box = dragonbaby_frames(args.frames)
    tracker = SiamFCTracker(build_model("siamfc"), device="cpu")
    tracker.init(frames[0], box)
    backbone_flops, correlation_flops = siamese_step_flops(tracker, frames[1])
    flops = backbone_flops + correlation_flops
    operands = matmul_operands()

    steps, matmuls, _ = interleaved_times(tracker, frames, box, args.runs, operands)  # columns: wall, CPU
    rates = matmul_gflops(matmuls[:, 0])
    steps_ms = steps[:, 0] * 1e3
    # CPU-time ratio: both sides charged only for the CPU they got, so other processes matter less
    cpu_ratio = np.median(steps[:, 1]) / (np.median(matmuls[:, 1]) * flops / MATMUL_FLOPS)
    bound_median, bound_best = flop_bound_ms(flops, rates)

    lines = [
        f"- command: `{command_line(__file__)}`",
        f"- {provenance()}",
        f"- one step: {backbone_flops / 1e9:.3f} GFLOP backbone (3 x 255x255 crops) + "
        f"{correlation_flops / 1e9:.4f} GFLOP correlation",
        f"- matmul float32 {MATMUL_SIZE}^3 (interleaved, {len(rates)} runs): median {np.median(rates):.1f} GFLOP/s, "
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
        append_results(
            f"SiamFC-3s speed vs FLOP bound (benchmarks/bench_siamfc.py, {torch.get_num_threads()} threads)",
            "\n".join(lines),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
