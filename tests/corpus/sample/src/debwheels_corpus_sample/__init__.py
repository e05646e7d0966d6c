"""debwheels reproducibility corpus: the CI sample (no code)."""
