"""Mutation root fields, one mixin per noun (`ScoreMutationMixin`, …); schema.Mutation inherits them.

May import app.graphql's context, permissions and types, app.storage and the domain packages; no SQL.
"""
