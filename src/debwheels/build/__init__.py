"""Building: the scheduler, the in-container driver, sources, build keys and the build cache, refresh and repro."""
