"""Tracing domain: OTLP and Langfuse batch decoding, mapping to rows, costs, attribution, exactly-once writes;
traces, scores, score configs, comments, media and model prices as typed domain operations.

May import app.settings, app.errors and app.storage; used by every transport and by app.jobs (the worker).
"""
