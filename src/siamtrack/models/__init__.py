"""siamtrack.models."""
