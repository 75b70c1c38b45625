"""siamtrack.weights."""
