"""AdaCFNet tracker (Li, Wen, Kuai and Porikli, "Robust Visual Tracking with Channel Attention and Focal Loss",
Sec. III-E): CFNet-conv2's tracker around :class:`~siamtrack.models.adacfnet.AdaCFNetNet`.

Online tracking as the paper describes it: the target position is the maximum of the score map; the scale is
searched over three crops ``1.0575^{-1, 0, 1}`` and updated by linear interpolation with factor 0.52 (Sec. IV);
the correlation-filter template is updated by a rolling average with a fixed learning rate.

Choices where the paper gives no value: the template learning rate (0.005), the scale penalty (0.978), the
cosine-window influence (0.2625) and the x8 response upsampling are CFNet-conv2's tuned values
(:class:`~siamtrack.trackers.cfnet.CFNetParams`), because AdaCFNet's published scale step and damping are
exactly CFNet-conv2's and its tracker is CFNet's (Sec. III-A, III-E).

The SE channel weights are recomputed from every crop the network sees (they are input-conditioned,
Sec. III-E, Fig. 7). Each frame reports those of its crops in its per-frame output,
``extras["channel_weights"]`` (:class:`AdaCFNetTracker`); :func:`plot_channel_weights` draws them as bar plots
(Fig. 4, 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from siamtrack.trackers.cfnet import CFNetLiteParams, CFNetParams, CFNetTracker
from siamtrack.trackers.siamese import LiteTracker


@dataclass(frozen=True)
class AdaCFNetParams(CFNetParams):
    """AdaCFNet's tracking hyper-parameters: scale step 1.0575 and scale damping 0.52 from the paper (Sec. IV),
    the rest CFNet-conv2's (see the module doc)."""


class AdaCFNetTracker(CFNetTracker):
    """AdaCFNet: CFNet-conv2 tracking with SE channel attention in the feature net.

    Each frame's ``extras["channel_weights"]`` (``tracker.extras`` after ``init``/``update``, the ``extras`` of
    :meth:`~siamtrack.trackers.base.Tracker.run`'s outputs) holds the SE weights of the crops that frame's step
    saw, as float numpy arrays::

        {"exemplar": {"se1": (1, C1), "se2": (1, C2)},          # the exemplar crop (init / template update)
         "search":   {"se1": (num_scales, C1), "se2": (...)}}    # the search crops, smallest scale first

    A branch the frame did not run is an empty dict (``search`` on the first frame, ``exemplar`` on later frames
    when ``template_lr`` is 0), as are both for a network built with ``attention=False``.
    """

    name = "adacfnet"
    model_name = "adacfnet"
    Params = AdaCFNetParams

    def __init__(self, model, params=None, device=None, **hyperparameters):
        super().__init__(model, params, device, **hyperparameters)
        if not hasattr(self.model, "embed_with_weights"):
            raise TypeError(
                f"{self.name}: the model must provide embed_with_weights (an AdaCFNetNet), got {type(model).__name__}"
            )

    def _keep_weights(self, branch: str, weights: Mapping[str, torch.Tensor]) -> None:
        """Report the SE ``weights`` of ``branch`` in this frame's ``extras["channel_weights"]``."""
        frame = self.extras.setdefault("channel_weights", {"exemplar": {}, "search": {}})
        frame[branch] = {name: value.float().cpu().numpy() for name, value in weights.items()}

    def build_template(self, exemplar: torch.Tensor) -> torch.Tensor:
        features, weights = self.model.embed_with_weights(exemplar)
        self._keep_weights("exemplar", weights)
        return self.model.template_from_embedding(features)

    def score(self, template: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        features, weights = self.model.embed_with_weights(instances)
        self._keep_weights("search", weights)
        return self.model.match(template, features)


class AdaCFNetLiteTracker(LiteTracker, AdaCFNetTracker):
    """AdaCFNet's tracker on the ImageNet EfficientNet-Lite0 embedding (``AdaCFNetNet(backbone="efficientnet-lite0")``:
    one SE block on the adjust layer, so ``extras["channel_weights"]`` holds ``"se1"`` only). No weights: ImageNet
    trunk + random head; AlexNet AdaCFNet weights are refused (:class:`~siamtrack.trackers.siamese.LiteTracker`).
    Responses are upsampled x16 at stride 8 (:class:`~siamtrack.trackers.cfnet.CFNetLiteParams`; AdaCFNet's own
    parameters are CFNet-conv2's)."""

    name = "adacfnet-lite"
    Params = CFNetLiteParams


def plot_channel_weights(weights: Mapping[str, np.ndarray], path: str | Path, title: str = "") -> dict[str, np.ndarray]:
    """A PNG with one bar plot per entry of ``weights`` (name -> one weight per channel), as AdaCFNet Fig. 7.

    ``weights`` is e.g. ``tracker.extras["channel_weights"]["exemplar"]`` (the leading crop axis of length 1 is
    dropped) or ``{"search se1": output.extras["channel_weights"]["search"]["se1"][1]}``. Returns the bar heights
    drawn, per panel (read back from the figure), so callers and tests can check what the plot shows.
    """
    panels = {}
    for name, values in weights.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 2 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"channel weights {name!r} must be one value per channel, got shape {np.shape(values)}")
        panels[name] = array
    if not panels:
        raise ValueError("no channel weights to plot (was the network built with attention=False?)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)), squeeze=False)
    drawn = {}
    try:
        for ax, (name, values) in zip(axes[:, 0], panels.items()):
            bars = ax.bar(np.arange(values.size), values, width=0.8, color="tab:blue")
            ax.set(xlim=(-1, values.size), ylim=(0, 1), ylabel="weight", title=f"{name} ({values.size} channels)")
            ax.set_xlabel("channel")
            drawn[name] = np.array([bar.get_height() for bar in bars])
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return drawn


__all__ = ["AdaCFNetLiteTracker", "AdaCFNetParams", "AdaCFNetTracker", "plot_channel_weights"]
