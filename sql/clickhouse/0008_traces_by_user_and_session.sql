-- The traces of one user or one session, newest first, without scanning the window's trace rows: a
-- user's traces are spread over every granule of a day, so the bloom filter index skips nothing and
-- the list read ~1M rows to find a page (10M observations, bench/ui.py). Two projections keep the trace
-- rows' ids and times sorted by user and by session; the trace list's candidate query reads only these
-- columns, so ClickHouse serves it from the projection. A trace row insert writes each projection too
-- (a few columns of a row per trace and request). MATERIALIZE builds them for the rows already stored.

ALTER TABLE traces ${ON_CLUSTER} ADD PROJECTION IF NOT EXISTS by_user
    (SELECT project_id, user_id, timestamp, id ORDER BY project_id, user_id, timestamp);

ALTER TABLE traces ${ON_CLUSTER} ADD PROJECTION IF NOT EXISTS by_session
    (SELECT project_id, session_id, timestamp, id ORDER BY project_id, session_id, timestamp);

ALTER TABLE traces ${ON_CLUSTER} MATERIALIZE PROJECTION by_user;

ALTER TABLE traces ${ON_CLUSTER} MATERIALIZE PROJECTION by_session
