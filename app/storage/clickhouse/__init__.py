"""ClickHouse access: the client wrapper, the compiled-query value and the DDL migrations.

May import app.settings, app.errors and clickhouse_connect (its only owner); nothing else from app.
"""
