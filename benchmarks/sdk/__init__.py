"""Helpers of benchmarks/sdk_overhead.py."""
