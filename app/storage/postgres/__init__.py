"""Postgres access: engine, sqlmodel tables, Alembic migrations and repositories.

May import app.settings, app.errors and sqlmodel/sqlalchemy/asyncpg/alembic (their only owner).
"""
