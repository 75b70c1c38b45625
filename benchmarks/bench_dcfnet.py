"""DCFNet tracking speed on real frames (the authors' weights), float32 and the bfloat16 fast path.

Frames of a few real sequences are decoded up front; each run tracks all of them (``init`` + ``update``, crops
included) and its fps is frames / tracking seconds. Reported: the median and the best of ``--runs`` runs, and
the process CPU milliseconds per frame (steadier than wall time on a shared machine). A micro-benchmark of
the LRN layer (PyTorch's ``nn.LocalResponseNorm`` vs siamtrack's) on a 3-crop feature batch comes first.

    python benchmarks/bench_dcfnet.py [--frames 60] [--runs 5] [--threads N] [--cpus 0,1] [--record]

``--record`` appends a section (machine, load, commit, numbers) to ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

from common import (add_shared_argument, append_results, command_line, first_frames, named_sequences, provenance,
                    speed_parser, timed)
from siamtrack.models.dcfnet import LocalResponseNorm
from siamtrack.trackers.dcfnet import DCFNetTracker
from siamtrack.weights.dcfnet import load_dcfnet_features

SEQUENCES = ("DragonBaby", "building5", "OTB-Basketball")


def lrn_milliseconds(runs: int) -> dict[str, float]:
    """Median ms of PyTorch's LRN and ours on a 3 x 32 x 125 x 125 channels-last feature batch."""
    torch.manual_seed(0)
    x = (torch.randn(3, 32, 125, 125) * 30).contiguous(memory_format=torch.channels_last)
    layers = {"nn.LocalResponseNorm": torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
              "siamtrack LocalResponseNorm": LocalResponseNorm(5, 1e-4, 0.75, 1.0)}
    times = {name: [] for name in layers}
    with torch.inference_mode():
        reference = layers["nn.LocalResponseNorm"](x)
        ours = layers["siamtrack LocalResponseNorm"](x)
        difference = ((reference - ours).abs() / reference.abs().clamp_min(1)).max()
        for _ in range(runs * 4):
            for name, layer in layers.items():
                times[name].append(timed(layer, x)[0])
    out = {name: float(np.median(values)) * 1e3 for name, values in times.items()}
    out["max relative difference"] = float(difference)
    return out


def tracking_runs(features, sequences, precision: str, runs: int) -> dict[str, float]:
    fps, cpu_ms = [], []
    frame_count = sum(len(frames) for frames, _ in sequences)
    for _ in range(runs):
        seconds, cpu = 0.0, 0.0
        for frames, box in sequences:
            tracker = DCFNetTracker(features, device="cpu", precision=precision)
            cpu_start = time.process_time()
            _, times = tracker.track(frames, box)
            cpu += time.process_time() - cpu_start
            seconds += float(np.sum(times))
        fps.append(frame_count / seconds)
        cpu_ms.append(cpu / frame_count * 1e3)
    return {"median fps": float(np.median(fps)), "best fps": float(np.max(fps)),
            "CPU ms/frame": float(np.median(cpu_ms)), "frames": frame_count}


def main(argv=None) -> int:
    parser = speed_parser(__doc__, frames=60, runs=5, threads=None)
    add_shared_argument(parser)
    parser.add_argument("--cpus", default=None, help="pin the process to these CPUs, e.g. 0,1")
    args = parser.parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, {int(cpu) for cpu in args.cpus.split(",")})
    if args.threads:
        torch.set_num_threads(args.threads)

    features = load_dcfnet_features(args.shared / "weights" / "dcfnet" / "param.pth")
    sequences = [(first_frames(s, args.frames), s.init_box) for s in named_sequences(args.shared, SEQUENCES)]

    lrn = lrn_milliseconds(args.runs)
    print(f"LRN on 3x32x125x125: " + ", ".join(f"{k} {v:.3g}" for k, v in lrn.items()))
    results = {}
    for precision in ("float32", "bfloat16"):
        tracking_runs(features, [(frames[:5], box) for frames, box in sequences], precision, 1)  # warm-up
        results[precision] = tracking_runs(features, sequences, precision, args.runs)
        print(precision, {k: round(v, 2) for k, v in results[precision].items()}, flush=True)

    if args.record:
        rows = "\n".join(f"| {p} | {r['median fps']:.1f} | {r['best fps']:.1f} | {r['CPU ms/frame']:.1f} |"
                         for p, r in results.items())
        append_results(
            "DCFNet tracking speed (`benchmarks/bench_dcfnet.py`)",
            f"Command: `{command_line(__file__, argv)}`. Authors' weights, {', '.join(SEQUENCES)} "
            f"(first {args.frames} frames each, decoded beforehand; crops, features, DCF and update timed), "
            f"{args.runs} runs.\n{provenance()}.\n\n"
            f"LRN layer, 3 x 32 x 125 x 125 (median): nn.LocalResponseNorm {lrn['nn.LocalResponseNorm']:.2f} ms, "
            f"siamtrack {lrn['siamtrack LocalResponseNorm']:.2f} ms (max relative difference "
            f"{lrn['max relative difference']:.1e}).\n\n"
            f"| precision | fps (median of runs) | fps (best run) | CPU ms / frame |\n|---|---|---|---|\n{rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
