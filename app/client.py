"""A small client for notebooks: GraphQL queries with project keys, results as pandas DataFrames.

    from app.client import Langhouse
    lh = Langhouse("http://localhost:3000", "pk-lh-…", "sk-lh-…")   # or LANGHOUSE_* / LANGFUSE_* env
    lh.traces(filter={"userIds": ["u-1"]})                             # a DataFrame, one row per trace
    lh.metrics("OBSERVATIONS", [("TOTAL_COST", "SUM")], dimensions=["MODEL"], granularity="DAY")

pandas is an optional dependency (`pip install 'langhouse[notebook]'`).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import pandas as pd

PAGE = 100
_TRACES = """
query($first: Int, $after: String, $filter: TraceFilterInput, $timeRange: TimeRangeInput) {
  traces(first: $first, after: $after, filter: $filter, timeRange: $timeRange) {
    edges { node { id timestamp name userId sessionId release version environment tags public bookmarked
      totals { observationCount latencyMs totalCost totalTokens } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_OBSERVATIONS = """
query($first: Int, $after: String, $filter: ObservationFilterInput) {
  observations(first: $first, after: $after, filter: $filter) {
    edges { node { id traceId parentObservationId type name startTime endTime level model
      usageDetails totalCost latencyMs userId sessionId environment promptName promptVersion } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_SCORES = """
query($first: Int, $after: String, $filter: ScoreFilterInput) {
  scores(first: $first, after: $after, filter: $filter) {
    edges { node { id timestamp name value stringValue dataType source comment
      traceId observationId sessionId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_METRICS = "query($q: MetricsQueryInput!) { metrics(query: $q) { columns rows servedFrom } }"


class LanghouseError(RuntimeError):
    """The server answered with an error (its message is kept)."""


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def _time_range(start: datetime | str | None, end: datetime | str | None) -> dict[str, str] | None:
    if start is None and end is None:
        return None
    out = {}
    if start is not None:
        out["from"] = start.isoformat() if isinstance(start, datetime) else start
    if end is not None:
        out["to"] = end.isoformat() if isinstance(end, datetime) else end
    return out


class Langhouse:
    """GraphQL over HTTP with a project's API keys."""

    def __init__(
        self,
        host: str | None = None,
        public_key: str | None = None,
        secret_key: str | None = None,
        *,
        timeout: float = 30,
    ) -> None:
        host = host or _env("LANGHOUSE_HOST", "LANGFUSE_BASE_URL", "LANGFUSE_HOST") or "http://localhost:3000"
        public_key = public_key or _env("LANGHOUSE_PUBLIC_KEY", "LANGFUSE_PUBLIC_KEY")
        secret_key = secret_key or _env("LANGHOUSE_SECRET_KEY", "LANGFUSE_SECRET_KEY")
        if not public_key or not secret_key:
            raise LanghouseError(
                "pass public_key and secret_key, or set LANGHOUSE_PUBLIC_KEY/LANGHOUSE_SECRET_KEY"
            )
        self._http = httpx.Client(base_url=host.rstrip("/"), auth=(public_key, secret_key), timeout=timeout)

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a GraphQL query; returns its `data`, raises LanghouseError on errors."""
        r = self._http.post("/api/graphql", json={"query": query, "variables": variables or {}})
        if r.status_code >= 400:
            raise LanghouseError(f"HTTP {r.status_code}: {r.text[:500]}")
        body = r.json()
        if body.get("errors"):
            raise LanghouseError("; ".join(e.get("message", "error") for e in body["errors"]))
        data: dict[str, Any] = body["data"]
        return data

    def _walk(self, query: str, field: str, variables: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after = None
        while len(rows) < limit:
            page = self.query(query, {**variables, "first": min(PAGE, limit - len(rows)), "after": after})[
                field
            ]
            rows += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        return rows

    def traces(
        self,
        filter: dict[str, Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Traces (newest first; default the last 24 hours), one row each, totals flattened."""
        variables = {"filter": filter, "timeRange": _time_range(start, end)}
        rows = self._walk(_TRACES, "traces", variables, limit)
        for r in rows:
            r.update({f"totals.{k}": v for k, v in r.pop("totals").items()})
        return _frame(rows, ("timestamp",))

    def observations(
        self,
        filter: dict[str, Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Observations (newest first; default the last 24 hours)."""
        f = {**(filter or {}), "timeRange": _time_range(start, end)}
        return _frame(
            self._walk(_OBSERVATIONS, "observations", {"filter": f}, limit), ("startTime", "endTime")
        )

    def scores(
        self,
        filter: dict[str, Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Scores (newest first; default the last 24 hours)."""
        f = {**(filter or {}), "timeRange": _time_range(start, end)}
        return _frame(self._walk(_SCORES, "scores", {"filter": f}, limit), ("timestamp",))

    def metrics(
        self,
        view: str,
        metrics: list[tuple[str, str]],
        dimensions: list[str] | None = None,
        filters: dict[str, list[str]] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        granularity: str | None = "AUTO",
    ) -> pd.DataFrame:
        """Aggregates: one row per time bucket and dimension values; columns `<measure>_<aggregation>`."""
        q = {
            "view": view,
            "metrics": [{"measure": m, "aggregation": a} for m, a in metrics],
            "dimensions": dimensions or [],
            "filters": [{"dimension": d, "values": v} for d, v in (filters or {}).items()],
            "timeRange": _time_range(start, end),
            "granularity": granularity,
        }
        result = self.query(_METRICS, {"q": q})["metrics"]
        return _frame(result["rows"], ("time",), columns=result["columns"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Langhouse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _frame(
    rows: list[dict[str, Any]], times: tuple[str, ...], columns: list[str] | None = None
) -> pd.DataFrame:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise LanghouseError("the notebook client needs pandas: pip install 'langhouse[notebook]'") from exc
    frame = pd.DataFrame(rows, columns=columns)
    for name in times:
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame
