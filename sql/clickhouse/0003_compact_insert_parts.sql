-- Observation inserts (up to tens of MB per block) are written as compact parts, one file for all
-- columns, instead of wide parts, a few files per column: with ~45 columns that cut chDB's insert
-- CPU from ~50 to ~20 µs per observation (bench/ingest.py). Merges still produce wide parts once
-- they pass 256 MiB, which is what reads of large ranges want.

ALTER TABLE observations ${ON_CLUSTER} MODIFY SETTING min_bytes_for_wide_part = 268435456;
