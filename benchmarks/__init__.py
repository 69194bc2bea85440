"""Benchmarks and peer checks, run from the repository root as `python -m benchmarks.NAME`."""
