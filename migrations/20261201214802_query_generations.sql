-- Generations of the query cache (read-your-writes): one counter per metric and hour
-- of sample time, bumped by the writers after each COMMIT that stored points there.
-- Cached query answers are keyed by the generations of the hours they cover, so an
-- answer computed before a commit is never served after it. Rows are small and
-- updated in place (no indexed column changes, so updates are HOT and pruned
-- without vacuum).

CREATE TABLE query_generations (
    metric     text   NOT NULL,
    span_start bigint NOT NULL,
    generation bigint NOT NULL,
    PRIMARY KEY (metric, span_start)
) WITH (fillfactor = 50);
