"""DSLT* regression ablations (Lu et al., TPAMI 2020, Fig. 15 and Table 3, regression case) on the project's data:
the same tracker and backbone, only the first-frame/online training loss changes; evaluated on ``dev-eval``.

Rows (the presets ``bundled/presets/dslt*``, :mod:`siamtrack.presets`: ``tracker``, result ``name``, ``params``):

    shrinkage        bundled/presets/dslt                      Eq. 7, a = 10, c = 0.2 (the full loss)
    l2               bundled/presets/dslt-ablation-l2          Eq. 3
    l3               bundled/presets/dslt-ablation-l3          Eq. 4, γ = 1
    ohnm             bundled/presets/dslt-ablation-ohnm        square loss, online hard negative mining (0.01)
    shrinkage-noexp  bundled/presets/dslt-ablation-shrinkage-noexp   Table 3 "w/o exp(Y)"
    exp-only         bundled/presets/dslt-ablation-exp-only    Table 3 "only exp(Y)"
    a6-c0.2, a10-c0.6, a6-c0.6  bundled/presets/dslt-ablation-a*-c*   Table 3's a/c grid

For each row: ``siamtrack eval --preset bundled/presets/dslt... [--param ...]`` (OPE, ``otb`` protocol: precision
at 20 px and success AUC, the paper's DP/AUC) on ``dev-eval``, then ``siamtrack report`` over the rows
(``<out>/report``).
No training run is needed: DSLT learns online. The backbone is ``--weights`` (default: the bundled SiamFC
embedding ``siamtrack/weights/bundled/siamfc.pth``; a torchvision VGG-16 / ResNet-50 file with
``--param backbone=vgg16`` / ``resnet50``, e.g. Fig. 15's VGG-16 rows).

    python benchmarks/ablations/dslt_regression.py [--out runs/dslt-regression] [--rows shrinkage,l2,...]
        [--weights PATH] [--param KEY=VALUE ...] [--sequences A,B] [--smoke]

Cost on the 2-core CPU with the width-1 SiamFC backbone: about 0.5-1 s per frame when the cores are idle
(3 search crops, then 2 Adam steps on the last 7 frames; see ``benchmarks/bench_dslt.py``), 50 first-frame
steps per sequence; the 10 dev-eval sequences hold 3375 frames, so about 30-60 min per row and 5-9 h for the
nine rows. ``--smoke``: two short sequences, 10 first-frame steps (a few minutes per row), a pipeline check.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import ablation_parser, dev_eval_options, repeated, run_siamtrack  # noqa: E402
from siamtrack.presets import load_preset  # noqa: E402

ROWS = {
    "shrinkage": "bundled/presets/dslt",
    "l2": "bundled/presets/dslt-ablation-l2",
    "l3": "bundled/presets/dslt-ablation-l3",
    "ohnm": "bundled/presets/dslt-ablation-ohnm",
    "shrinkage-noexp": "bundled/presets/dslt-ablation-shrinkage-noexp",
    "exp-only": "bundled/presets/dslt-ablation-exp-only",
    "a6-c0.2": "bundled/presets/dslt-ablation-a6-c0.2",
    "a10-c0.6": "bundled/presets/dslt-ablation-a10-c0.6",
    "a6-c0.6": "bundled/presets/dslt-ablation-a6-c0.6",
}
SMOKE_PARAMS = ["init_iterations=10"]
SMOKE_SEQUENCES = "DragonBaby,ball1"


def main(argv=None) -> int:
    parser = ablation_parser(
        __doc__, ROWS, "dslt-regression", trained=False, smoke="two short sequences, 10 first-frame steps"
    )
    args = parser.parse_args(argv)
    sequences = args.sequences or (SMOKE_SEQUENCES if args.smoke else None)
    report = args.out / "report"
    source = dev_eval_options(args.shared, args.out / "results", sequences)
    extra = (SMOKE_PARAMS if args.smoke else []) + args.param
    weights = ["--weights", args.weights] if args.weights else []
    names = []
    for row in args.rows:
        name = load_preset(ROWS[row]).name  # checked here (file, key) before any row runs
        run_siamtrack(
            "eval", "--preset", ROWS[row], *weights, "--name", name, "--quiet", *repeated("--param", extra), *source
        )
        names.append(name)
    run_siamtrack("report", "--trackers", ",".join(names), "--out", str(report), *source)
    print(f"report: {report / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
