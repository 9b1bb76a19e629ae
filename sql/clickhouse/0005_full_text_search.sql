-- Full-text search over observation input and output: a text index of character trigrams of the
-- lower-cased text, so a case-insensitive substring in any script (Chinese included) prunes
-- granules. Building it on insert would cost ~30 µs per 1 KB value on the ingestion path, so the
-- writer inserts with materialize_skip_indexes_on_insert = 0 and merges build it: parts not yet
-- merged are simply scanned (the search is always exact; the index only skips granules).

ALTER TABLE observations ${ON_CLUSTER} ADD INDEX IF NOT EXISTS idx_input_text input TYPE text(tokenizer = ngrams(3), preprocessor = lowerUTF8(input));
ALTER TABLE observations ${ON_CLUSTER} ADD INDEX IF NOT EXISTS idx_output_text output TYPE text(tokenizer = ngrams(3), preprocessor = lowerUTF8(output));
