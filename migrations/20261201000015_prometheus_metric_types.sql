-- remote_write metadata carries Prometheus' metric types; keep them as sent so the
-- Prometheus metadata API can answer with them. Existing values stay valid.
ALTER TABLE metric_definitions DROP CONSTRAINT IF EXISTS metric_definitions_type_check;
ALTER TABLE metric_definitions ADD CONSTRAINT metric_definitions_type_check
    CHECK (type IN ('gauge', 'counter', 'histogram', 'summary', 'gaugehistogram', 'info', 'stateset', 'unknown'));
