"""DCFNet tracking speed on real frames (the authors' weights), float32 and the bfloat16 fast path.

Frames of a few real sequences are decoded up front; each run tracks all of them (``init`` + ``update``, crops
included) and its fps is frames / tracking seconds. Reported: the median and the best of ``--runs`` runs, and
the process CPU milliseconds (all threads) and page faults per frame (CPU time is steadier than wall time on a
shared machine). First come a micro-benchmark of the LRN layer (PyTorch's ``nn.LocalResponseNorm`` vs
siamtrack's) on a 3-crop feature batch and the CPU milliseconds of each stage of one float32 update.
Under load, run with ``OMP_WAIT_POLICY=PASSIVE`` (spinning OpenMP threads starve each other).

    python benchmarks/bench_dcfnet.py [--frames 60] [--runs 5] [--threads N] [--cpus 0,1] [--record]

Last, a floor for one frame on this machine: the float32 convolution FLOPs of an update (conv1 and conv2 on the
4 crops) at the machine's measured matmul rate (the median of 2048^3 float32 matmuls; oneDNN's direct
convolution cannot beat the matmul rate) plus the wall time of the 4 x 32 feature ``rfft2`` (which no exact
float32 path avoids), everything else (crops, LRN, DCF, Python) counted as free. ``1000 / floor`` is a ceiling on
the float32 fps that no scheduling of the same arithmetic can pass.

``--record`` appends a section (machine, load, commit, numbers) to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
import torch

from common import (
    add_shared_argument,
    append_results,
    command_line,
    counting_conv_flops,
    first_frames,
    matmul_gflops,
    matmul_operands,
    named_sequences,
    provenance,
    speed_parser,
    timed,
)
from siamtrack.models.dcfnet import LocalResponseNorm, dcf_response
from siamtrack.trackers.base import keep_freed_memory
from siamtrack.trackers.dcfnet import DCFNetTracker
from siamtrack.weights.dcfnet import load_dcfnet_features

SEQUENCES = ("DragonBaby", "building5", "OTB-Basketball")


def lrn_milliseconds(runs: int) -> dict[str, float]:
    """Median CPU ms of PyTorch's LRN and ours on a 3 x 32 x 125 x 125 channels-last feature batch (ours
    includes the transpose to the NCHW layout it returns)."""
    torch.manual_seed(0)
    x = (torch.randn(3, 32, 125, 125) * 30).contiguous(memory_format=torch.channels_last)
    layers = {
        "nn.LocalResponseNorm": torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
        "siamtrack LocalResponseNorm": LocalResponseNorm(5, 1e-4, 0.75, 1.0),
    }
    times = {name: [] for name in layers}
    with torch.inference_mode():
        reference = layers["nn.LocalResponseNorm"](x)
        ours = layers["siamtrack LocalResponseNorm"](x)
        difference = ((reference - ours).abs() / reference.abs().clamp_min(1)).max()
        for _ in range(runs * 4):
            for name, layer in layers.items():
                times[name].append(timed(layer, x)[1])
    out = {name: float(np.median(values)) * 1e3 for name, values in times.items()}
    out["max relative difference"] = float(difference)
    return out


def tracker_after_three_frames(features, frames, box) -> tuple[DCFNetTracker, list[np.ndarray]]:
    """A float32 tracker that has tracked ``frames[:3]``, and the windows of its next update's 4 crops (the 3
    scales, then the model-update crop at the current size)."""
    tracker = DCFNetTracker(features, device="cpu")
    tracker.track(frames[:3], box)
    windows = [tracker.size * (factor * (1 + tracker.params.padding)) for factor in tracker.scale_factors]
    windows.append(tracker.size * (1 + tracker.params.padding))
    return tracker, windows


def stage_milliseconds(features, frames, box, runs: int) -> dict[str, float]:
    """Median CPU ms of each stage of a float32 update (4 crops: 3 scales and the model-update crop) on a real
    frame, and of the whole update; each stage is repeated on the same input."""
    tracker, windows = tracker_after_three_frames(features, frames, box)
    image = frames[3]
    net = tracker.net
    conv1, relu, conv2, lrn = net.feature.feature
    with torch.inference_mode():
        crops = [tracker._crop(image, window) for window in windows]
        pixels = tracker._pixels(crops)
        conv1_out = relu(conv1(pixels))
        conv2_out = conv2(conv1_out)
        lrn_out = lrn(conv2_out)
        windowed = torch.empty_like(lrn_out)
        spectra = torch.fft.rfft2(torch.mul(lrn_out, net.window, out=windowed))

        def dcf():
            tracker._learn(spectra[:1])
            response = dcf_response(spectra[1:], tracker.template_fft, tracker.alpha_fft, net.window.shape)
            return torch.max(response.view(len(windows) - 1, -1), 1)

        stages = {
            "crops (4 cv2.warpAffine)": lambda: [tracker._crop(image, window) for window in windows],
            "uint8 -> float32 - mean": lambda: tracker._pixels(crops),
            "conv1 + ReLU": lambda: relu(conv1(pixels)),
            "conv2": lambda: conv2(conv1_out),
            "LRN (with the NCHW transpose)": lambda: lrn(conv2_out),
            "cosine window": lambda: torch.mul(lrn_out, net.window, out=windowed),
            "rfft2 (4 x 32 channels)": lambda: torch.fft.rfft2(windowed),
            "DCF: model update, response, peaks": dcf,
            "whole update": lambda: tracker.update(image),
        }
        out = {}
        for name, stage in stages.items():
            stage()  # warm-up
            out[name] = float(np.median([timed(stage)[1] for _ in range(runs * 6)])) * 1e3
    return out


def float32_floor(features, frames, box, runs: int) -> dict[str, float]:
    """The frame-time floor of the module docstring: conv FLOPs of one update at the median matmul rate, plus the
    median wall ms of the update's ``rfft2``; and the fps ceiling it implies."""
    tracker, windows = tracker_after_three_frames(features, frames, box)
    with torch.inference_mode():
        pixels = tracker._pixels([tracker._crop(frames[3], window) for window in windows])
        with counting_conv_flops(tracker.net.feature) as counted:
            features_out = tracker.net.feature(pixels)
        windowed = (features_out * tracker.net.window).contiguous()
        operands = matmul_operands()
        rates = matmul_gflops(np.array([timed(torch.matmul, *operands)[0] for _ in range(runs * 2)]))
        torch.fft.rfft2(windowed)  # warm-up
        fft_ms = float(np.median([timed(torch.fft.rfft2, windowed)[0] for _ in range(runs * 6)])) * 1e3
    conv_ms = sum(counted) / (float(np.median(rates)) * 1e9) * 1e3
    return {
        "conv GFLOP per update": sum(counted) / 1e9,
        "matmul GFLOP/s": float(np.median(rates)),
        "conv ms at the matmul rate": conv_ms,
        "rfft2 wall ms": fft_ms,
        "floor ms": conv_ms + fft_ms,
        "fps ceiling": 1e3 / (conv_ms + fft_ms),
    }


def tracking_runs(features, sequences, precision: str, runs: int) -> dict[str, float]:
    fps, cpu_ms, faults = [], [], []
    frame_count = sum(len(frames) for frames, _ in sequences)
    for _ in range(runs):
        seconds, cpu = 0.0, 0.0
        faults_start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for frames, box in sequences:
            tracker = DCFNetTracker(features, device="cpu", precision=precision)
            cpu_start = time.process_time()
            _, times = tracker.track(frames, box)
            cpu += time.process_time() - cpu_start
            seconds += float(np.sum(times))
        fps.append(frame_count / seconds)
        cpu_ms.append(cpu / frame_count * 1e3)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_start) / frame_count)
    return {
        "median fps": float(np.median(fps)),
        "best fps": float(np.max(fps)),
        "CPU ms/frame": float(np.median(cpu_ms)),
        "page faults/frame": float(np.median(faults)),
        "frames": frame_count,
    }


def main(argv=None) -> int:
    parser = speed_parser(__doc__, frames=60, runs=5, threads=None)
    add_shared_argument(parser)
    parser.add_argument("--cpus", default=None, help="pin the process to these CPUs, e.g. 0,1")
    args = parser.parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, {int(cpu) for cpu in args.cpus.split(",")})
    if args.threads:
        torch.set_num_threads(args.threads)

    keep_freed_memory()  # as the tracking loops do: the micro-benchmarks then time compute, not page faults
    features = load_dcfnet_features(args.shared / "weights" / "dcfnet" / "param.pth")
    sequences = [(first_frames(s, args.frames), s.init_box) for s in named_sequences(args.shared, SEQUENCES)]

    lrn = lrn_milliseconds(args.runs)
    print("LRN on 3x32x125x125: " + ", ".join(f"{k} {v:.3g}" for k, v in lrn.items()))
    stages = stage_milliseconds(features, *sequences[0], args.runs)
    print("float32 update, CPU ms per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()), flush=True)
    floor = float32_floor(features, *sequences[0], args.runs)
    print("float32 floor: " + ", ".join(f"{k} {v:.2f}" for k, v in floor.items()), flush=True)
    results = {}
    for precision in ("float32", "bfloat16"):
        tracking_runs(features, [(frames[:5], box) for frames, box in sequences], precision, 1)  # warm-up
        results[precision] = tracking_runs(features, sequences, precision, args.runs)
        print(precision, {k: round(v, 2) for k, v in results[precision].items()}, flush=True)

    if args.record:
        rows = "\n".join(
            f"| {p} | {r['median fps']:.1f} | {r['best fps']:.1f} | {r['CPU ms/frame']:.1f} | "
            f"{r['page faults/frame']:.0f} |"
            for p, r in results.items()
        )
        stage_rows = "\n".join(f"| {name} | {ms:.2f} |" for name, ms in stages.items())
        append_results(
            "DCFNet tracking speed (`benchmarks/bench_dcfnet.py`)",
            f"Command: `OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} "
            f"{command_line(__file__, argv)}`. Authors' weights, {', '.join(SEQUENCES)} "
            f"(first {args.frames} frames each, decoded beforehand; crops, features, DCF and update timed), "
            f"{args.runs} runs.\n{provenance()}.\n\n"
            f"LRN layer, 3 x 32 x 125 x 125 channels-last (median CPU): nn.LocalResponseNorm "
            f"{lrn['nn.LocalResponseNorm']:.2f} ms, siamtrack {lrn['siamtrack LocalResponseNorm']:.2f} ms (max "
            f"relative difference {lrn['max relative difference']:.1e}).\n\n"
            f"| float32 update stage | CPU ms (median) |\n|---|---|\n{stage_rows}\n\n"
            f"| precision | fps (median of runs) | fps (best run) | CPU ms / frame | page faults / frame |\n"
            f"|---|---|---|---|---|\n{rows}\n\n"
            f"Float32 floor per frame ({torch.get_num_threads()} threads): conv1 + conv2 on 4 crops "
            f"{floor['conv GFLOP per update']:.3f} GFLOP at the median matmul rate {floor['matmul GFLOP/s']:.0f} "
            f"GFLOP/s = {floor['conv ms at the matmul rate']:.2f} ms, plus the rfft2 of 4 x 32 channels "
            f"{floor['rfft2 wall ms']:.2f} ms (wall) = {floor['floor ms']:.2f} ms: at most "
            f"{floor['fps ceiling']:.0f} fps for exact float32 even with crops, LRN, DCF and Python for free.",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
