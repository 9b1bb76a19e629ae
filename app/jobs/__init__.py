"""Background jobs on arq: the worker, job contracts and job functions.

May import app.settings, app.errors, app.storage and domain modules; transport layers may import contracts.
"""
