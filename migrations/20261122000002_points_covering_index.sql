-- Dashboards read many series over a short range: with `value` in the index those
-- reads are index-only scans over each series' contiguous index entries, instead of
-- bitmap heap scans that touch a heap page per few rows (the points of one time range
-- are spread over every series' inserts). Measured on 1,000 series x 1 h: about 10x
-- fewer pages read; the index grows by ~8 bytes a point.
DROP INDEX IF EXISTS points_series_time_idx;
CREATE INDEX points_series_time_idx ON points (series_id, time) INCLUDE (value);
