"""Postgres access: engine, sqlmodel tables, Alembic migrations and repositories.

May import app.settings, app.errors, sqlmodel/sqlalchemy/asyncpg/alembic (their only owner); nothing else from app.
"""
