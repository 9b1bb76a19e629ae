"""The GraphQL API (strawberry) at /api/graphql: the schema with root fields per noun (queries/, mutations/),
types, context, dataloaders and permissions.

May import app.settings, app.errors, app.storage, the domain packages (app.auth, app.tracing, app.prompts,
app.playground) and app.jobs.contracts; not other transports.
"""
