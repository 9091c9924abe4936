-- Dashboards and their panels (the full-stack seed's contract).
--
-- `version` is bumped by every write to a dashboard or one of its panels; an update
-- that names an older version is refused (409) instead of overwriting someone else's
-- edit.

CREATE TABLE dashboards (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_public   boolean NOT NULL DEFAULT false,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboards_owner_idx ON dashboards (owner_id);

CREATE TABLE panels (
    id           uuid PRIMARY KEY,
    dashboard_id uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    title        text NOT NULL,
    type         text NOT NULL CHECK (type IN ('line', 'area', 'bar', 'gauge', 'stat')),
    query        jsonb NOT NULL,
    options      jsonb NOT NULL DEFAULT '{}'::jsonb,
    position     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX panels_dashboard_idx ON panels (dashboard_id);
