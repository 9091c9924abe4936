-- The compressed raw tier.
--
-- `points` day partitions are created partitioned by hour (points_pYYYYMMDD_hHH), so
-- the uncompressed rows on disk cover only the hours not compacted yet. Each such raw
-- range has a row in `compaction_ranges`: raw -> compacting -> compacted. Writers take
-- a shared advisory lock on every range they write into and read its state in their
-- COPY transaction; the compactor takes the lock exclusively to flip raw -> compacting,
-- so once it has flipped, no writer can still be adding rows to that range: later
-- points for it go to `points_late` and are merged into the blocks by a later pass.
-- A crash leaves either the raw rows (state raw/compacting, no blocks committed) or the
-- verified blocks (state compacted, committed in one transaction with the blocks) as
-- the truth; readers read raw rows only for ranges not compacted.
CREATE TABLE compaction_ranges (
    range_start  timestamptz PRIMARY KEY,
    range_end    timestamptz NOT NULL,
    state        text NOT NULL DEFAULT 'raw' CHECK (state IN ('raw', 'compacting', 'compacted')),
    points       bigint,
    compacted_at timestamptz,
    -- The raw partition of a compacted range is dropped a little later than the flip,
    -- so a reader whose snapshot predates the flip still finds its rows.
    raw_dropped  boolean NOT NULL DEFAULT false
);
CREATE INDEX compaction_ranges_state_idx ON compaction_ranges (state, range_end);

-- One row per series and time range: pco-encoded timestamps and values (see
-- src/store/blocks.rs), with count/min/max/sum for pruning and verification and the
-- time span of the points actually held. Partitioned by day of range_start so
-- retention drops whole partitions. The columns are already compressed: EXTERNAL
-- keeps them out of line without PostgreSQL trying to compress them again.
CREATE TABLE points_blocks (
    series_id   bigint           NOT NULL,
    range_start timestamptz      NOT NULL,
    range_end   timestamptz      NOT NULL,
    min_time    timestamptz      NOT NULL,
    max_time    timestamptz      NOT NULL,
    count       integer          NOT NULL,
    min         double precision NOT NULL,
    max         double precision NOT NULL,
    sum         double precision NOT NULL,
    times       bytea            NOT NULL,
    vals        bytea            NOT NULL
) PARTITION BY RANGE (range_start);
ALTER TABLE points_blocks ALTER COLUMN times SET STORAGE EXTERNAL;
ALTER TABLE points_blocks ALTER COLUMN vals SET STORAGE EXTERNAL;
CREATE INDEX points_blocks_series_idx ON points_blocks (series_id, range_start);

-- Points that arrived for a range already compacting or compacted.
CREATE TABLE points_late (
    series_id bigint           NOT NULL,
    time      timestamptz      NOT NULL,
    value     double precision NOT NULL
);
CREATE INDEX points_late_series_time_idx ON points_late (series_id, time);
CREATE INDEX points_late_time_idx ON points_late (time);

-- Day partitions created before this migration are plain tables: each becomes one
-- day-long raw range.
INSERT INTO compaction_ranges (range_start, range_end)
SELECT to_date(substr(c.relname, 9), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC',
       (to_date(substr(c.relname, 9), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'points'::regclass AND c.relname ~ '^points_p[0-9]{8}$'
ON CONFLICT DO NOTHING;
