"""Prompt management: versions, labels, content values, composition of prompts and diffs.

May import app.settings, app.errors, app.auth (the caller) and app.storage; no transport layer or jobs.
"""
