"""RASNet ablation (Wang et al. 2018, Sec. 4.2, Fig. 5, 6a and 7) on the project's data: every row trained on
the same data with the same schedule, then tracked on the ``dev-eval`` split and compared.

Rows (``bundled/rasnet-ablation*``): SiamFC (no attention), GenAtt (general attention), DualAtt (general +
residual), ChanAtt (channel), RASNet (all three, joint form Eq. 8) and RASNet-full (full form Eq. 6).

For each row: ``siamtrack train`` (resumable: rerunning the script continues where it stopped) -> a weights
file that carries the row's model config -> ``siamtrack eval --tracker rasnet`` (OPE, ``otb`` protocol) on
``dev-eval``. Then ``siamtrack report`` over all rows, the validation objective of every epoch snapshot
(``rasnet_curves.validation_log``), the loss curves (``training.png``: mean training objective per epoch;
``validation.png``; drawn by the training package's ``plot_losses``) and the learned general attention
(``general_attention.png``). Everything goes under ``--out`` (default ``runs/rasnet-ablation``).

    python benchmarks/ablations/rasnet_ablation.py [--out DIR] [--rows SiamFC,RASNet] [--set KEY=VALUE ...]

Cost on the 2-core CPU (width 0.25, 50 epochs x 640 pairs, batch 32): about 0.1 s of wall time per training
pair when the machine is otherwise idle (0.19 s of CPU time measured), i.e. ~1 h of training per row, ~6 h
for the six rows; evaluation (3375 dev-eval frames) and the validation curves (256 pairs x 50 snapshots) add
~10 min per row. ``--set data.pairs_per_epoch=320`` halves the training time. A quick end-to-end check:
``--smoke`` (2 epochs x 64 pairs, 2 sequences; a few minutes).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import ablation_parser, dev_eval_options, run_siamtrack, train_row  # noqa: E402
from rasnet_curves import epoch_log, plot_general_attention, validation_log, validation_pairs  # noqa: E402
from siamtrack.training.config import load_config  # noqa: E402
from siamtrack.training.plots import plot_losses  # noqa: E402

ROWS = {  # row name -> config (the paper's names, Fig. 5 and 7)
    "SiamFC": "bundled/rasnet-ablation-siamfc",
    "GenAtt": "bundled/rasnet-ablation-genatt",
    "DualAtt": "bundled/rasnet-ablation-dualatt",
    "ChanAtt": "bundled/rasnet-ablation-chanatt",
    "RASNet": "bundled/rasnet-ablation",
    "RASNet-full": "bundled/rasnet-ablation-full",
}
SMOKE = ["train.epochs=2", "data.pairs_per_epoch=64", "train.progress=false"]


def main(argv=None) -> int:
    parser = ablation_parser(
        __doc__,
        ROWS,
        "rasnet-ablation",
        trained=True,
        smoke="tiny end-to-end check: 2 epochs x 64 pairs, 2 sequences, 32 validation pairs",
    )
    parser.add_argument("--validation-pairs", type=int, default=256, help="fixed dev-eval pairs per snapshot")
    args = parser.parse_args(argv)
    rows, out = args.rows, args.out
    overrides = (SMOKE if args.smoke else []) + args.overrides
    sequences = args.sequences or ("DragonBaby,ball1" if args.smoke else None)
    validation_count = 32 if args.smoke else args.validation_pairs
    report = out / "report"
    source = dev_eval_options(args.shared, out / "results", sequences)

    for row in rows:
        weights = train_row(ROWS[row], out / row, overrides)
        run_siamtrack("eval", "--tracker", "rasnet", "--weights", str(weights), "--name", row, "--quiet", *source)
    run_siamtrack("report", "--trackers", ",".join(rows), "--out", str(report), *source)

    validation = [{"dataset": "shared", "root": str(args.shared), "split": "dev-eval"}]
    batches = validation_pairs(load_config(out / rows[0] / "config.yaml"), validation, validation_count)
    train_logs, validation_logs = [], []
    for row in rows:
        train_logs.append(epoch_log(out / row))
        validation_logs.append(validation_log(out / row, batches))
    plot_losses(train_logs, out / "training.png", labels=rows, smooth=1, ylabel="training objective (epoch mean)")
    plot_losses(validation_logs, out / "validation.png", labels=rows, smooth=1, ylabel="validation objective")
    with_general = {
        row: out / row for row in rows if load_config(out / row / "config.yaml").model.args.get("general", True)
    }
    if with_general:
        plot_general_attention(with_general, out / "general_attention.png")
    print(
        f"report: {report}; curves: {out / 'training.png'}, {out / 'validation.png'}, {out / 'general_attention.png'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
