"""Numenta Anomaly Benchmark: run kohta's univariate detector and two baselines, score them."""

from streams.nab.runner import NabReport, run_nab

__all__ = ["NabReport", "run_nab"]
