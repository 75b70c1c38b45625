"""siamtrack.training."""
