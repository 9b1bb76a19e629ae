-- Two rollups that keep the home dashboard and the traces list fast on large projects.
--
-- observations_by_dimension_hourly: the dashboard's sums per user and per trace name, hour and
-- environment (observations_hourly has neither column; adding them there would multiply its rows).
-- One table holds both: each observation is counted once under ('user', user_id) and once under
-- ('trace_name', trace_name). Sign-weighted sums, so cancel/new row pairs keep them exact. No cost
-- by type (input/output): it would cost every insert more than any page that asks for it by user.
--
-- trace_starts: each trace's first row time, looked up by id. The traces list folds the trace rows
-- of its page only, and needs to know how far back those rows can go. Small granules: a page looks
-- up ~200 random ids, each in its own granule.
--
-- users_daily (0002) is dropped: nothing reads it, the user rows of the new rollup say the same per
-- hour, and every materialised view costs every insert.
--
-- Both are filled from what is already stored (an embedded server migrates before it ingests; in
-- services mode, run `langhouse migrate` before starting the workers).

CREATE TABLE IF NOT EXISTS observations_by_dimension_hourly ${ON_CLUSTER}
(
    project_id String,
    hour DateTime('UTC'),
    environment LowCardinality(String),
    dimension LowCardinality(String),
    value String,
    observations SimpleAggregateFunction(sum, Int64),
    errors SimpleAggregateFunction(sum, Int64),
    usage SimpleAggregateFunction(sumMap, Map(String, Int64)),
    total_cost SimpleAggregateFunction(sum, Decimal128(12)),
    latency_us SimpleAggregateFunction(sum, Int64)
)
ENGINE = ${REPLICATED}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, dimension, hour, environment, value);

CREATE MATERIALIZED VIEW IF NOT EXISTS observations_by_dimension_hourly_mv ${ON_CLUSTER}
TO observations_by_dimension_hourly AS
SELECT
    project_id,
    toStartOfHour(start_time) AS hour,
    environment,
    dimension_value.1 AS dimension,
    dimension_value.2 AS value,
    sum(sign) AS observations,
    sum(sign * (level = 'ERROR')) AS errors,
    sumMap(mapApply((k, v) -> (toString(k), toInt64(v) * sign), usage_details)) AS usage,
    sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS total_cost,
    sum(toInt64(round(ifNull(latency_ms, 0) * 1000)) * sign) AS latency_us
FROM observations
ARRAY JOIN [('user', ifNull(user_id, '')), ('trace_name', ifNull(trace_name, ''))] AS dimension_value
GROUP BY project_id, hour, environment, dimension, value;

INSERT INTO observations_by_dimension_hourly
SELECT
    project_id,
    toStartOfHour(start_time) AS hour,
    environment,
    dimension_value.1 AS dimension,
    dimension_value.2 AS value,
    sum(sign) AS observations,
    sum(sign * (level = 'ERROR')) AS errors,
    sumMap(mapApply((k, v) -> (toString(k), toInt64(v) * sign), usage_details)) AS usage,
    sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS total_cost,
    sum(toInt64(round(ifNull(latency_ms, 0) * 1000)) * sign) AS latency_us
FROM observations
ARRAY JOIN [('user', ifNull(user_id, '')), ('trace_name', ifNull(trace_name, ''))] AS dimension_value
GROUP BY project_id, hour, environment, dimension, value;

CREATE TABLE IF NOT EXISTS trace_starts ${ON_CLUSTER}
(
    project_id String,
    id String,
    start SimpleAggregateFunction(min, DateTime64(6, 'UTC'))
)
ENGINE = ${REPLICATED}AggregatingMergeTree
ORDER BY (project_id, id)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS trace_starts_mv ${ON_CLUSTER} TO trace_starts AS
SELECT project_id, id, min(timestamp) AS start FROM traces GROUP BY project_id, id;

INSERT INTO trace_starts SELECT project_id, id, min(timestamp) AS start FROM traces GROUP BY project_id, id;

DROP VIEW IF EXISTS users_daily_mv ${ON_CLUSTER};

DROP TABLE IF EXISTS users_daily ${ON_CLUSTER};
