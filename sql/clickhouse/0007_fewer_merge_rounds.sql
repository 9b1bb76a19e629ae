-- Merges combine more parts at once for observations: the merge selector's base from 5 to 10. A row is
-- rewritten, and its full-text index rebuilt, about log10 instead of log5 times over its life as its
-- part grows (the index alone was ~20 % of ingestion CPU). The price is more live parts between merges
-- (after 300,000 spans, 9 instead of 3-4), which reads of a time range barely notice.

ALTER TABLE observations ${ON_CLUSTER} MODIFY SETTING merge_selector_base = 10;
