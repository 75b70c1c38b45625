"""AdaCFNet ablation (Li et al., Sec. IV-A.1, Fig. 9) on the project's data: CFNet, CFNet+SE and CFNet+SE+Focal
trained on the same data with the same schedule and seed, tracked on the ``dev-eval`` split and compared.

Rows (``bundled/adacfnet-ablation-{cfnet,se,se-focal}``, which differ only in ``model.args.attention`` and
``loss.name``). For each row: ``siamtrack train`` (resumable: rerunning the script continues where it stopped)
-> ``<row>/adacfnet.pth`` (the state dict with its model config, so the tracker rebuilds the row's variant)
-> ``siamtrack eval --tracker adacfnet`` (OPE, ``otb`` protocol: precision at 20 px and success AUC, as Fig. 9)
on ``dev-eval``. All rows use the same tracker (AdaCFNet's = CFNet-conv2's hyper-parameters); without SE the
network is exactly CFNet-conv2. Then ``siamtrack report`` over the rows (``<out>/report``: report.md, JSON,
precision/success PNGs) and, for the rows with SE, the channel weights of the first frame of the first
sequence (``<out>/<row>/channel_weights.png``, as Fig. 7).

    python benchmarks/ablations/adacfnet_fig9.py [--out runs/adacfnet-fig9] [--rows cfnet,se,se-focal]
        [--set train.epochs=50 ...] [--smoke]

Cost on the 2-core CPU (width 0.5, 20 epochs x 925 pairs, batch 8): 2300 iterations of ~2 s of CPU time each,
i.e. ~1 s of wall time per iteration on idle cores, ~40 min of training per row; tracking the 11 dev-eval
sequences (~3400 frames) at ~10-20 fps adds ~5 min per row: about 2.5 h for the three rows. ``--set
train.epochs=50`` follows the paper's 50 epochs (~5.5 h). ``--smoke``: 2 epochs x 64 pairs, 2 sequences
(a few minutes), an end-to-end check of the pipeline only.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import ablation_parser, dev_eval_options, run_siamtrack, train_row  # noqa: E402
from siamtrack.training.config import load_config  # noqa: E402
from siamtrack.data import shared_split  # noqa: E402

ROWS = {  # row -> (the paper's name in Fig. 9, config)
    "cfnet": ("CFNet", "bundled/adacfnet-ablation-cfnet"),
    "se": ("CFNet+SE", "bundled/adacfnet-ablation-se"),
    "se-focal": ("CFNet+SE+Focal", "bundled/adacfnet-ablation-se-focal"),
}
SMOKE = ["train.epochs=2", "data.pairs_per_epoch=64", "train.progress=false"]


def plot_first_frame_weights(weights: Path, shared: Path, sequence_name: str | None, path: Path) -> None:
    """Fig. 7-style bars: SE1/SE2 weights of the exemplar and the centre search crop after one update."""
    from siamtrack.trackers import build_tracker
    from siamtrack.trackers.adacfnet import plot_channel_weights

    sequences = shared_split(shared, "dev-eval")
    sequence = next((s for s in sequences if s.name == sequence_name), sequences[0])
    tracker = build_tracker("adacfnet", weights=weights, device="cpu")
    tracker.init(sequence.frames[0], sequence.init_box)
    tracker.update(sequence.frames[1])
    centre = tracker.params.num_scales // 2
    se_weights = tracker.extras["channel_weights"]  # the second frame's: its search crops and its template update
    panels = {f"exemplar {name}": value for name, value in se_weights["exemplar"].items()}
    panels.update({f"search {name} (centre scale)": value[centre] for name, value in se_weights["search"].items()})
    plot_channel_weights(panels, path, title=f"{sequence.name}, frames 1-2")


def main(argv=None) -> int:
    parser = ablation_parser(
        __doc__, ROWS, "adacfnet-fig9", trained=True, smoke="tiny end-to-end check: 2 epochs x 64 pairs, 2 sequences"
    )
    args = parser.parse_args(argv)
    overrides = (SMOKE if args.smoke else []) + args.overrides
    sequences = args.sequences or ("DragonBaby,ball1" if args.smoke else None)
    report = args.out / "report"
    source = dev_eval_options(args.shared, args.out / "results", sequences)

    names = []
    for row in args.rows:
        name, config = ROWS[row]
        run_dir = args.out / row
        weights = train_row(config, run_dir, overrides)
        run_siamtrack("eval", "--tracker", "adacfnet", "--weights", str(weights), "--name", name, "--quiet", *source)
        if load_config(run_dir / "config.yaml").model.args.get("attention", True):
            first = sequences.split(",")[0] if sequences else None
            plot_first_frame_weights(weights, args.shared, first, run_dir / "channel_weights.png")
        names.append(name)
    run_siamtrack("report", "--trackers", ",".join(names), "--out", str(report), *source)
    print(f"report: {report / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
