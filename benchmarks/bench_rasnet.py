"""RASNet tracking speed against the FLOP bound of its embedding.

RASNet infers its attentions once, on the first frame, and folds them into the template (``γ ⊙ φ(z)``,
Eq. 7); every later frame is SiamFC's search: 3 search crops through the AlexNet embedding + one
cross-correlation. Measured as ``benchmarks/bench_siamfc.py`` does it, with the same helpers of
``benchmarks/common.py`` (one FLOP count and one matmul timing for both benchmarks):

1. the FLOPs of one tracking step (embedding of the 3 crops + correlation with the folded template);
2. the machine's float32 matmul rate (2048^3), one matmul after every tracking step so both see the same load;
3. ``RASNetTracker.update`` on real frames (crops, response upsampling and post-processing included), and the
   one-off ``init`` (attention inference);
4. the same for a SiamFC tracker of the same width (interleaved the same way), to show that the attentions
   cost nothing per frame.

The ratio measured / bound is reported from the medians and from the minima (the least disturbed runs, the
better estimate on a shared machine). Target: <= 1.3.

    python benchmarks/bench_rasnet.py [--width 1.0] [--threads 2] [--frames 30] [--runs 5] [--record]

``--record`` appends a section (machine, commit, numbers) to ``benchmarks/RESULTS.md``. Random weights (the
speed does not depend on their values).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from common import (
    append_results,
    dragonbaby_frames,
    flop_bound_ms,
    interleaved_times,
    matmul_gflops,
    matmul_operands,
    provenance,
    siamese_step_flops,
    speed_parser,
    MATMUL_SIZE,
)
from siamtrack.models import build_model
from siamtrack.trackers.rasnet import RASNetTracker
from siamtrack.trackers.siamfc import SiamFCTracker


def main() -> int:
    parser = speed_parser(__doc__, frames=30, runs=5)
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier of the embedding")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    frames, box = dragonbaby_frames(args.frames)
    rasnet = RASNetTracker(build_model("rasnet", width=args.width), device="cpu")
    siamfc = SiamFCTracker(build_model("siamfc", width=args.width), device="cpu")
    rasnet.init(frames[0], box)
    embedding_flops, correlation_flops = siamese_step_flops(rasnet, frames[1])
    flops = embedding_flops + correlation_flops
    operands = matmul_operands()

    steps, matmuls, inits = interleaved_times(rasnet, frames, box, args.runs, operands)
    siamfc_steps, _, siamfc_inits = interleaved_times(siamfc, frames, box, args.runs, operands)
    rates = matmul_gflops(matmuls[:, 0])
    steps_ms, siamfc_ms = steps[:, 0] * 1e3, siamfc_steps[:, 0] * 1e3
    bound_median, bound_best = flop_bound_ms(flops, rates)

    lines = [
        f"- {provenance()}",
        f"- command: `python benchmarks/bench_rasnet.py --width {args.width:g} --threads {args.threads} "
        f"--frames {args.frames} --runs {args.runs}`",
        f"- one step (width {args.width:g}): {embedding_flops / 1e9:.3f} GFLOP embedding (3 x 255x255 crops) + "
        f"{correlation_flops / 1e9:.4f} GFLOP correlation with the folded template",
        f"- matmul float32 {MATMUL_SIZE}^3 (interleaved, {len(rates)} runs): median {np.median(rates):.1f} GFLOP/s, "
        f"best {rates.max():.1f} GFLOP/s",
        f"- RASNetTracker.update ({args.runs} runs x {len(frames) - 1} frames of OTB DragonBaby): median "
        f"{np.median(steps_ms):.1f} ms, best {steps_ms.min():.1f} ms",
        f"- FLOP-bound time: {bound_median:.1f} ms at the median rate, {bound_best:.1f} ms at the best rate",
        f"- ratio measured / bound: **{np.median(steps_ms) / bound_median:.2f}** (medians), "
        f"**{steps_ms.min() / bound_best:.2f}** (minima); target <= 1.30",
        f"- same-width SiamFCTracker.update: median {np.median(siamfc_ms):.1f} ms, best {siamfc_ms.min():.1f} ms "
        f"(RASNet / SiamFC: {np.median(steps_ms) / np.median(siamfc_ms):.2f} medians, "
        f"{steps_ms.min() / siamfc_ms.min():.2f} minima); init (first frame, attentions inferred once): RASNet "
        f"{np.median(inits) * 1e3:.1f} ms, SiamFC {np.median(siamfc_inits) * 1e3:.1f} ms (medians)",
    ]
    print("\n".join(lines))
    if args.record:
        append_results(
            f"RASNet speed vs FLOP bound, width {args.width:g} (benchmarks/bench_rasnet.py)", "\n".join(lines)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
