"""Prompt management: versions, labels, composition of prompts, diffs and the Langfuse API shapes.

May import app.settings, app.errors, app.auth (the caller) and app.storage; no transport layer or jobs.
"""
