"""DCFNet tracking speed on real frames (the authors' weights), float32 and the bfloat16 fast path.

Frames of a few real sequences are decoded up front; each run tracks all of them (``init`` + ``update``, crops
included) and its fps is frames / tracking seconds. Reported: the median and the best of ``--runs`` runs, and
the process CPU milliseconds per frame (steadier than wall time on a shared machine). A micro-benchmark of
the LRN layer (PyTorch's ``nn.LocalResponseNorm`` vs siamtrack's) on a 3-crop feature batch comes first.

    python benchmarks/bench_dcfnet.py [--frames 60] [--runs 5] [--threads N] [--cpus 0,1] [--record]

``--record`` appends a section (machine, load, commit, numbers) to ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from dcfnet_reproduce import DEFAULT_SHARED, machine_and_commit  # noqa: E402
from siamtrack.data import shared_split  # noqa: E402
from siamtrack.models.dcfnet import LocalResponseNorm  # noqa: E402
from siamtrack.trackers.dcfnet import DCFNetTracker  # noqa: E402
from siamtrack.weights.dcfnet import load_dcfnet_features  # noqa: E402

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
                start = time.perf_counter()
                layer(x)
                times[name].append(time.perf_counter() - start)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--cpus", default=None, help="pin the process to these CPUs, e.g. 0,1")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, {int(cpu) for cpu in args.cpus.split(",")})
    if args.threads:
        torch.set_num_threads(args.threads)

    features = load_dcfnet_features(args.shared / "weights" / "dcfnet" / "param.pth")
    by_name = {s.name: s for s in shared_split(args.shared, "dev-eval") if s.name in SEQUENCES}
    sequences = []
    for name in SEQUENCES:
        sequence = by_name[name]
        count = min(args.frames, len(sequence))
        sequences.append(([sequence.frames[i] for i in range(count)], sequence.init_box))

    lrn = lrn_milliseconds(args.runs)
    print(f"LRN on 3x32x125x125: " + ", ".join(f"{k} {v:.3g}" for k, v in lrn.items()))
    results = {}
    for precision in ("float32", "bfloat16"):
        tracking_runs(features, [(frames[:5], box) for frames, box in sequences], precision, 1)  # warm-up
        results[precision] = tracking_runs(features, sequences, precision, args.runs)
        print(precision, {k: round(v, 2) for k, v in results[precision].items()}, flush=True)

    if args.record:
        command = "python benchmarks/bench_dcfnet.py " + " ".join(argv if argv is not None else sys.argv[1:])
        rows = "\n".join(f"| {p} | {r['median fps']:.1f} | {r['best fps']:.1f} | {r['CPU ms/frame']:.1f} |"
                         for p, r in results.items())
        section = (
            f"\n## DCFNet tracking speed (`benchmarks/bench_dcfnet.py`)\n\n"
            f"Command: `{command.strip()}`. Authors' weights, {', '.join(SEQUENCES)} "
            f"(first {args.frames} frames each, decoded beforehand; crops, features, DCF and update timed), "
            f"{args.runs} runs. {machine_and_commit()}\n\n"
            f"LRN layer, 3 x 32 x 125 x 125 (median): nn.LocalResponseNorm {lrn['nn.LocalResponseNorm']:.2f} ms, "
            f"siamtrack {lrn['siamtrack LocalResponseNorm']:.2f} ms (max relative difference "
            f"{lrn['max relative difference']:.1e}).\n\n"
            f"| precision | fps (median of runs) | fps (best run) | CPU ms / frame |\n|---|---|---|---|\n{rows}\n")
        with open(REPO / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
