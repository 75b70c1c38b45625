"""VOT TraX server: ``python -m siamtrack.integrations.trax_server --tracker NAME [--weights PATH] [--param k=v]``.

The vot-toolkit (or any TraX client) starts this process and sends image paths and regions; the server
runs a siamtrack tracker and answers with rectangles. Rectangle and polygon regions are accepted (a
polygon becomes its axis-aligned min/max box); coordinates are used as the client sends them (VOT's image
coordinates with the first pixel's corner at 0, the same convention as siamtrack's boxes). The reply
carries the tracker's ``confidence`` as the ``confidence`` property. See ``trackers.ini`` beside this file
for a vot-toolkit registry entry.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from siamtrack.geometry import polygon_to_box
from siamtrack.imaging import read_image


def region_to_box(region) -> np.ndarray:
    """A TraX region (rectangle or polygon) -> 0-based ``x, y, w, h``."""
    from trax import Region

    if region.type == Region.RECTANGLE:
        return np.array(region.bounds(), dtype=np.float64)
    if region.type == Region.POLYGON:
        points = np.array([region.get(i) for i in range(region.size())], dtype=np.float64).reshape(-1)
        return polygon_to_box(points)
    raise ValueError(f"TraX region of type {region.type!r} is not supported (rectangle and polygon are)")


def serve(tracker, name: str = "siamtrack") -> None:
    """Answer TraX requests with ``tracker`` until the client quits."""
    from trax import Image, Rectangle, Region, Server, TraxStatus

    with Server([Region.RECTANGLE, Region.POLYGON], [Image.PATH], tracker_name=name) as server:
        while True:
            request = server.wait()
            if request.type in (TraxStatus.QUIT, TraxStatus.ERROR):
                break
            image = read_image(request.image["color"].path())
            if request.type == TraxStatus.INITIALIZE:
                if len(request.objects) != 1:
                    raise ValueError(f"single-object tracker got {len(request.objects)} objects to initialise")
                box = region_to_box(request.objects[0][0])
                tracker.init(image, box)
            else:
                box = np.asarray(tracker.update(image), dtype=np.float64)
            confidence = float(tracker.confidence)
            properties = {} if math.isnan(confidence) else {"confidence": confidence}
            server.status([(Rectangle.create(*[float(v) for v in box]), properties)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m siamtrack.integrations.trax_server", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--tracker", required=True, help="registered tracker name (siamtrack.trackers.TRACKERS)")
    parser.add_argument(
        "--weights", default=None, help="weights file, or 'random' (default: the tracker's bundled weights)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyper-parameter override, repeatable (values are Python literals)",
    )
    args = parser.parse_args(argv)
    from siamtrack.trackers import build_tracker, parse_hyperparameters

    tracker = build_tracker(args.tracker, weights=args.weights, **parse_hyperparameters(args.param))
    serve(tracker, name=f"siamtrack-{args.tracker}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
