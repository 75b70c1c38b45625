"""DSLT classification ablation (Lu et al., TPAMI 2020, Sec. 5.3, Fig. 11, Table 2-3, Fig. 16 bottom): SiamFC and
SiamRPN trained with the BCE, focal (Eq. 11) and shrinkage (Eq. 14) classification losses on the same data with
the same schedule and seed, tracked on ``dev-eval`` and compared; plus their training-loss curves.

Rows (half-width CPU configs; the full-width ones drop ``-width0.5``):

    siamfc      bundled/siamfc-width0.5      tracker siamfc      (BCE, balanced)
    siamfc_fl   bundled/siamfc_fl-width0.5   tracker siamfc_fl   (Eq. 11, γ = 2)
    siamfc_sl   bundled/siamfc_sl-width0.5   tracker siamfc_sl   (Eq. 14, a = 10, c = 0.6)
    siamrpn     bundled/siamrpn-width0.5     tracker siamrpn     (Eq. 16 with BCE)
    siamrpn_fl  bundled/siamrpn_fl-width0.5  tracker siamrpn_fl
    siamrpn_sl  bundled/siamrpn_sl-width0.5  tracker siamrpn_sl

For each row: ``siamtrack train`` (resumable; rerunning continues) -> ``<row>/model.pth`` -> ``siamtrack eval``
(OPE, ``otb`` protocol: DP at 20 px and AUC) on ``dev-eval``; then
``siamtrack report`` (``<out>/report``) and ``<out>/training_curves.png`` / ``training.md``: each row's training
loss (moving average over 50 iterations, divided by its first value, as the losses have different scales) and
the iterations it takes to come within 10 % of its final value (our convergence criterion).

    python benchmarks/ablations/dslt_classification.py [--out runs/dslt-classification] [--rows siamfc,...]
        [--set train.epochs=50 ...] [--paper-schedule] [--smoke]

Default schedule (CPU-sized): 20 epochs x 1600 pairs, batch 8 = 4000 iterations per row. At width 0.5 one
SiamFC iteration takes ~1 s on the idle 2-core CPU (~1.1 h per row), a SiamRPN iteration ~2 s (~2.2 h):
about 10 h for the six rows, plus ~5 min of tracking per row. ``--paper-schedule`` keeps the configs' 50 epochs
x 53,200 pairs (weeks on this CPU: for a GPU). ``--smoke``: 2 epochs x 32 pairs and one sequence.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import ablation_parser, dev_eval_options, run_siamtrack, train_row, training_curves  # noqa: E402

ROWS = {
    row: f"bundled/{row}-width0.5"
    for row in ("siamfc", "siamfc_fl", "siamfc_sl", "siamrpn", "siamrpn_fl", "siamrpn_sl")
}
CPU_SCHEDULE = ["train.epochs=20", "data.pairs_per_epoch=1600", "train.progress=false"]
SMOKE = ["train.epochs=2", "data.pairs_per_epoch=32", "train.progress=false"]


def main(argv=None) -> int:
    parser = ablation_parser(
        __doc__, ROWS, "dslt-classification", trained=True, smoke="2 epochs x 32 pairs, one sequence"
    )
    parser.add_argument("--paper-schedule", action="store_true", help="the configs' own schedule (GPU)")
    args = parser.parse_args(argv)
    rows, out = args.rows, args.out
    schedule = SMOKE if args.smoke else ([] if args.paper_schedule else CPU_SCHEDULE)
    overrides = schedule + args.overrides
    sequences = args.sequences or ("ball1" if args.smoke else None)
    report = out / "report"
    source = dev_eval_options(args.shared, out / "results", sequences)
    for row in rows:
        weights = train_row(ROWS[row], out / row, overrides)
        run_siamtrack("eval", "--tracker", row, "--weights", str(weights), "--name", row, "--quiet", *source)
    run_siamtrack("report", "--trackers", ",".join(rows), "--out", str(report), *source)
    training_curves({row: out / row for row in rows}, out / "training_curves.png", out / "training.md")
    print(f"report: {report / 'report.md'}, {out / 'training.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
