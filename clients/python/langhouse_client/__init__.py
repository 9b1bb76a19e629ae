"""The Langhouse notebook client: a project's data as pandas DataFrames, over the server's GraphQL API.
It imports only httpx and pandas, never the server's `app`, so it installs alone.

    from langhouse_client import Langhouse
    lh = Langhouse("http://localhost:3000", "pk-lh-…", "sk-lh-…")   # or LANGHOUSE_* / LANGFUSE_* env
    lh.traces(filter={"userIds": ["u-1"]})                             # a DataFrame, one row per trace
    lh.metrics("OBSERVATIONS", [("TOTAL_COST", "SUM")], dimensions=["MODEL"], granularity="DAY")
"""

from langhouse_client.client import ComparisonFrames, Langhouse, LanghouseError

__all__ = ["ComparisonFrames", "Langhouse", "LanghouseError"]
__version__ = "0.1.0"
