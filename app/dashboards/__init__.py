"""Server-rendered UI: login, home and settings pages (Jinja2 templates, htmx; Plotly figures later).

May import app.settings, app.errors, app.storage, app.auth, the domain modules (app.tracing,
app.playground, app.prompts) and app.jobs.contracts; not other transports.
"""
