"""Search latency benchmark (see run.py)."""
