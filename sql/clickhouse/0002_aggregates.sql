-- Dashboard aggregates, fed by materialised views from `observations` inserts. Every measure is a
-- sum of sign-weighted values, so cancel/new row pairs keep them exactly equal to the raw rows.
-- Latency: exact sum in microseconds, plus a histogram over buckets floor(ln(1 + ms) * 10) (about
-- 10 % wide) for percentiles. Read with GROUP BY and sum/sumMap (parts merge eventually).

CREATE TABLE IF NOT EXISTS observations_hourly ${ON_CLUSTER}
(
    project_id String,
    hour DateTime('UTC'),
    environment LowCardinality(String),
    type LowCardinality(String),
    name String,
    model String,
    observations SimpleAggregateFunction(sum, Int64),
    errors SimpleAggregateFunction(sum, Int64),
    warnings SimpleAggregateFunction(sum, Int64),
    usage SimpleAggregateFunction(sumMap, Map(String, Int64)),
    cost SimpleAggregateFunction(sumMap, Map(String, Decimal128(12))),
    total_cost SimpleAggregateFunction(sum, Decimal128(12)),
    latency_us SimpleAggregateFunction(sum, Int64),
    latency_buckets SimpleAggregateFunction(sumMap, Map(UInt16, Int64)),
    traces AggregateFunction(uniqExact, String)
)
ENGINE = ${REPLICATED}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, type, name, model);

CREATE MATERIALIZED VIEW IF NOT EXISTS observations_hourly_mv ${ON_CLUSTER} TO observations_hourly AS
SELECT
    project_id,
    toStartOfHour(start_time) AS hour,
    environment,
    type,
    name,
    ifNull(provided_model_name, '') AS model,
    sum(sign) AS observations,
    sum(sign * (level = 'ERROR')) AS errors,
    sum(sign * (level = 'WARNING')) AS warnings,
    sumMap(mapApply((k, v) -> (toString(k), toInt64(v) * sign), usage_details)) AS usage,
    sumMap(mapApply((k, v) -> (toString(k), toDecimal128(v, 12) * sign), cost_details)) AS cost,
    sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS total_cost,
    sum(toInt64(round(ifNull(latency_ms, 0) * 1000)) * sign) AS latency_us,
    sumMap(map(toUInt16(floor(log(1 + greatest(ifNull(latency_ms, 0), 0)) * 10)), toInt64(sign))) AS latency_buckets,
    uniqExactStateIf(trace_id, sign > 0) AS traces
FROM observations
GROUP BY project_id, hour, environment, type, name, model;

CREATE TABLE IF NOT EXISTS users_daily ${ON_CLUSTER}
(
    project_id String,
    day Date,
    environment LowCardinality(String),
    user_id String,
    observations SimpleAggregateFunction(sum, Int64),
    errors SimpleAggregateFunction(sum, Int64),
    usage SimpleAggregateFunction(sumMap, Map(String, Int64)),
    total_cost SimpleAggregateFunction(sum, Decimal128(12)),
    traces AggregateFunction(uniqExact, String)
)
ENGINE = ${REPLICATED}AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, environment, user_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS users_daily_mv ${ON_CLUSTER} TO users_daily AS
SELECT
    project_id,
    toDate(start_time) AS day,
    environment,
    user_id,
    sum(sign) AS observations,
    sum(sign * (level = 'ERROR')) AS errors,
    sumMap(mapApply((k, v) -> (toString(k), toInt64(v) * sign), usage_details)) AS usage,
    sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS total_cost,
    uniqExactStateIf(trace_id, sign > 0) AS traces
FROM observations
WHERE user_id IS NOT NULL
GROUP BY project_id, day, environment, user_id;
