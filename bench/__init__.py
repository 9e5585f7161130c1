"""Benchmarks: latency, cost and scale of the reconciler, each against a baseline measured in the same run.

``python -m bench`` (``--quick`` for a smaller run); see ``bench/README.md``.
"""
