"""Fig. 4 of TADT (Li et al. 2019) on the project's data: channel-averaged features of the first frame's search
region, before and after the target-aware selection, for a few dev-eval sequences.

Columns: the search crop; conv4_1 (all channels); conv4_1 as selected (Regress+Rank); conv4_3 (all channels);
conv4_3 as selected (Regress); the stacked target-aware features. The target box is drawn on the crop.

    python benchmarks/ablations/tadt_fig4.py [--weights PATH] [--sequences DragonBaby,ball1] [--out fig4.png]

The feature maps cover the crop less the backbone's border (half its receptive field on each side for the
unpadded SiamFC AlexNet). Default weights: the bundled SiamFC embedding (``--weights random`` for an untrained
network: even then the selected conv4_3 channels light up the target). Takes seconds per sequence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common
from common import REPO, add_shared_argument  # noqa: E402
from siamtrack.data import shared_split  # noqa: E402
from siamtrack.imaging import crop_window  # noqa: E402
from siamtrack.trackers import build_tracker, parse_hyperparameters  # noqa: E402
from siamtrack.trackers.tadt import feature_averages  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="backbone weights (default: the bundled siamfc.pth)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="TADT hyper-parameter")
    add_shared_argument(parser)
    parser.add_argument("--sequences", default="DragonBaby,ball1,OTB-Basketball,horse")
    parser.add_argument("--out", default=str(REPO / "runs" / "tadt-fig4.png"))
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wanted = args.sequences.split(",")
    sequences = [s for s in shared_split(args.shared, "dev-eval") if s.name in wanted]
    if not sequences:
        parser.error(f"none of {wanted} is a dev-eval sequence")
    rows = []
    for sequence in sequences:
        tracker = build_tracker("tadt", weights=args.weights, **parse_hyperparameters(args.param))
        image, box = sequence.frames[0], np.asarray(sequence.ground_truth[0], dtype=np.float64)
        tracker.init(image, box)
        zoom = tracker.params.target_size / float(np.sqrt(box[2] * box[3]))
        crop = crop_window(image, box[:2] + box[2:] / 2, tracker.instance_size / zoom, tracker.instance_size)
        rows.append((sequence.name, crop, box[2:] * zoom, feature_averages(tracker)))
    columns = 1 + len(rows[0][3])
    figure, axes = plt.subplots(len(rows), columns, figsize=(2.2 * columns, 2.2 * len(rows)), squeeze=False)
    for row, (name, crop, size, views) in zip(axes, rows):
        row[0].imshow(crop)
        centre = crop.shape[0] / 2
        row[0].add_patch(
            plt.Rectangle((centre - size[0] / 2, centre - size[1] / 2), size[0], size[1], fill=False, color="lime")
        )
        row[0].set_ylabel(name)
        for axis, (title, view) in zip(row[1:], views.items()):
            axis.imshow(view, cmap="jet")
            axis.set_title(title, fontsize=8)
        for axis in row:
            axis.set_xticks([])
            axis.set_yticks([])
    figure.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=120)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
