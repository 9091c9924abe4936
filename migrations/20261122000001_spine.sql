-- The ingest -> storage spine: metric catalogue, normalised series, raw points.
--
-- Points are (series_id, time, value) rows; the metric name and label set live once
-- per series in `series`, so a point costs ~50 bytes of heap instead of carrying its
-- tags (see DESIGN.md, "Storage"). `points` is range-partitioned by day; partitions
-- are created by the server (ahead of time and on demand), and retention drops whole
-- partitions.

CREATE TABLE metric_definitions (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    unit        text NOT NULL DEFAULT '',
    type        text NOT NULL DEFAULT 'gauge' CHECK (type IN ('gauge', 'counter', 'histogram')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE series (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    metric     text NOT NULL REFERENCES metric_definitions (name),
    labels     jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Canonical `name{k="v",...}` with sorted keys: the identity of a series.
    series_key text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_metric_idx ON series (metric);
CREATE INDEX series_labels_idx ON series USING GIN (labels jsonb_path_ops);

CREATE TABLE points (
    series_id bigint           NOT NULL,
    time      timestamptz      NOT NULL,
    value     double precision NOT NULL
) PARTITION BY RANGE (time);
CREATE INDEX points_series_time_idx ON points (series_id, time);

-- One row per committed ingest message. Inserted in the same transaction as the
-- COPY of its points, so a message redelivered after a crash between COMMIT and ack
-- is recognised and skipped instead of being stored twice.
CREATE TABLE ingest_batches (
    batch_id     uuid PRIMARY KEY,
    points       integer NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_batches_committed_idx ON ingest_batches (committed_at);
