"""Benchmarks: ``python -m bench.run [NAME ...]`` writes figures to ``bench/results/``."""
