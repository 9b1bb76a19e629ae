"""Intake: OTLP and Langfuse batch decoding, validation and mapping to observation rows, plus its HTTP routes.

May import app.settings, app.errors, app.storage, app.auth and app.jobs.contracts; not other transports.
"""
