"""Benchmarks that print ratios against the plainest baseline measured in the same run."""
