"""Evaluation: datasets and their versioned items, experiments (runs over items) and their comparison.
May import storage and the tracing domain; no transport, no jobs."""
