"""The label maps moved to :mod:`siamtrack.labels` (training, models and trackers all use them); this name stays
so existing imports keep working."""

from siamtrack.labels import gaussian_labels, logistic_labels, map_center

__all__ = ["gaussian_labels", "logistic_labels", "map_center"]
