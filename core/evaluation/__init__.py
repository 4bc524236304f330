"""Evaluation: metrics on a test split, latency and throughput."""
