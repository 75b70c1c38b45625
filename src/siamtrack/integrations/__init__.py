"""siamtrack.integrations."""
