"""DSLT Fig. 16 (Lu et al., TPAMI 2020, Sec. 5.4 "Convergence Speed"): how fast the regression network fits the
first frame with each loss -- training-loss curves (mean and deviation over sequences) and the iterations each
sequence needs to converge.

For every sequence and loss, the DSLT* tracker is initialised on the first frame with ``init_iterations = 0``
(the same random 1x1 reductions for every loss: one seed per sequence), then trained step by step with the
first-frame Adam settings. Recorded per iteration: the loss (normalised by its value before the first step, so
losses of different scales share an axis) and the loss-independent fitting error ``||P - Y||² / ||Y||²``
between the response ``P`` and the Gaussian label ``Y``. A sequence has converged at the first iteration where
that error falls below ``--tolerance`` (0.5: half of the label's energy explained; with the default rates the
error is still ~0.3-0.7 after 60 steps) -- our criterion, as the paper does not state its own.

Writes ``<out>/curves.json``, ``fig16_loss.png`` (normalised loss, mean ± std), ``fig16_error.png`` (fitting
error, mean ± std), ``fig16_iterations.png`` (mean ± std iterations to converge) and ``report.md``.

    python benchmarks/ablations/dslt_convergence.py [--out runs/dslt-convergence] [--split dev-eval]
        [--losses l2,l3,shrinkage] [--iterations 150] [--weights PATH] [--param KEY=VALUE ...]

Cost: about 0.1-0.2 s per iteration on the idle 2-core CPU with the width-1 SiamFC backbone (one 255x255 crop,
forward + backward of the regression network): 150 iterations x 3 losses x 10 sequences = 4500 steps, about
10-15 min.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import REPO, add_shared_argument  # noqa: E402
from siamtrack.data import shared_split  # noqa: E402
from siamtrack.trackers import build_tracker, parse_hyperparameters  # noqa: E402

LOSSES = ("l2", "l3", "ohnm", "shrinkage")


def fit_curves(tracker, iterations: int) -> tuple[list[float], list[float]]:
    """(loss before each step, fitting error before each step) of the tracker's first-frame training."""
    optimizer = tracker.optimizer(online=False)
    shallow, deep, labels = tracker.memory_batch()
    norm = float(labels.pow(2).sum())
    loss_values, errors = [], []
    for _ in range(iterations):
        with torch.no_grad():
            errors.append(float((tracker.network(shallow, deep) - labels).pow(2).sum()) / norm)
        loss_values.append(tracker.train_steps(optimizer, 1)[0])
    return loss_values, errors


def band(axis, curves: np.ndarray, label: str) -> None:
    mean, std = curves.mean(axis=0), curves.std(axis=0)
    steps = np.arange(curves.shape[1])
    axis.plot(steps, mean, label=label)
    axis.fill_between(steps, mean - std, mean + std, alpha=0.2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "runs" / "dslt-convergence"))
    add_shared_argument(parser)
    parser.add_argument("--split", default="dev-eval")
    parser.add_argument("--sequences", default=None, help="comma-separated sequence names (default: the split)")
    parser.add_argument("--losses", default="l2,l3,shrinkage", help=f"comma-separated among {', '.join(LOSSES)}")
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--tolerance", type=float, default=0.5)
    parser.add_argument("--weights", default=None, help="backbone weights (default: the bundled siamfc.pth)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="DSLT override")
    args = parser.parse_args(argv)
    names = [name for name in args.losses.split(",") if name]
    if any(name not in LOSSES for name in names):
        parser.error(f"--losses: choose among {', '.join(LOSSES)}")
    sequences = shared_split(args.shared, args.split)
    if args.sequences:
        wanted = args.sequences.split(",")
        sequences = [s for s in sequences if s.name in wanted]
    overrides = parse_hyperparameters(args.param)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results = {name: {"loss": [], "error": [], "iterations": [], "sequences": []} for name in names}
    for number, sequence in enumerate(sequences):
        for name in names:
            torch.manual_seed(number)  # the same initial network for every loss
            tracker = build_tracker(
                "dslt", weights=args.weights, device="cpu", **{**overrides, "loss": name, "init_iterations": 0}
            )
            tracker.init(sequence.frames[0], sequence.init_box)
            loss_values, errors = fit_curves(tracker, args.iterations)
            below = [step for step, error in enumerate(errors) if error < args.tolerance]
            converged = below[0] if below else args.iterations
            row = results[name]
            row["loss"].append(loss_values)
            row["error"].append(errors)
            row["iterations"].append(converged)
            row["sequences"].append(sequence.name)
            print(
                f"{sequence.name:24s} {name:10s} converged at {converged:4d}  final error {errors[-1]:.3f}", flush=True
            )
    (out / "curves.json").write_text(json.dumps({"tolerance": args.tolerance, "results": results}))

    for key, ylabel, filename in [
        ("loss", "loss / loss before training", "fig16_loss.png"),
        ("error", "||P - Y||² / ||Y||²", "fig16_error.png"),
    ]:
        figure, axis = plt.subplots(figsize=(5.5, 4))
        for name in names:
            curves = np.array(results[name][key])
            if key == "loss":
                curves = curves / curves[:, :1]
            band(axis, curves, name)
        axis.set_xlabel("iteration (first frame)")
        axis.set_ylabel(ylabel)
        axis.set_yscale("log")
        axis.set_title(f"Fig. 16: first-frame training ({len(sequences)} sequences, {args.split})")
        axis.legend()
        figure.tight_layout()
        figure.savefig(out / filename, dpi=120)
        plt.close(figure)
    figure, axis = plt.subplots(figsize=(4.5, 3.5))
    means = [np.mean(results[name]["iterations"]) for name in names]
    stds = [np.std(results[name]["iterations"]) for name in names]
    axis.bar(names, means, yerr=stds, capsize=4)
    axis.set_ylabel(f"iterations to error < {args.tolerance:g}")
    figure.tight_layout()
    figure.savefig(out / "fig16_iterations.png", dpi=120)
    plt.close(figure)

    lines = [
        f"# DSLT convergence (Fig. 16), {args.split}, {len(sequences)} sequences",
        "",
        f"Iterations until ||P - Y||²/||Y||² < {args.tolerance:g} ({args.iterations} = not reached).",
        "",
        "| loss | mean iterations | std | final error (mean) |",
        "|---|---|---|---|",
    ]
    for name in names:
        row = results[name]
        lines.append(
            f"| {name} | {np.mean(row['iterations']):.1f} | {np.std(row['iterations']):.1f} | "
            f"{np.mean([e[-1] for e in row['error']]):.4f} |"
        )
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
