"""The Langfuse-compatible public REST API under /api/public (health, projects; reads come later).

May import app.settings, app.errors, app.storage, app.auth and app.jobs.contracts; not other transports.
"""
