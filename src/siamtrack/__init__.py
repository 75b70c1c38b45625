"""siamtrack: Siamese and correlation-filter single-object visual tracking in PyTorch."""
__version__ = "0.1.0"
