"""The pretrained-backbone trackers on the dev-eval split, with the seed spread of every trained row.

For each trained row (a config) and seed: ``siamtrack train --config C --set train.seed=S`` (resumed where a run
stopped), then ``siamtrack eval`` on the dev-eval split under the got10k protocol (resumed: finished sequences are
kept), once per tracker precision. Untrained rows (``tadt-lite``, ``dslt-lite``: ImageNet features, no offline
training, deterministic) run once. Reference rows (CSRT, the authors' DCFNet ...) are read from result folders that
already exist under ``--results``. Prints, and with ``--record`` appends to ``benchmarks/RESULTS.md``: mean AUC ±
half the range over seeds per row, each seed's AUC, and the per-sequence AUC of each row (mean over seeds).

    python benchmarks/pretrained_trackers.py --seeds 0 1 2 --record
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common import REPO, add_shared_argument, append_results, command_line, provenance

SIAMTRACK = str(Path(sys.executable).parent / "siamtrack")
# row name: (tracker, training config or None, tracker params)
ROWS = {
    "siamfc-lite": ("siamfc-lite", "configs/pretrained/siamfc-lite0-cached.yaml", []),
    "siamfc-lite bf16": ("siamfc-lite", "configs/pretrained/siamfc-lite0-cached.yaml", ["precision=bfloat16"]),
    "tadt-lite": ("tadt-lite", None, []),
    "dslt-lite": ("dslt-lite", None, []),
    "cfnet-lite": ("cfnet-lite", "configs/pretrained/cfnet-lite0-cached.yaml", []),
    "adacfnet-lite": ("adacfnet-lite", "configs/pretrained/adacfnet-lite0-cached.yaml", []),
    "rasnet-lite": ("rasnet-lite", "configs/pretrained/rasnet-lite0-cached.yaml", []),
    "siamrpn_sl-lite": ("siamrpn_sl-lite", "configs/pretrained/siamrpn_sl-lite0-cached.yaml", []),
    # EDCF's high-level branch is SiamFC's (Eq. 3): each seed's siamfc-lite file, with the CF on stage 2
    "edcf-lite": ("edcf-lite", "configs/pretrained/siamfc-lite0-cached.yaml", []),
}
REFERENCES = ["opencv-csrt", "dcfnet-authors", "dcfnet-ours", "siamfc-bundled", "edcf-bundled"]


def run(arguments: list[str]) -> None:
    print("+", " ".join(arguments), flush=True)
    subprocess.run(arguments, check=True, cwd=REPO)


def result_name(row: str, seed: int | None) -> str:
    base = row.replace(" ", "-")
    return base if seed is None else f"{base}-s{seed}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows of {list(ROWS)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--runs", type=Path, default=REPO / "runs")
    parser.add_argument("--score-only", action="store_true", help="train and track nothing; score what exists")
    parser.add_argument("--record", action="store_true")
    add_shared_argument(parser)
    args = parser.parse_args(argv)

    from siamtrack.data import shared_split
    from siamtrack.evaluation.evaluate import evaluate_one_pass

    sequences = shared_split(args.shared, "dev-eval")
    rows = [row for row in args.rows.split(",") if row]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {list(ROWS)}")
    started = time.time()
    names: dict[str, list[str]] = {row: [] for row in rows}
    jobs = []  # seed-major: every row of seed 0 (one training serves all its precisions), then seed 1 ...
    for seed in args.seeds:
        for row in rows:
            tracker, config, params = ROWS[row]
            if config is None and seed != args.seeds[0]:
                continue  # untrained rows are deterministic: one run
            jobs.append((row, seed if config else None))
    for row, seed in jobs:
        tracker, config, params = ROWS[row]
        name = result_name(row, seed)
        names[row].append(name)
        if args.score_only:
            continue
        weights = []
        if config:
            run_dir = args.runs / f"{Path(config).stem}-s{seed}"
            if not (run_dir / "model.pth").exists():
                run([SIAMTRACK, "train", "--config", config, "--run-dir", str(run_dir), "--set",
                     f"train.seed={seed}", "--set", "train.progress=false"]
                    + (["--resume"] if (run_dir / "checkpoint.pth").exists() else []))
            weights = ["--weights", str(run_dir / "model.pth")]
        run([SIAMTRACK, "eval", "--tracker", tracker, *weights, "--name", name, "--dataset", "shared",
             "--root", str(args.shared), "--option", "split=dev-eval", "--protocol", "got10k",
             "--results", str(args.results), "--quiet"] + [item for p in params for item in ("--param", p)])
    wall = time.time() - started

    def scores(name: str) -> dict | None:
        try:
            return evaluate_one_pass(args.results, name, sequences, "got10k")
        except Exception as error:  # a reference row that was never run
            print(f"note: {name}: {error}", file=sys.stderr)
            return None

    table, per_sequence = [], {}
    for row in rows:
        results = [scores(name) for name in names[row]]
        if any(r is None for r in results):
            continue
        aucs = np.array([r["overall"]["auc"] for r in results])
        sr50 = np.mean([r["overall"]["sr50"] for r in results]) if "sr50" in results[0]["overall"] else float("nan")
        spread = (aucs.max() - aucs.min()) / 2
        table.append(f"| {row} | {len(aucs)} | **{aucs.mean():.3f}** ± {spread:.3f} | "
                     f"{' / '.join(f'{a:.3f}' for a in aucs)} | {sr50:.3f} |")
        per_sequence[row] = {s.name: np.mean([r["per_sequence"][s.name]["auc"] for r in results]) for s in sequences}
    for reference in REFERENCES:
        result = scores(reference)
        if result is not None:
            table.append(f"| {reference} (reference) | - | {result['overall']['auc']:.3f} | - | "
                         f"{result['overall'].get('sr50', float('nan')):.3f} |")
            per_sequence[reference] = {s.name: result["per_sequence"][s.name]["auc"] for s in sequences}
    header = "| row | seeds | AUC mean ± half-range | per seed | SR0.5 |\n|---|---|---|---|---|\n"
    columns = list(per_sequence)
    sequence_table = ("| sequence | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns) + "\n"
                      + "\n".join(f"| {s.name} | " + " | ".join(f"{per_sequence[c][s.name]:.3f}" for c in columns)
                                  + " |" for s in sequences))
    body = (f"`{command_line('benchmarks/pretrained_trackers.py', argv)}` ({provenance()}; {wall / 60:.0f} min "
            f"of training and tracking in this call)\n\n{header}" + "\n".join(table)
            + f"\n\nPer sequence (AUC, mean over seeds):\n\n{sequence_table}\n")
    print(body)
    if args.record:
        append_results("Pretrained-backbone trackers on the dev-eval split (seed spread)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
