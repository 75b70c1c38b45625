"""A slow stand-in tracker for the tests of runners sharing one results folder (imported by worker processes)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from siamtrack.trackers.identity import IdentityTracker


class LoggingStillTracker(IdentityTracker):
    """The reference tracker (keeps the first box), slowed down: sleeps ``delay`` seconds per update; writes
    ``<log>/<pid>-<n>`` at every init, so a test can count how often each sequence was run and by which process."""

    def __init__(self, log: str, delay: float = 0.05):
        super().__init__()
        self.log, self.delay = Path(log), delay

    def init(self, image, box) -> None:
        super().init(image, box)
        self.log.mkdir(parents=True, exist_ok=True)
        count = len(list(self.log.glob(f"{os.getpid()}-*")))
        (self.log / f"{os.getpid()}-{count}").write_text(f"{image.shape}")

    def update(self, image):
        time.sleep(self.delay)
        return super().update(image)


def sequences(count: int = 8, length: int = 12):
    from training_support import synthetic_sequence

    return [synthetic_sequence(f"s{i}", length, seed=i) for i in range(count)]


def run(root: str, log: str) -> None:
    """One runner over :func:`sequences` into ``root`` (what each of the two test processes does)."""
    from siamtrack.evaluation.runner import run_one_pass

    run_one_pass(("sharing_support:LoggingStillTracker", {"log": log}), sequences(), root, "still", progress=False)
