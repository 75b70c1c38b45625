"""Peak memory of long tracking runs: RSS sampled every 100 frames while one tracker follows one target through
``--frames`` real frames (the dev-eval sequences of ../shared joined end to end and cycled, so the target jumps,
leaves and re-enters at every junction; the tracker is initialised once, on the first frame).

A flat RSS curve says nothing accumulates from frame to frame (no autograd graph, no growing lists of maps). The
frames go through the library's own loop, ``Tracker.track``, decoded one at a time as it draws them.

    python benchmarks/bench_memory.py --tracker tadt-lite --frames 3000 --record
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time

import numpy as np

from common import add_shared_argument, append_results, command_line, provenance


def rss_mb() -> float:
    """Current resident set size (MB), from /proc/self/statm."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def joined_frames(shared, split: str):
    """An endless stream of the split's frames, sequence after sequence, and the first box of the first sequence."""
    from siamtrack.data import shared_split

    sequences = shared_split(shared, split)

    def stream():
        for sequence in itertools.cycle(sequences):
            for index in range(len(sequence)):
                yield sequence.frames[index]

    return stream(), np.asarray(sequences[0].init_box, dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracker", default="tadt-lite")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--split", default="dev-eval")
    parser.add_argument("--record", action="store_true", help="append the table to benchmarks/RESULTS.md")
    add_shared_argument(parser)
    args = parser.parse_args(argv)

    import torch

    from siamtrack.trackers import build_tracker, parse_hyperparameters

    torch.set_num_threads(2)
    tracker = build_tracker(args.tracker, weights=args.weights, **parse_hyperparameters(args.param))
    frames, box = joined_frames(args.shared, args.split)
    samples = [(0, rss_mb())]

    def sampled(stream):
        """The frames, with RSS sampled every ``--every`` frames as the tracking loop draws them."""
        for index, frame in enumerate(itertools.islice(stream, args.frames)):
            if index and index % args.every == 0:
                samples.append((index, rss_mb()))
            yield frame
        samples.append((args.frames, rss_mb()))

    start = time.perf_counter()
    boxes, _ = tracker.track(sampled(frames), box)  # the library's own loop: no autograd, freed memory released
    seconds = time.perf_counter() - start
    bad = np.flatnonzero(~(np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)))
    if len(bad):
        raise RuntimeError(f"frame {bad[0]}: invalid box {boxes[bad[0]].tolist()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steady = [mb for count, mb in samples if count >= 5 * args.every]
    growth = steady[-1] - steady[0] if len(steady) > 1 else float("nan")
    rows = "\n".join(f"| {count} | {mb:.0f} |" for count, mb in samples[:: max(1, len(samples) // 10)])
    body = (
        f"`{command_line('benchmarks/bench_memory.py', argv)}` ({provenance()})\n\n"
        f"{args.tracker}: {args.frames} frames of the {args.split} sequences joined, {seconds:.0f} s "
        f"({args.frames / seconds:.1f} fps incl. decoding). Peak RSS {peak:.0f} MB; RSS from frame "
        f"{5 * args.every} to the end changed by {growth:+.0f} MB.\n\n| frames | RSS (MB) |\n|---|---|\n{rows}\n"
    )
    print(body)
    if args.record:
        append_results(f"Memory: {args.tracker} over {args.frames} frames", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
