-- Compressed rollup tiers. Once a day of a rollup tier is closed, its rows become one
-- row per series and day holding every bucket of the day pco-encoded (see
-- src/store/rollup_codec.rs): about 1 B per raw point for rollup_1m instead of ~47.
-- Readers stitch rows and blocks (a bucket in both: the row wins, it is newer); late
-- points recompute their buckets into rows as before, and a later pass merges the rows
-- into the blocks. Partitioned like the rows they replace (rollup_1m_blocks by day,
-- rollup_1h_blocks by month), so retention drops whole partitions.
CREATE TABLE rollup_1m_blocks (
    series_id bigint  NOT NULL,
    day       date    NOT NULL,
    buckets   integer NOT NULL,
    -- Sum of the buckets' counts (raw points), for verification and cheap totals.
    points    bigint  NOT NULL,
    data      bytea   NOT NULL
) PARTITION BY RANGE (day);
-- Already compressed: out of line without PostgreSQL trying to compress it again.
ALTER TABLE rollup_1m_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX rollup_1m_blocks_series_day_idx ON rollup_1m_blocks (series_id, day);

CREATE TABLE rollup_1h_blocks (
    series_id bigint  NOT NULL,
    day       date    NOT NULL,
    buckets   integer NOT NULL,
    points    bigint  NOT NULL,
    data      bytea   NOT NULL
) PARTITION BY RANGE (day);
ALTER TABLE rollup_1h_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX rollup_1h_blocks_series_day_idx ON rollup_1h_blocks (series_id, day);

-- The days of each tier that have blocks. Committed with the blocks, so a reader that
-- finds a day here finds its blocks. `has_rows`: the tier still holds rows for the day
-- (right after compaction, until `rollup_compaction.drop_rows_after` has passed, or
-- after a late recompute), which a later pass merges into the blocks and gives up.
-- tier 1 = rollup_1m, tier 2 = rollup_1h.
CREATE TABLE rollup_block_days (
    tier         smallint    NOT NULL,
    day          date        NOT NULL,
    compacted_at timestamptz NOT NULL DEFAULT now(),
    has_rows     boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (tier, day)
);
