"""The debwheels reproducibility corpus (a placeholder application)."""
