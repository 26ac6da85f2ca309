"""Training: typed configuration, the training loop, and validation by tracking."""
