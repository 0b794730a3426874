"""Benchmarks run by `nox -s bench` (never by pytest): each prints a table and writes JSON."""
