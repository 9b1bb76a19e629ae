"""Accounts and access: API keys, passwords, UI sessions, roles and headless initialisation.

May import app.settings, app.errors and app.storage; never a transport layer (litestar, strawberry).
"""
