"""Does a refactoring change what the trackers do? Boxes before and after, compared.

Every registered tracker that builds without a weights argument (a bundled file that exists, or no weights needed;
``siamtrack.trackers.default_weights``) except the OpenCV reference trackers tracks the first ``--frames`` (30)
frames of each dev-eval sequence of the shared folder on the CPU with one thread; the boxes go to a JSON file::

    python benchmarks/behaviour_check.py --out before.json      # on the old commit
    python benchmarks/behaviour_check.py --out after.json       # on the new one
    python benchmarks/behaviour_check.py --compare before.json after.json

``--compare`` prints the largest absolute box difference (pixels) per tracker and exits 1 when any exceeds
``--tolerance`` (1e-6 px), when a tracker or sequence is in one file only, or when the frame counts differ.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from common import add_shared_argument

TOLERANCE = 1e-6
os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the CPU, whatever the machine has (pick_device picks CUDA when seen)


def checked_trackers() -> list[str]:
    """The registered trackers that build with ``build_tracker(name)`` alone, without the OpenCV ones."""
    from siamtrack.trackers import available_trackers, default_weights

    names = []
    for name in available_trackers():
        if name.startswith("opencv-"):
            continue
        weights = default_weights(name)
        if weights is None or weights.is_file():
            names.append(name)
    return names


def record(shared: Path, frames: int, names: list[str] | None) -> dict:
    import numpy as np
    import torch

    from siamtrack.data import shared_split
    from siamtrack.trackers import build_tracker

    torch.set_num_threads(1)
    sequences = shared_split(shared, "dev-eval")
    result: dict = {"frames": frames, "sequences": [sequence.name for sequence in sequences], "trackers": {}}
    for name in names or checked_trackers():
        start = time.perf_counter()
        boxes = {}
        for sequence in sequences:
            tracker = build_tracker(name)
            count = min(frames, len(sequence))
            images = (sequence.frames[i] for i in range(count))
            track, _ = tracker.track(images, sequence.ground_truth[0])
            boxes[sequence.name] = np.asarray(track, dtype=np.float64).tolist()
        result["trackers"][name] = boxes
        print(f"{name}: {len(sequences)} sequences in {time.perf_counter() - start:.1f} s", flush=True)
    return result


def compare(before: dict, after: dict, tolerance: float) -> bool:
    """Print the per-tracker maximum difference; True when everything agrees within ``tolerance``."""
    ok = True
    names = sorted(set(before["trackers"]) | set(after["trackers"]))
    for name in names:
        if name not in before["trackers"] or name not in after["trackers"]:
            print(f"{name}: only in {'the first' if name in before['trackers'] else 'the second'} file")
            ok = False
            continue
        a, b = before["trackers"][name], after["trackers"][name]
        worst, problems = 0.0, []
        for sequence in sorted(set(a) | set(b)):
            if sequence not in a or sequence not in b:
                problems.append(f"{sequence} in one file only")
                continue
            if len(a[sequence]) != len(b[sequence]):
                problems.append(f"{sequence}: {len(a[sequence])} vs {len(b[sequence])} frames")
                continue
            for row_a, row_b in zip(a[sequence], b[sequence]):
                for x, y in zip(row_a, row_b):
                    if math.isnan(x) and math.isnan(y):
                        continue
                    difference = abs(x - y)
                    if math.isnan(difference):
                        difference = math.inf
                    worst = max(worst, difference)
        verdict = "ok" if worst <= tolerance and not problems else "DIFFERENT"
        print(
            f"{name:20s} max |difference| = {worst:.3g} px  {verdict}"
            + (f" ({'; '.join(problems)})" if problems else "")
        )
        ok = ok and verdict == "ok"
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_argument(parser)
    parser.add_argument("--out", type=Path, help="write the boxes to this JSON file")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"), help="compare two such files")
    parser.add_argument("--frames", type=int, default=30, help="frames per sequence (default 30)")
    parser.add_argument("--trackers", nargs="*", help="only these trackers (default: all that need no weights)")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="pixels (default 1e-6)")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(path.read_text(encoding="utf-8")) for path in args.compare)
        return 0 if compare(before, after, args.tolerance) else 1
    if args.out is None:
        parser.error("give --out FILE or --compare A B")
    result = record(args.shared, args.frames, args.trackers)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
