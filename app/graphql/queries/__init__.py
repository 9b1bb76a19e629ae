"""Query root fields, one mixin per noun (`TraceQueryMixin`, …); schema.Query inherits them.

May import app.graphql's context, permissions and types, app.storage and the domain packages; no SQL.
"""
