"""Tracing domain: decoding OTLP and Langfuse batches, mapping to rows, enrichment, exactly-once writes.

May import app.settings, app.errors and app.storage; used by app.ingest (HTTP) and app.jobs (worker).
"""
