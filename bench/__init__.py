"""Benchmarks: standalone scripts, run by `make bench`; a package so `bench.common` resolves."""
