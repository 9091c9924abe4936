-- Alerting: rules, their evaluation leases, per-instance state, the event history,
-- silences, and the notification outbox.
--
-- The lease row of a rule is locked (FOR UPDATE) and its epoch checked in the same
-- transaction as every state write and outbox insert of that rule: an instance whose
-- lease expired and was taken over can no longer write, so a transition is recorded
-- and notified once even while two instances briefly both think they own a rule.

CREATE TABLE alert_rules (
    id         uuid PRIMARY KEY,
    owner_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    name       text NOT NULL,
    -- The validated rule body (query, condition, threshold, duration, severity,
    -- notification, noData), as the API returns it.
    spec       jsonb NOT NULL,
    enabled    boolean NOT NULL,
    -- Bumped by every edit; the supervisor restarts a rule's actor when it changes.
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_rules_enabled_idx ON alert_rules (enabled);

-- One evaluator per rule across instances. `epoch` grows at every change of holder
-- (the fencing token).
CREATE TABLE alert_leases (
    rule_id    uuid PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
    holder     text NOT NULL,
    epoch      bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX alert_leases_holder_idx ON alert_leases (holder);

-- Current state per rule and instance (the instance's labels; {} without groupBy).
-- Rows in state ok are removed: absence means ok.
CREATE TABLE alert_instances (
    rule_id        uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    instance_key   text NOT NULL,
    labels         jsonb NOT NULL,
    state          text NOT NULL CHECK (state IN ('pending', 'firing')),
    pending_since  timestamptz,
    firing_since   timestamptz,
    last_value     double precision,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, instance_key)
);

-- The record: firing and resolved events. No foreign key to the rule, so history
-- outlives a deleted rule.
CREATE TABLE alert_events (
    id         bigserial PRIMARY KEY,
    rule_id    uuid NOT NULL,
    rule_name  text NOT NULL,
    labels     jsonb NOT NULL,
    state      text NOT NULL CHECK (state IN ('firing', 'resolved')),
    value      double precision,
    threshold  double precision NOT NULL,
    severity   text NOT NULL,
    at         timestamptz NOT NULL,
    -- Since when the instance was pending (firing) or firing (resolved).
    since      timestamptz,
    silenced   boolean NOT NULL DEFAULT false
);
CREATE INDEX alert_events_rule_idx ON alert_events (rule_id, id DESC);
CREATE INDEX alert_events_at_idx ON alert_events (at);

CREATE TABLE alert_silences (
    id         uuid PRIMARY KEY,
    rule_id    uuid,
    matchers   jsonb NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    comment    text NOT NULL DEFAULT '',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_silences_ends_idx ON alert_silences (ends_at);

-- Durable notifications. The row id is the idempotency key sent with the webhook.
-- Notifiers claim due rows with FOR UPDATE SKIP LOCKED by pushing `next_attempt_at`
-- past the claim TTL, so a notifier that dies mid-delivery releases its rows by time.
CREATE TABLE notification_outbox (
    id              uuid PRIMARY KEY,
    event_id        bigint NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    rule_id         uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    target          text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    give_up_at      timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_outbox_event_idx ON notification_outbox (event_id);
