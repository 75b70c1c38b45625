"""siamtrack.evaluation."""
