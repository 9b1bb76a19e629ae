"""The metrics layer's vocabulary (views, dimensions, measures, aggregations, granularities) and the
registries that map it to column expressions: the only place those expressions come from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class View(StrEnum):
    OBSERVATIONS = "OBSERVATIONS"
    TRACES = "TRACES"
    SCORES = "SCORES"


class Dimension(StrEnum):
    NAME = "NAME"
    TYPE = "TYPE"
    MODEL = "MODEL"
    USER = "USER"
    SESSION = "SESSION"
    ENVIRONMENT = "ENVIRONMENT"
    RELEASE = "RELEASE"
    VERSION = "VERSION"
    LEVEL = "LEVEL"
    TAG = "TAG"
    TRACE_NAME = "TRACE_NAME"
    PROMPT_NAME = "PROMPT_NAME"
    PROMPT_VERSION = "PROMPT_VERSION"
    SCORE_NAME = "SCORE_NAME"
    SOURCE = "SOURCE"
    DATA_TYPE = "DATA_TYPE"
    STRING_VALUE = "STRING_VALUE"


class Measure(StrEnum):
    COUNT = "COUNT"
    LATENCY = "LATENCY"
    TOTAL_COST = "TOTAL_COST"
    INPUT_COST = "INPUT_COST"
    OUTPUT_COST = "OUTPUT_COST"
    INPUT_TOKENS = "INPUT_TOKENS"
    OUTPUT_TOKENS = "OUTPUT_TOKENS"
    TOTAL_TOKENS = "TOTAL_TOKENS"
    ERRORS = "ERRORS"
    VALUE = "VALUE"
    TRACES = "TRACES"
    USERS = "USERS"
    SESSIONS = "SESSIONS"


class Aggregation(StrEnum):
    COUNT = "COUNT"
    SUM = "SUM"
    AVG = "AVG"
    MIN = "MIN"
    MAX = "MAX"
    P50 = "P50"
    P90 = "P90"
    P95 = "P95"
    P99 = "P99"
    UNIQ = "UNIQ"
    HISTOGRAM = "HISTOGRAM"


class Granularity(StrEnum):
    AUTO = "AUTO"
    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


# Registries: the only place column expressions come from.
OBS_DIMENSIONS = {
    Dimension.NAME: "name",
    Dimension.TYPE: "toString(type)",
    Dimension.MODEL: "ifNull(provided_model_name, '')",
    Dimension.USER: "ifNull(user_id, '')",
    Dimension.SESSION: "ifNull(session_id, '')",
    Dimension.ENVIRONMENT: "toString(environment)",
    Dimension.RELEASE: "ifNull(release, '')",
    Dimension.VERSION: "ifNull(version, '')",
    Dimension.LEVEL: "toString(level)",
    Dimension.TAG: "arrayJoin(if(empty(tags), [''], tags))",
    Dimension.TRACE_NAME: "ifNull(trace_name, '')",
    Dimension.PROMPT_NAME: "ifNull(prompt_name, '')",
    Dimension.PROMPT_VERSION: "toString(ifNull(prompt_version, 0))",
}
OBS_MEASURES = {  # per-row value, sign not applied
    Measure.COUNT: "1",
    Measure.LATENCY: "ifNull(latency_ms, 0)",
    Measure.TOTAL_COST: "toFloat64(ifNull(total_cost, 0))",
    Measure.INPUT_COST: "toFloat64(cost_details['input'])",
    Measure.OUTPUT_COST: "toFloat64(cost_details['output'])",
    Measure.INPUT_TOKENS: "toInt64(usage_details['input'])",
    Measure.OUTPUT_TOKENS: "toInt64(usage_details['output'])",
    Measure.TOTAL_TOKENS: "toInt64(usage_details['total'])",
    Measure.ERRORS: "toInt64(level = 'ERROR')",
    Measure.TRACES: "trace_id",
    Measure.USERS: "user_id",
    Measure.SESSIONS: "session_id",
}
_ENV = "toString(environment)"
# The same measures over observations_hourly (sums only; latency_us is microseconds).
HOURLY_DIMENSIONS = {
    Dimension.NAME: "name",
    Dimension.TYPE: "toString(type)",
    Dimension.MODEL: "model",
    Dimension.ENVIRONMENT: _ENV,
}
HOURLY_SUMS = {
    Measure.COUNT: "sum(observations)",
    Measure.LATENCY: "sum(latency_us) / 1000",
    Measure.TOTAL_COST: "toFloat64(sum(total_cost))",
    Measure.INPUT_COST: "toFloat64(sumMap(cost)['input'])",
    Measure.OUTPUT_COST: "toFloat64(sumMap(cost)['output'])",
    Measure.INPUT_TOKENS: "sumMap(usage)['input']",
    Measure.OUTPUT_TOKENS: "sumMap(usage)['output']",
    Measure.TOTAL_TOKENS: "sumMap(usage)['total']",
    Measure.ERRORS: "sum(errors)",
}


@dataclass(frozen=True, slots=True)
class Rollup:
    """A materialised view that serves sums (HOURLY_SUMS) over whole hours, for these dimensions."""

    table: str
    dimensions: dict[Dimension, str]
    condition: str | None = None  # selects the rollup's rows within its table
    histogram: bool = False  # keeps latency_buckets
    cost_by_type: bool = True  # keeps the cost map (INPUT_COST, OUTPUT_COST)

    def sums(self, measure: Measure) -> bool:
        by_type = measure in (Measure.INPUT_COST, Measure.OUTPUT_COST)
        return measure in HOURLY_SUMS and (self.cost_by_type or not by_type)


ROLLUPS = (
    Rollup("observations_hourly", HOURLY_DIMENSIONS, histogram=True),
    Rollup(
        "observations_by_dimension_hourly",
        {Dimension.USER: "value", Dimension.ENVIRONMENT: _ENV},
        "dimension = 'user'",
        cost_by_type=False,
    ),
    Rollup(
        "observations_by_dimension_hourly",
        {Dimension.TRACE_NAME: "value", Dimension.ENVIRONMENT: _ENV},
        "dimension = 'trace_name'",
        cost_by_type=False,
    ),
)
TRACE_DIMENSIONS = {
    Dimension.NAME: "name",
    Dimension.USER: "user",
    Dimension.SESSION: "session",
    Dimension.ENVIRONMENT: "environment",
    Dimension.RELEASE: "release",
    Dimension.VERSION: "version",
    Dimension.TAG: "arrayJoin(if(empty(tags), [''], tags))",
}
TRACE_MEASURES = {
    Measure.COUNT: "1",
    Measure.LATENCY: "latency_ms",
    Measure.TOTAL_COST: "total_cost",
    Measure.INPUT_TOKENS: "input_tokens",
    Measure.OUTPUT_TOKENS: "output_tokens",
    Measure.TOTAL_TOKENS: "total_tokens",
    Measure.ERRORS: "errors",
    Measure.USERS: "user",
    Measure.SESSIONS: "session",
}
SCORE_DIMENSIONS = {
    Dimension.SCORE_NAME: "name",
    Dimension.NAME: "name",
    Dimension.SOURCE: "toString(source)",
    Dimension.DATA_TYPE: "toString(data_type)",
    Dimension.STRING_VALUE: "ifNull(string_value, '')",
    Dimension.ENVIRONMENT: "toString(environment)",
    Dimension.TRACE_NAME: "trace_name",  # joined from the scored traces' observations (SCORED_TRACE_NAMES)
}
SCORE_MEASURES = {
    Measure.COUNT: "1",
    Measure.VALUE: "ifNull(value, 0)",
    Measure.TRACES: "trace_id",
    Measure.SESSIONS: "session_id",
}
# The latest score rows of a time range, and the name of each scored trace (trace attributes live on
# observations; a trace starts at most LOOKUP_WINDOW before its scores).
SCORE_ROWS = "SELECT * FROM scores WHERE {preds} ORDER BY event_ts DESC LIMIT 1 BY id"
SCORED_TRACE_NAMES = (
    "SELECT s.*, t.trace_name AS trace_name FROM ({scores}) AS s LEFT JOIN "
    "(SELECT trace_id, argMaxIf(ifNull(trace_name, ''), (row_version, start_time), sign = 1) AS trace_name "
    "FROM observations WHERE {preds} AND trace_id IN (SELECT trace_id FROM ({scores})) "
    "GROUP BY trace_id) AS t ON s.trace_id = t.trace_id"
)
# Per-trace rows for the traces view (trace attributes are denormalised onto every observation; the
# newest version of the latest observation carries them: a rewritten row's cancelled state does not).
TRACE_ROWS = (
    "SELECT trace_id, min(start_time) AS trace_start, "
    "argMaxIf(ifNull(trace_name, ''), (row_version, start_time), sign = 1) AS name, "
    "argMaxIf(ifNull(user_id, ''), (row_version, start_time), sign = 1) AS user, "
    "argMaxIf(ifNull(session_id, ''), (row_version, start_time), sign = 1) AS session, "
    "argMaxIf(toString(environment), (row_version, start_time), sign = 1) AS environment, "
    "argMaxIf(ifNull(release, ''), (row_version, start_time), sign = 1) AS release, "
    "argMaxIf(ifNull(version, ''), (row_version, start_time), sign = 1) AS version, "
    "groupUniqArrayArrayIf(tags, sign = 1) AS tags, "
    "(toUnixTimestamp64Micro(maxIf(ifNull(end_time, start_time), sign = 1)) "
    "- toUnixTimestamp64Micro(minIf(start_time, sign = 1))) / 1000.0 AS latency_ms, "
    "sum(toFloat64(ifNull(total_cost, 0)) * sign) AS total_cost, "
    "sum(toInt64(usage_details['input']) * sign) AS input_tokens, "
    "sum(toInt64(usage_details['output']) * sign) AS output_tokens, "
    "sum(toInt64(usage_details['total']) * sign) AS total_tokens, "
    "sum(toInt64(level = 'ERROR') * sign) AS errors "
    "FROM observations WHERE {preds} GROUP BY trace_id HAVING sum(sign) > 0"
)
