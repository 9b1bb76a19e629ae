-- Observability tables. Rules (DESIGN.md "Data model"):
-- one wide, immutable row per observation with the trace attributes denormalised onto it;
-- sort keys start with (project_id, time); input/output stored ZSTD-compressed with short
-- materialised previews for lists. ${ON_CLUSTER} and ${REPLICATED} are filled in by the
-- migration runner (empty on a single server / chDB; ON CLUSTER + Replicated on a cluster).
-- Observations are sign-collapsing: a new observation is one row (sign +1). Changing one (a legacy
-- update arriving later) writes, in one insert, a copy of the stored row with sign -1 and the new
-- state with sign +1 and row_version + 1; deleting writes only the -1 copy. Aggregates that sum
-- `sign`-weighted values (the materialised views) are therefore exact at every moment, before and
-- after merges; reads of current state take sign = +1 rows, latest row_version per id.

CREATE TABLE IF NOT EXISTS observations ${ON_CLUSTER}
(
    project_id String,
    id String,
    trace_id String,
    parent_observation_id Nullable(String),
    type LowCardinality(String),
    name String,
    start_time DateTime64(6, 'UTC'),
    end_time Nullable(DateTime64(6, 'UTC')),
    completion_start_time Nullable(DateTime64(6, 'UTC')),
    level LowCardinality(String) DEFAULT 'DEFAULT',
    status_message Nullable(String),
    version Nullable(String),
    environment LowCardinality(String) DEFAULT 'default',
    release Nullable(String),
    trace_name Nullable(String),
    user_id Nullable(String),
    session_id Nullable(String),
    tags Array(String),
    public Bool DEFAULT false,
    input Nullable(String) CODEC(ZSTD(3)),
    output Nullable(String) CODEC(ZSTD(3)),
    input_preview String MATERIALIZED leftUTF8(ifNull(input, ''), 200),
    output_preview String MATERIALIZED leftUTF8(ifNull(output, ''), 200),
    metadata_names Array(String),
    metadata_values Array(String) CODEC(ZSTD(3)),
    provided_model_name Nullable(String),
    internal_model_id Nullable(String),
    model_parameters Nullable(String),
    usage_details Map(LowCardinality(String), UInt64),
    cost_details Map(LowCardinality(String), Decimal64(12)),
    total_cost Nullable(Decimal64(12)),
    prompt_name Nullable(String),
    prompt_version Nullable(UInt32),
    latency_ms Nullable(Float64) MATERIALIZED if(end_time IS NULL, NULL, dateDiff('microsecond', start_time, end_time) / 1000.0),
    created_at DateTime64(3, 'UTC') DEFAULT now64(3),
    event_ts DateTime64(3, 'UTC'),
    sign Int8 DEFAULT 1,
    row_version UInt32 DEFAULT 1,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ${REPLICATED}VersionedCollapsingMergeTree(sign, row_version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (project_id, toStartOfMinute(start_time), trace_id, id)
SETTINGS index_granularity = 8192;

-- Trace-level facts that arrive without an observation (legacy trace-create / trace updates):
-- kept small, one row per trace update, merged at read time with LIMIT 1 BY over bounded ranges.
CREATE TABLE IF NOT EXISTS traces ${ON_CLUSTER}
(
    project_id String,
    id String,
    timestamp DateTime64(6, 'UTC'),
    name Nullable(String),
    user_id Nullable(String),
    session_id Nullable(String),
    release Nullable(String),
    version Nullable(String),
    environment LowCardinality(String) DEFAULT 'default',
    tags Array(String),
    public Bool DEFAULT false,
    bookmarked Bool DEFAULT false,
    input Nullable(String) CODEC(ZSTD(3)),
    output Nullable(String) CODEC(ZSTD(3)),
    metadata_names Array(String),
    metadata_values Array(String) CODEC(ZSTD(3)),
    created_at DateTime64(3, 'UTC') DEFAULT now64(3),
    event_ts DateTime64(3, 'UTC'),
    is_deleted UInt8 DEFAULT 0,
    INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ${REPLICATED}ReplacingMergeTree(event_ts, is_deleted)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfMinute(timestamp), id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS scores ${ON_CLUSTER}
(
    project_id String,
    id String,
    timestamp DateTime64(6, 'UTC'),
    trace_id Nullable(String),
    observation_id Nullable(String),
    session_id Nullable(String),
    dataset_run_id Nullable(String),
    name String,
    value Nullable(Float64),
    string_value Nullable(String),
    data_type LowCardinality(String) DEFAULT 'NUMERIC',
    source LowCardinality(String) DEFAULT 'API',
    comment Nullable(String) CODEC(ZSTD(3)),
    metadata_names Array(String),
    metadata_values Array(String) CODEC(ZSTD(3)),
    config_id Nullable(String),
    queue_id Nullable(String),
    author_user_id Nullable(String),
    environment LowCardinality(String) DEFAULT 'default',
    created_at DateTime64(3, 'UTC') DEFAULT now64(3),
    event_ts DateTime64(3, 'UTC'),
    is_deleted UInt8 DEFAULT 0,
    INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ${REPLICATED}ReplacingMergeTree(event_ts, is_deleted)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfMinute(timestamp), name, id)
SETTINGS index_granularity = 8192;
