-- Dirty marks become an append-only log: writers insert, never update, so they never
-- wait on the downsampler (with one row per bucket, a writer touching a bucket that
-- was being recomputed waited for the whole recompute, which stalled backfills).
-- The downsampler claims marks by deleting them *before* it recomputes: a mark it
-- deleted was committed together with its points, so the recompute (a later
-- statement of the same transaction) sees those points; marks committed after the
-- claim stay for the next round.
ALTER TABLE rollup_dirty DROP CONSTRAINT rollup_dirty_pkey;
CREATE INDEX rollup_dirty_tier_bucket_idx ON rollup_dirty (tier, bucket);
