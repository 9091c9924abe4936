-- Rollup tiers: per series and bucket, min/max/sum/count (avg = sum/count at every
-- level, so re-aggregation is exact). 1-minute buckets are computed from raw points,
-- 1-hour buckets from the 1-minute tier. Partitioned like `points` so retention drops
-- whole partitions: rollup_1m by day (rollup_1m_pYYYYMMDD), rollup_1h by month
-- (rollup_1h_pYYYYMM).

CREATE TABLE rollup_1m (
    series_id bigint           NOT NULL,
    bucket    timestamptz      NOT NULL,
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    sum       double precision NOT NULL,
    count     bigint           NOT NULL
) PARTITION BY RANGE (bucket);
CREATE INDEX rollup_1m_series_bucket_idx ON rollup_1m (series_id, bucket) INCLUDE (min, max, sum, count);

CREATE TABLE rollup_1h (
    series_id bigint           NOT NULL,
    bucket    timestamptz      NOT NULL,
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    sum       double precision NOT NULL,
    count     bigint           NOT NULL
) PARTITION BY RANGE (bucket);
CREATE INDEX rollup_1h_series_bucket_idx ON rollup_1h (series_id, bucket) INCLUDE (min, max, sum, count);

-- Buckets whose rollup must be (re)computed. Writers upsert the 1-minute buckets they
-- touch in the same transaction as the points (one row per writer `shard`, so writers
-- never wait on each other); the downsampler claims settled rows with
-- FOR UPDATE SKIP LOCKED, recomputes the buckets from the tier below, and deletes the
-- rows it claimed. A writer that touches a bucket while it is being recomputed waits
-- for that transaction and then marks the bucket again, so late data is never lost.
-- tier 1 = rollup_1m, tier 2 = rollup_1h.
CREATE TABLE rollup_dirty (
    tier      smallint    NOT NULL,
    bucket    timestamptz NOT NULL,
    shard     integer     NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tier, bucket, shard)
);

-- The downsampler reads raw points by time range across all series.
CREATE INDEX points_time_brin_idx ON points USING brin (time);

-- Points stored before this migration have never been marked: mark their minutes so the
-- downsampler builds their rollups too (a no-op on a fresh database).
INSERT INTO rollup_dirty (tier, bucket, shard)
SELECT 1, date_bin('1 minute', time, TIMESTAMPTZ '1970-01-01+00'), -1 FROM points GROUP BY 2
ON CONFLICT DO NOTHING;
