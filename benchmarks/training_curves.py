"""Training-loss curves of finished or running ``siamtrack train`` runs, in one figure and one markdown table
(:func:`common.training_curves`): e.g. the bundled default models' runs, to see whether their losses were still
falling when training stopped.

    python benchmarks/training_curves.py --run siamfc=runs/bundled-siamfc --run dcfnet=runs/bundled-dcfnet \\
        --out benchmarks/figures/bundled-training [--window 50]

Writes ``<out>.png`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import training_curves


def label_and_run(text: str) -> tuple[str, Path]:
    label, separator, run = text.partition("=")
    if not separator or not label or not run:
        raise argparse.ArgumentTypeError(f"expected LABEL=RUN_DIR, got {text!r}")
    if not (Path(run) / "log.csv").is_file():
        raise argparse.ArgumentTypeError(f"{run}: no log.csv (not a siamtrack train run directory)")
    return label, Path(run)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=label_and_run, action="append", required=True, metavar="LABEL=RUN_DIR")
    parser.add_argument("--out", type=Path, required=True, help="output path without extension")
    parser.add_argument("--window", type=int, default=50, help="moving-average window in iterations")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    training_curves(dict(args.run), args.out.with_suffix(".png"), args.out.with_suffix(".md"), args.window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
