"""Benchmark evaluation through the got10k toolkit (``siamfc eval``: :func:`.compare.evaluate`) and the
speed benchmark (``siamfc bench``: :mod:`.speed`); docs/evaluation.md describes both."""
