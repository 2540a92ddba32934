"""Benchmark exported models: latency, throughput, memory and GFLOP/s per runtime."""
