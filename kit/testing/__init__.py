"""Helpers for the HTTP-level tests and the benchmarks: a live app and a raw queue client."""
