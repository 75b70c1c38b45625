"""siamtrack.trackers."""
