-- `traces` becomes a plain MergeTree: every row is one partial update of a trace (a legacy
-- trace-create, a root span, a deletion marker) and reads fold them (argMaxIf over event_ts).
-- As a ReplacingMergeTree, a merge kept only the newest row of a trace within a minute and lost
-- what the older rows said (a name set by the first update and absent from the second).
-- The copy is safe to re-run: a repeated row is a repeated update, which folds to the same state.

DROP TABLE IF EXISTS traces_replaced ${ON_CLUSTER};

CREATE TABLE IF NOT EXISTS traces_v2 ${ON_CLUSTER} AS traces
ENGINE = ${REPLICATED}MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfMinute(timestamp), id)
SETTINGS index_granularity = 8192;

INSERT INTO traces_v2 SELECT * FROM traces;

RENAME TABLE traces TO traces_replaced, traces_v2 TO traces ${ON_CLUSTER};

DROP TABLE traces_replaced ${ON_CLUSTER};
