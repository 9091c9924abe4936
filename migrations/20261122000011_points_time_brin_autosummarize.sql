-- The BRIN index on points (time) (migration 0003) without autosummarize leaves every
-- block range written since the last vacuum unsummarised, and an unsummarised range
-- matches any time condition: a read of "the last seconds" (alert windows, the
-- downsampler's recent minutes) then scans the whole day partition. With autosummarize
-- each range is summarised by autovacuum once it is full, so only the newest ranges
-- stay unsummarised, which are the ones such reads want anyway. Recreated (not
-- altered) because reloptions cannot be set on a partitioned index.
DROP INDEX points_time_brin_idx;
CREATE INDEX points_time_brin_idx ON points USING brin (time) WITH (autosummarize = on);
