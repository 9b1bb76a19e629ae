"""LLM playground: provider connections (keys encrypted), prompt compilation, streaming provider calls,
and the trace of each run. May import app.settings, app.errors, app.storage, app.auth and app.tracing;
never a transport layer or app.jobs."""
