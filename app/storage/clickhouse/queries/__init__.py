"""Read queries over the observability tables: typed requests compiled to parameter-bound SQL.

May import app.settings, app.errors and the rest of app.storage.clickhouse; nothing else from app.
"""
