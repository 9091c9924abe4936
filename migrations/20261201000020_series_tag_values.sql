-- Tag keys and values per metric, for the query builders' pickers. Reading them from
-- `series` meant expanding every label set of the metric per request: a full scan of
-- a million rows for a metric with a million series. The writer adds the pairs of
-- each series it creates (in the same statement), so the pickers read an index range.
CREATE TABLE series_tag_values (
    metric TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (metric, key, value)
);

INSERT INTO series_tag_values (metric, key, value)
SELECT DISTINCT s.metric, l.key, l.value
FROM series s, jsonb_each_text(s.labels) AS l(key, value)
ON CONFLICT DO NOTHING;
