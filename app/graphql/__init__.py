"""The GraphQL API (strawberry) at /api/graphql: schema, context, types, resolvers, permissions.

May import app.settings, app.errors, app.storage, app.auth and app.jobs.contracts; not other transports.
"""
