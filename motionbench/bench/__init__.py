"""Benchmark definition: manifest schema, samples, synthetic clip generators."""

