-- Experiments (evaluation): one row per item run. A Python SDK 5.x item run is the span whose
-- `langfuse.experiment.item.root_observation_id` is its own id (the `experiment-item-task` span);
-- ingestion keeps every `langfuse.experiment.*` attribute as the JSON object of metadata key
-- "experiment" (app/tracing/mapping.py), and the materialised view below copies those rows here as
-- they are inserted: no extra read per span. Legacy run items (POST /api/public/dataset-run-items)
-- are written here directly (source 'api').
--
-- Keyed by (experiment, trace, observation): repetitions of an item (distinct traces) are all kept,
-- a span written again (a trace-attribute rewrite: cancel row -1 and new state +1 in one insert)
-- replaces its row. The cancel row becomes a deletion marker (is_deleted = 1) one microsecond older
-- than the new state, so a rewrite keeps the row and a trace deletion (cancel rows only) removes it.
-- Reads fold by key, newest event_ts first (parts merge eventually).
--
-- Every expression of the view is total (JSONExtract*, ...OrNull): a malformed attribute never fails
-- the observation insert it rides on; such a span is stored as a plain observation.

CREATE TABLE IF NOT EXISTS experiment_items ${ON_CLUSTER}
(
    project_id String,
    experiment_id String,
    experiment_name String,
    experiment_description Nullable(String),
    experiment_metadata String CODEC(ZSTD(3)),
    dataset_id String,
    item_id String,
    item_version Nullable(DateTime64(6, 'UTC')),
    item_metadata String CODEC(ZSTD(3)),
    expected_output Nullable(String) CODEC(ZSTD(3)),
    trace_id String,
    observation_id String,
    start_time DateTime64(6, 'UTC'),
    end_time Nullable(DateTime64(6, 'UTC')),
    level LowCardinality(String) DEFAULT 'DEFAULT',
    environment LowCardinality(String) DEFAULT 'default',
    input Nullable(String) CODEC(ZSTD(3)),
    output Nullable(String) CODEC(ZSTD(3)),
    source LowCardinality(String) DEFAULT 'otel',
    event_ts DateTime64(6, 'UTC'),
    is_deleted UInt8 DEFAULT 0,
    INDEX idx_start_time start_time TYPE minmax GRANULARITY 1
)
ENGINE = ${REPLICATED}ReplacingMergeTree(event_ts, is_deleted)
PARTITION BY toYYYYMM(start_time)
ORDER BY (project_id, experiment_id, trace_id, observation_id)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS experiment_items_mv ${ON_CLUSTER} TO experiment_items AS
WITH metadata_values[indexOf(metadata_names, 'experiment')] AS exp
SELECT
    project_id,
    if(JSONType(exp, 'id') = 'String', JSONExtractString(exp, 'id'), JSONExtractRaw(exp, 'id')) AS experiment_id,
    if(JSONType(exp, 'name') = 'String', JSONExtractString(exp, 'name'), JSONExtractRaw(exp, 'name')) AS experiment_name,
    if(JSONHas(exp, 'description'), JSONExtractString(exp, 'description'), NULL) AS experiment_description,
    JSONExtractRaw(exp, 'metadata') AS experiment_metadata,
    JSONExtractString(exp, 'dataset.id') AS dataset_id,
    if(JSONType(exp, 'item.id') = 'String', JSONExtractString(exp, 'item.id'), JSONExtractRaw(exp, 'item.id')) AS item_id,
    parseDateTime64BestEffortOrNull(JSONExtractString(exp, 'item.version'), 6, 'UTC') AS item_version,
    JSONExtractRaw(exp, 'item.metadata') AS item_metadata,
    if(JSONHas(exp, 'item.expected_output'), JSONExtractRaw(exp, 'item.expected_output'), NULL) AS expected_output,
    trace_id,
    id AS observation_id,
    start_time,
    end_time,
    level,
    environment,
    input,
    output,
    'otel' AS source,
    toDateTime64(event_ts, 6, 'UTC') + toIntervalMicrosecond(sign > 0) AS event_ts,
    toUInt8(sign < 0) AS is_deleted
FROM observations
WHERE has(metadata_names, 'experiment')
    AND JSONExtractString(exp, 'item.root_observation_id') = id
    AND experiment_id != '';

INSERT INTO experiment_items
WITH metadata_values[indexOf(metadata_names, 'experiment')] AS exp
SELECT
    project_id,
    if(JSONType(exp, 'id') = 'String', JSONExtractString(exp, 'id'), JSONExtractRaw(exp, 'id')) AS experiment_id,
    if(JSONType(exp, 'name') = 'String', JSONExtractString(exp, 'name'), JSONExtractRaw(exp, 'name')) AS experiment_name,
    if(JSONHas(exp, 'description'), JSONExtractString(exp, 'description'), NULL) AS experiment_description,
    JSONExtractRaw(exp, 'metadata') AS experiment_metadata,
    JSONExtractString(exp, 'dataset.id') AS dataset_id,
    if(JSONType(exp, 'item.id') = 'String', JSONExtractString(exp, 'item.id'), JSONExtractRaw(exp, 'item.id')) AS item_id,
    parseDateTime64BestEffortOrNull(JSONExtractString(exp, 'item.version'), 6, 'UTC') AS item_version,
    JSONExtractRaw(exp, 'item.metadata') AS item_metadata,
    if(JSONHas(exp, 'item.expected_output'), JSONExtractRaw(exp, 'item.expected_output'), NULL) AS expected_output,
    trace_id,
    id AS observation_id,
    start_time,
    end_time,
    level,
    environment,
    input,
    output,
    'otel' AS source,
    toDateTime64(event_ts, 6, 'UTC') + toIntervalMicrosecond(sign > 0) AS event_ts,
    toUInt8(sign < 0) AS is_deleted
FROM observations
WHERE has(metadata_names, 'experiment')
    AND JSONExtractString(exp, 'item.root_observation_id') = id
    AND experiment_id != ''
