"""Infrastructure tests: the SAM template, the built artifacts, the benchmark's machinery."""
