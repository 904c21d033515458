"""Benchmarks of matching latency, end-to-end decision time and HTTP load."""
