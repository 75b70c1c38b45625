"""TADT ablation (Li et al. 2019, Sec. 5.3, Table 5) on the project's ``dev-eval`` split: which channels of the
conv4_1 / conv4_3 layers (SiamFC conv4 / conv5 by default, see ``siamtrack.models.tadt``) are selected, and how.

Rows (the presets ``bundled/presets/tadt*``, :mod:`siamtrack.presets`, Table 5's order; the paper's OTB-2013 /
OTB-2015 AUC for reference):

======  ======================  ==============================  =====================
row     conv4_1 / conv4_3       preset                          paper AUC (2013/2015)
======  ======================  ==============================  =====================
1       Rand / -                tadt-ablation-conv41-rand       0.602 / 0.597
2       - / Rand                tadt-ablation-conv43-rand       0.618 / 0.610
3       Regress / -             tadt-ablation-conv41-regress    0.645 / 0.646
4       - / Regress             tadt-ablation-conv43-regress    0.662 / 0.644
5       Regress / Regress       tadt-ablation-regress-regress   0.669 / 0.651
6       Regress+Rank / Regress  tadt (the full tracker)         0.680 / 0.660
======  ======================  ==============================  =====================

Nothing is trained: each row is ``siamtrack eval --preset bundled/presets/tadt-... --name tadt-rowN`` (its
``params`` set ``select_conv4_1`` / ``select_conv4_3``; OPE, ``otb`` protocol) on ``dev-eval`` with the same
backbone weights (default: the bundled SiamFC embedding), then ``siamtrack report`` over all rows and
``table5.md`` (AUC, precision at 20 px, fps).
Everything goes under ``--out`` (default ``runs/tadt-ablation``); rows already evaluated are reused by the
resumable runner.

    python benchmarks/ablations/tadt_ablation.py [--out DIR] [--rows 1,6] [--weights PATH] [--param KEY=VALUE ...]
    python benchmarks/ablations/tadt_ablation.py --smoke      # random weights, 2 short sequences: ~1 minute
    python benchmarks/ablations/tadt_ablation.py --param backbone=vgg16 --weights vgg16-397923af.pth   # the paper's

Cost on the 2-core CPU (``benchmarks/RESULTS.md``, TADT section): an update is one 271-px crop through the
full-width SiamFC AlexNet (6.3 GFLOP, ~0.1 s on one idle core) plus ~1-2.5 s of channel selection per sequence,
so one row over the 3,375 dev-eval frames of 11 sequences takes ~6 min and the six rows ~35-40 min of wall time
on an idle machine (measured under a load of ~10: the ``--smoke`` rows ran at 3-9 fps, i.e. 2-3x longer). With
VGG-16 each frame costs ~3x more.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import ablation_parser, dev_eval_options, repeated, report_results, run_siamtrack  # noqa: E402
from siamtrack.presets import load_preset  # noqa: E402

ROWS = {  # Table 5 row -> preset
    "1": "bundled/presets/tadt-ablation-conv41-rand",
    "2": "bundled/presets/tadt-ablation-conv43-rand",
    "3": "bundled/presets/tadt-ablation-conv41-regress",
    "4": "bundled/presets/tadt-ablation-conv43-regress",
    "5": "bundled/presets/tadt-ablation-regress-regress",
    "6": "bundled/presets/tadt",
}
PAPER_AUC = {
    "1": (0.602, 0.597),
    "2": (0.618, 0.610),
    "3": (0.645, 0.646),
    "4": (0.662, 0.644),
    "5": (0.669, 0.651),
    "6": (0.680, 0.660),
}
SMOKE_SEQUENCES = ("DragonBaby", "ball1")


def table(report_dir: Path, rows: list[str], labels: dict[str, str]) -> str:
    """Table 5's layout with this split's AUC, precision and fps next to the paper's OTB AUCs."""
    ope = report_results(report_dir, "ope")
    lines = [
        "| row | conv4_1 / conv4_3 | AUC | precision | fps | paper OTB-2013 | paper OTB-2015 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        overall = ope[f"tadt-row{row}"]["overall"]
        lines.append(
            f"| {row} | {labels[row]} | {overall['auc']:.3f} | {overall['precision']:.3f} | "
            f"{overall['fps']:.1f} | {PAPER_AUC[row][0]:.3f} | {PAPER_AUC[row][1]:.3f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = ablation_parser(
        __doc__, ROWS, "tadt-ablation", trained=False, smoke="random weights, 2 sequences: a quick end-to-end check"
    )
    parser.add_argument("--workers", type=int, default=1, help="evaluation worker processes (default 1)")
    args = parser.parse_args(argv)
    rows, out = args.rows, args.out
    weights = ["--weights", "random"] if args.smoke else (["--weights", args.weights] if args.weights else [])
    names = args.sequences or (",".join(SMOKE_SEQUENCES) if args.smoke else None)
    data = dev_eval_options(args.shared, out / "results", names)
    labels = {}
    for row in rows:
        labels[row] = load_preset(ROWS[row]).description  # checked here (file, key) before any row runs
        run_siamtrack(
            "eval",
            "--preset",
            ROWS[row],
            *weights,
            *repeated("--param", args.param),
            "--name",
            f"tadt-row{row}",
            "--quiet",
            "--workers",
            str(args.workers),
            *data,
        )
    run_siamtrack(
        "report", "--trackers", ",".join(f"tadt-row{row}" for row in rows), "--out", str(out / "report"), *data
    )
    text = table(out / "report", rows, labels)
    (out / "table5.md").write_text(
        f"# TADT ablation (Table 5) on dev-eval\n\nweights: "
        f"{'random (smoke)' if args.smoke else args.weights or 'bundled siamfc.pth'}; "
        f"overrides: {args.param or '-'}\n\n{text}\n"
    )
    print(text)
    print(f"report: {out / 'report'}, table: {out / 'table5.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
