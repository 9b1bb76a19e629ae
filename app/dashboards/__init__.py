"""Server-rendered UI: pages grouped by area (*_pages.py), deps (session, guards), figures (Plotly), links.

May import app.settings, app.errors, app.storage, app.auth, the domain modules (app.analytics,
app.tracing, app.playground, app.prompts) and app.jobs.contracts; not other transports.
"""
