"""GraphQL object, input and payload types, one module per noun.

May import app.storage models only to map them; no queries here.
"""
