"""The update stage: relock, rebuild what changed, review the upstream changes, sign and package."""
