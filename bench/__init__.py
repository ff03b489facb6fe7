"""Benchmarks: `python -m bench.<name>`. Each prints a table and a ratio against a baseline measured in the same run."""
