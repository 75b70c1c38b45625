"""EDCF ablation (Wang et al. 2018, Table 1) on the project's data: SiamFC, EDSiam, CFNet, CACF, CACFNet,
CACFNet+ and EDCF, every trained row on the same data with the same schedule, tracked on the ``dev-eval``
split, reported as OP (success rate at IoU 0.5), DP (precision at 20 pixels), EAO (VOT baseline on the split's
VOT sequences) and fps.

Rows and what they train (``bundled/edcf-ablation*``, width 0.25, 50 epochs x 640 pairs, batch 8):

========  ===============================  ============================================  ==============
row       config                           losses (Eq. 15)                               tracker
========  ===============================  ============================================  ==============
SiamFC    edcf-ablation-siamfc             logistic (SiamFC)                             siamfc
EDSiam    edcf-ablation-edsiam             L_high + L_recon                              edsiam
CFNet     edcf-ablation-cfnet              logistic through CFNet's CF layer             cfnet-conv2
CACF      (none: grayscale pixels)         -                                             cacf
CACFNet   edcf-ablation-cacfnet            L_low                                         cacfnet
CACFNet+  edcf-ablation (shared with EDCF)  L_low + L_high + L_recon                      cacfnet-plus
EDCF      edcf-ablation                    L_low + L_high + L_recon                      edcf
========  ===============================  ============================================  ==============

For each trained row: ``siamtrack train`` (resumable: rerunning the script continues where it stopped) -> a
weights file carrying the row's model config -> ``siamtrack eval`` (OPE, ``otb`` protocol) on ``dev-eval``
and (``vot`` protocol, baseline experiment) on its VOT sequences; then ``siamtrack report`` over all rows and
``table1.md`` (OP / DP / EAO / fps, the paper's layout). Everything goes under ``--out`` (default
``runs/edcf-ablation``).

    python benchmarks/ablations/edcf_ablation.py [--out DIR] [--rows SiamFC,EDCF] [--set KEY=VALUE ...]
    python benchmarks/ablations/edcf_ablation.py --smoke     # 1 epoch x 16 pairs, 2 sequences: minutes

Cost on the 2-core CPU (CPU time per training pair at width 0.25, batch 8, on the real train split, measured
with short runs under load, start-up excluded, so upper bounds): EDCF 0.60 s, EDSiam 0.41 s, CACFNet 0.24 s,
CFNet 0.14 s, SiamFC 0.11 s. With 32,000 pairs per row that is ~13 h of CPU time (~7 h of wall time on 2 idle
cores, EDCF and EDSiam most of it); the evaluation (7 trackers x 3,375 dev-eval frames + the VOT baseline runs on
ball1 and VOT-bolt1) adds ~1-2 h. ``--set data.pairs_per_epoch=320`` halves the training time. ``--smoke`` with
``--rows CACF,CACFNet+,EDCF --sequences ball1`` took 7 min of wall time (2.5 min CPU) under load.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import ablation_parser, dev_eval_options, report_results, run_siamtrack, train_row  # noqa: E402
from siamtrack.data import shared_split  # noqa: E402

ROWS = {  # Table 1 row -> (training config or None, registered tracker)
    "SiamFC": ("bundled/edcf-ablation-siamfc", "siamfc"),
    "EDSiam": ("bundled/edcf-ablation-edsiam", "edsiam"),
    "CFNet": ("bundled/edcf-ablation-cfnet", "cfnet-conv2"),
    "CACF": (None, "cacf"),
    "CACFNet": ("bundled/edcf-ablation-cacfnet", "cacfnet"),
    "CACFNet+": ("bundled/edcf-ablation", "cacfnet-plus"),
    "EDCF": ("bundled/edcf-ablation", "edcf"),
}
SMOKE = ["train.epochs=1", "data.pairs_per_epoch=16", "train.progress=false"]
SMOKE_SEQUENCES = ("DragonBaby", "ball1")


def table(report_dir: Path, rows: list[str], vot_report_dir: Path | None) -> str:
    """Table 1's layout: OP (SR at 0.5, %), DP (precision at 20 px, %), EAO, fps, from the reports' JSON."""
    ope = report_results(report_dir, "ope")
    baseline = {} if vot_report_dir is None else report_results(vot_report_dir, "baseline")

    def cell(value, scale=1.0, digits=1):
        return "-" if value is None else f"{value * scale:.{digits}f}"

    lines = ["| tracker | OP (%) | DP (%) | EAO | fps |", "|---|---|---|---|---|"]
    for row in rows:
        overall = ope[row]["overall"]
        eao = baseline.get(row, {}).get("overall", {}).get("eao")
        lines.append(
            f"| {row} | {cell(overall.get('sr50'), 100)} | {cell(overall.get('precision'), 100)} | "
            f"{cell(eao, digits=3)} | {cell(overall.get('fps'))} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = ablation_parser(
        __doc__,
        ROWS,
        "edcf-ablation",
        trained=True,
        smoke="tiny end-to-end check: 1 epoch x 16 pairs per row, 2 sequences",
    )
    parser.add_argument("--no-vot", action="store_true", help="skip the VOT baseline (EAO) runs")
    args = parser.parse_args(argv)
    rows, out = args.rows, args.out
    overrides = (SMOKE if args.smoke else []) + args.overrides
    split = shared_split(args.shared, "dev-eval")
    names = args.sequences.split(",") if args.sequences else (list(SMOKE_SEQUENCES) if args.smoke else None)
    chosen = [s for s in split if names is None or s.name in names]
    vot_names = [s.name for s in chosen if s.dataset == "VOT"]
    ope = dev_eval_options(args.shared, out / "results" / "ope", ",".join(s.name for s in chosen) if names else None)
    vot = dev_eval_options(args.shared, out / "results" / "vot", ",".join(vot_names), "vot", "baseline")
    run_vot = bool(vot_names) and not args.no_vot

    for row in rows:
        config, tracker = ROWS[row]
        weights = ["--weights", "random"]
        if config is not None:
            weights = ["--weights", str(train_row(config, out / "train" / Path(config).stem, overrides))]
        run_siamtrack("eval", "--tracker", tracker, *weights, "--name", row, "--quiet", *ope)
        if run_vot:
            run_siamtrack("eval", "--tracker", tracker, *weights, "--name", row, "--quiet", *vot)
    run_siamtrack("report", "--trackers", ",".join(rows), "--out", str(out / "report"), *ope)
    if run_vot:
        run_siamtrack("report", "--trackers", ",".join(rows), "--out", str(out / "report-vot"), *vot)
    text = table(out / "report", rows, out / "report-vot" if run_vot else None)
    sequences = ", ".join(s.name for s in chosen)
    (out / "table1.md").write_text(
        f"# EDCF ablation (Table 1) on dev-eval\n\nOPE on {sequences}; EAO on "
        f"{', '.join(vot_names) if run_vot else '-'}.\n\n{text}\n"
    )
    print(text)
    print(f"report: {out / 'report'}, table: {out / 'table1.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
