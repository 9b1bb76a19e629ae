"""GraphQL queries with a project's API keys, results as pandas DataFrames (one row per object)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, NamedTuple

import httpx
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
_GROUP_FIELDS = """id firstSeen lastSeen durationMs traceCount observationCount userIds environments
      totalCost totalTokens usageDetails costDetails"""
_SESSIONS = f"""
query($filter: GroupFilterInput, $sort: GroupSortField!, $direction: SortDirection!, $first: Int,
      $after: String) {{
  sessions(filter: $filter, sort: $sort, direction: $direction, first: $first, after: $after) {{
    edges {{ node {{ {_GROUP_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
_USERS = f"""
query($filter: GroupFilterInput, $sort: GroupSortField!, $direction: SortDirection!, $first: Int,
      $after: String) {{
  users(filter: $filter, sort: $sort, direction: $direction, first: $first, after: $after) {{
    edges {{ node {{ {_GROUP_FIELDS} sessionCount }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
_PROMPTS = """
query($filter: PromptFilterInput, $first: Int, $after: String) {
  prompts(filter: $filter, first: $first, after: $after) {
    edges { node { name type versions labels tags lastUpdatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_PROMPT_METRICS = """metrics(timeRange: $timeRange) { generations latencyP50Ms latencyP95Ms inputTokens
      outputTokens totalTokens totalCost scores { name average } }"""


def _prompt_versions_query(with_metrics: bool) -> str:
    return f"""
query($name: String!{", $timeRange: TimeRangeInput" if with_metrics else ""}) {{
  prompt(name: $name) {{
    versions {{ id name version type prompt config labels tags commitMessage createdBy createdAt updatedAt
      {_PROMPT_METRICS if with_metrics else ""} }}
  }}
}}
"""


_METRICS = "query($q: MetricsQueryInput!) { metrics(query: $q) { columns rows servedFrom } }"
_DATASETS = """
query($first: Int, $after: String) {
  datasets(first: $first, after: $after) {
    edges { node { id name description metadata itemCount createdAt updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_DATASET_ITEMS = """
query($name: String!, $version: DateTime, $first: Int, $after: String) {
  dataset(name: $name) {
    items(first: $first, after: $after, version: $version) {
      edges { node { id status input expectedOutput metadata sourceTraceId sourceObservationId
        version createdAt updatedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
_SUMMARY = "summary { itemCount errorCount totalCost avgLatencyMs scores { name mean count } }"
_EXPERIMENTS = f"""
query($filter: ExperimentFilterInput, $first: Int, $after: String) {{
  experiments(filter: $filter, first: $first, after: $after) {{
    edges {{ node {{ id name description metadata datasetId startTime endTime {_SUMMARY} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
_EXPERIMENT_ITEMS = """
query($id: ID!, $first: Int, $after: String) {
  experiment(id: $id) {
    items(first: $first, after: $after) {
      edges { node { id traceId itemId startTime level input output expectedOutput totalCost latencyMs
        scores { name value } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
_COMPARE = """
fragment Metric on ScoreComparison {
  name kind unit
  runs { experimentId mean ciLow ciHigh count }
  deltas { experimentId delta ciLow ciHigh pValue adjustedPValue significant pairedItems }
}
query($baseline: ID!, $others: [ID!]!, $first: Int, $after: String) {
  compareExperiments(baseline: $baseline, others: $others) {
    runs { experimentId name }
    scores { ...Metric } cost { ...Metric } latency { ...Metric }
    items(first: $first, after: $after) {
      edges { node { itemKey input expectedOutput
        runs { experimentId repetitions output scores { name value } totalCost latencyMs }
        flags { name experimentId flag } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


class LanghouseError(RuntimeError):
    """The server answered with an error (its message is kept)."""


class ComparisonFrames(NamedTuple):
    """A comparison of runs: one row per (score, run), and one row per (item, run)."""

    scores: pd.DataFrame
    items: pd.DataFrame


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

    def _walk(
        self, query: str, field: str, variables: dict[str, Any], limit: int, *, inner: str | None = None
    ) -> list[dict[str, Any]]:
        """Every node of a connection at `field` (or `field`.`inner`), page by page, at most `limit`."""
        rows: list[dict[str, Any]] = []
        after = None
        while len(rows) < limit:
            data = self.query(query, {**variables, "first": min(PAGE, limit - len(rows)), "after": after})
            page = data[field]
            if page is None:
                raise LanghouseError(f"{field} not found")
            if inner is not None:
                page = page[inner]
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

    def sessions(
        self,
        filter: dict[str, Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        sort: str = "LAST_SEEN",
        direction: str = "DESC",
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Sessions active in the time range (default the last 24 hours), one row each: first and last
        seen, duration, trace and observation counts, users, cost and tokens."""
        return self._groups(_SESSIONS, "sessions", filter, start, end, sort, direction, limit)

    def users(
        self,
        filter: dict[str, Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        sort: str = "LAST_SEEN",
        direction: str = "DESC",
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Users active in the time range (default the last 24 hours), one row each, as `sessions` plus
        `sessionCount`."""
        return self._groups(_USERS, "users", filter, start, end, sort, direction, limit)

    def _groups(
        self,
        query: str,
        field: str,
        filter: dict[str, Any] | None,
        start: datetime | str | None,
        end: datetime | str | None,
        sort: str,
        direction: str,
        limit: int,
    ) -> pd.DataFrame:
        f = {**(filter or {}), "timeRange": _time_range(start, end)}
        variables = {"filter": f, "sort": sort, "direction": direction}
        return _frame(self._walk(query, field, variables, limit), ("firstSeen", "lastSeen"))

    def prompts(self, filter: dict[str, Any] | None = None, limit: int = 1000) -> pd.DataFrame:
        """Prompts in name order, one row each: type, version numbers, labels, tags, last update.
        `filter` takes `nameContains`, `label` and `tag`."""
        return _frame(self._walk(_PROMPTS, "prompts", {"filter": filter}, limit), ("lastUpdatedAt",))

    def prompt_versions(
        self,
        name: str,
        *,
        with_metrics: bool = False,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Every version of a prompt, newest first: content, config, labels, tags, commit message.
        `with_metrics` adds, per version, its generations in the time range (default: since it was created,
        at most 90 days): `metrics.generations`, latency p50/p95, tokens, `metrics.totalCost` and
        `score.<name>` averages."""
        variables: dict[str, Any] = {"name": name}
        if with_metrics:
            variables["timeRange"] = _time_range(start, end)
        prompt = self.query(_prompt_versions_query(with_metrics), variables)["prompt"]
        if prompt is None:
            raise LanghouseError(f"prompt {name!r} not found")
        rows = prompt["versions"]
        for r in rows:
            if with_metrics:
                metrics = r.pop("metrics")
                r.update({f"metrics.{k}": v for k, v in metrics.items() if k != "scores"})
                r.update({f"score.{s['name']}": s["average"] for s in metrics["scores"]})
        return _frame(rows, ("createdAt", "updatedAt"))

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

    def datasets(self, limit: int = 1000) -> pd.DataFrame:
        """Datasets (newest first), one row each with its item count."""
        return _frame(self._walk(_DATASETS, "datasets", {}, limit), ("createdAt", "updatedAt"))

    def dataset_items(
        self, name: str, version: datetime | str | None = None, limit: int = 10_000
    ) -> pd.DataFrame:
        """Active items of a dataset (newest first), as they are now or as they were at `version`."""
        when = version.isoformat() if isinstance(version, datetime) else version
        rows = self._walk(_DATASET_ITEMS, "dataset", {"name": name, "version": when}, limit, inner="items")
        return _frame(rows, ("version", "createdAt", "updatedAt"))

    def experiments(
        self, start: datetime | str | None = None, end: datetime | str | None = None, limit: int = 1000
    ) -> pd.DataFrame:
        """Experiments (newest first; default those started in the last 90 days), one row each with its
        summary flattened: `itemCount`, `totalCost`, `avgLatencyMs`, and `score.<name>` (the mean)."""
        rows = self._walk(_EXPERIMENTS, "experiments", {"filter": _time_range(start, end)}, limit)
        for r in rows:
            summary = r.pop("summary")
            r.update({k: v for k, v in summary.items() if k != "scores"})
            r.update({f"score.{s['name']}": s["mean"] for s in summary["scores"]})
        return _frame(rows, ("startTime", "endTime"))

    def experiment_items(self, experiment_id: str, limit: int = 10_000) -> pd.DataFrame:
        """Item runs of an experiment, one row each: output, expected output, cost, latency, and
        `score.<name>` columns."""
        rows = self._walk(_EXPERIMENT_ITEMS, "experiment", {"id": experiment_id}, limit, inner="items")
        for r in rows:
            r.update({f"score.{s['name']}": s["value"] for s in r.pop("scores")})
        return _frame(rows, ("startTime",))

    def compare(self, baseline: str, others: list[str]) -> ComparisonFrames:
        """Compare runs against a baseline: `scores` has one row per (score, run) with its mean and 95 % CI,
        and for the other runs the paired delta from the baseline, its CI, p-value, Holm-adjusted p-value and
        whether it is significant; `items` has one row per (item, run) with output and `score.<name>`."""
        variables = {"baseline": baseline, "others": others}
        result = self.query(_COMPARE, {**variables, "first": PAGE})["compareExperiments"]
        compared = [e["node"] for e in result["items"]["edges"]]
        page = result["items"]["pageInfo"]
        while page["hasNextPage"]:  # each page recomputes the (seeded, so identical) comparison
            more = self.query(_COMPARE, {**variables, "first": PAGE, "after": page["endCursor"]})
            compared += [e["node"] for e in more["compareExperiments"]["items"]["edges"]]
            page = more["compareExperiments"]["items"]["pageInfo"]
        names = {r["experimentId"]: r["name"] for r in result["runs"]}
        score_rows = []
        for s in [*result["scores"], result["cost"], result["latency"]]:
            deltas = {d["experimentId"]: d for d in s["deltas"]}
            for r in s["runs"]:
                d = deltas.get(r["experimentId"], {})
                score_rows.append(
                    {
                        "score": s["name"],
                        "kind": s["kind"],
                        "unit": s["unit"],
                        "experimentId": r["experimentId"],
                        "run": names.get(r["experimentId"]),
                        "baseline": r["experimentId"] == baseline,
                        "mean": r["mean"],
                        "ciLow": r["ciLow"],
                        "ciHigh": r["ciHigh"],
                        "count": r["count"],
                        "delta": d.get("delta"),
                        "deltaCiLow": d.get("ciLow"),
                        "deltaCiHigh": d.get("ciHigh"),
                        "pValue": d.get("pValue"),
                        "adjustedPValue": d.get("adjustedPValue"),
                        "significant": d.get("significant"),
                        "pairedItems": d.get("pairedItems"),
                    }
                )
        item_rows = []
        for item in compared:
            flags = {(f["experimentId"], f["name"]): f["flag"] for f in item["flags"]}
            for r in item["runs"]:
                run_id = r["experimentId"]
                row = {
                    "itemKey": item["itemKey"],
                    "experimentId": run_id,
                    "run": names.get(run_id),
                    "input": item["input"],
                    "expectedOutput": item["expectedOutput"],
                    "repetitions": r["repetitions"],
                    "output": r["output"],
                    "totalCost": r["totalCost"],
                    "latencyMs": r["latencyMs"],
                }
                row.update({f"score.{s['name']}": s["value"] for s in r["scores"]})
                row.update({f"flag.{name}": flag for (rid, name), flag in flags.items() if rid == run_id})
                item_rows.append(row)
        return ComparisonFrames(_frame(score_rows, ()), _frame(item_rows, ()))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Langhouse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _frame(
    rows: list[dict[str, Any]], times: tuple[str, ...], columns: list[str] | None = None
) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for name in times:
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame
