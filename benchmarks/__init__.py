"""Side-by-side benchmark of micropkg and micropip 0.11.1 (see bench.py; run benchmarks/run)."""
