-- The compactor's hour blocks live apart from the day blocks they are merged into.
-- Once a day is merged, its partition here holds only dead rows and is dropped whole.
-- In one table the merged-away hour blocks' pages stayed on disk behind the day blocks
-- (a plain VACUUM gives back only the pages after the last live row), so a merged day
-- kept the size of both. Same columns, storage and index as points_blocks.
CREATE TABLE points_hour_blocks (LIKE points_blocks INCLUDING DEFAULTS)
    PARTITION BY RANGE (range_start);
ALTER TABLE points_hour_blocks ALTER COLUMN times SET STORAGE EXTERNAL;
ALTER TABLE points_hour_blocks ALTER COLUMN vals SET STORAGE EXTERNAL;
CREATE INDEX points_hour_blocks_series_idx ON points_hour_blocks (series_id, range_start);
