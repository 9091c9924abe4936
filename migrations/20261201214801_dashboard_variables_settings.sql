-- Template variables and view settings (default time range, refresh, time zone) of a
-- dashboard, stored with it as JSON documents validated by the server. Existing
-- dashboards read as no variables and the default settings.

ALTER TABLE dashboards
    ADD COLUMN variables jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN settings  jsonb NOT NULL DEFAULT '{}'::jsonb;
