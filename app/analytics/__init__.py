"""Analytics: what the dashboards and the daily metrics read compute (totals, percentiles, top-N, widgets).

May import app.settings, app.errors and app.storage; returns frozen dataclasses, never figures or HTTP.
"""
