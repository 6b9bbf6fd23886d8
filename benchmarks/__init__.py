"""Benchmarks, studies and their committed results; run from the repository root as
``python -m benchmarks.NAME`` (``benchmarks/RESULTS.md``). Not part of the installed package."""
