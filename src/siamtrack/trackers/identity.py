"""The reference tracker: reports the first frame's box on every frame (got10k's ``IdentityTracker``).

For tests and users: the smallest complete :class:`~siamtrack.trackers.base.Tracker` (``init``/``update``,
``track``, ``from_weights``), a floor that any tracker should beat on a benchmark, and a stand-in that costs nothing
where the runner, the scorer, the integrations or the video writer are under test. Not registered in
:data:`siamtrack.trackers.TRACKERS` (it is no paper's tracker); the evaluation runner takes it by import path,
``"siamtrack.trackers.identity:IdentityTracker"``.
"""

from __future__ import annotations

import numpy as np

from siamtrack.models import Weights
from siamtrack.trackers.base import Tracker, check_initial_box


class IdentityTracker(Tracker):
    """Keeps the initial box: ``update`` returns it unchanged (a new array each time); ``confidence`` stays NaN
    (no score). Takes no weights and no hyper-parameters."""

    name = "identity"
    needs_weights = False

    def init(self, image: np.ndarray, box) -> None:
        self.box = check_initial_box(box, self.name, image)

    def update(self, image: np.ndarray) -> np.ndarray:
        return self.box.copy()

    @classmethod
    def from_weights(cls, weights: Weights | None = None, **hyperparameters) -> IdentityTracker:
        if weights is not None or hyperparameters:
            raise TypeError(
                f"{cls.name}: takes no weights and no hyper-parameters, got "
                f"{'weights' if weights is not None else ''} {sorted(hyperparameters)}".rstrip()
            )
        return cls()


__all__ = ["IdentityTracker"]
