"""Read your project into pandas: run against a local server (`langhouse serve`) with your keys.

pip install ./clients/python   # the client alone: httpx and pandas
LANGHOUSE_PUBLIC_KEY=pk-lh-... LANGHOUSE_SECRET_KEY=sk-lh-... python examples/notebook.py
"""

from langhouse_client import Langhouse

with Langhouse("http://localhost:3000") as lh:
    traces = lh.traces(limit=500)
    print(traces[["timestamp", "name", "userId", "totals.latencyMs", "totals.totalCost"]].head())
    costs = lh.metrics("OBSERVATIONS", [("TOTAL_COST", "SUM"), ("TOTAL_TOKENS", "SUM")], dimensions=["MODEL"])
    print(costs.groupby("model")[["total_cost_sum", "total_tokens_sum"]].sum())
    errors = lh.observations(filter={"levels": ["ERROR"]})
    print(f"{len(errors)} failed observations in the last 24 hours")
    print(lh.users(sort="TOTAL_COST").head()[["id", "traceCount", "sessionCount", "totalCost"]])
    print(lh.sessions().head()[["id", "traceCount", "durationMs", "totalCost"]])
    prompts = lh.prompts()
    if len(prompts):
        versions = lh.prompt_versions(prompts["name"][0], with_metrics=True)
        print(versions[["version", "labels", "metrics.generations", "metrics.totalCost"]])

    # Evaluation: the newest two runs of a dataset, compared item by item.
    runs = lh.experiments()
    print(runs[["startTime", "name", "itemCount", "totalCost"]].head())
    if len(runs) >= 2:
        scores, items = lh.compare(runs["id"][1], [runs["id"][0]])
        print(scores[["score", "run", "mean", "delta", "pValue", "adjustedPValue", "significant"]])
        print(items[items["run"] == runs["name"][0]].filter(like="flag.").apply(lambda c: c.value_counts()))
