-- Users, sessions and API tokens.
--
-- Sessions live here as the record and are cached in Redis: a Redis outage slows
-- authentication down (every request reads PostgreSQL) but logs nobody out.
-- Session tokens and API tokens are stored as SHA-256 digests of 256-bit random
-- secrets: a leaked table does not hand out working credentials, and a plain digest
-- is enough for secrets with that much entropy (passwords use argon2id instead).

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively: Admin@X and admin@x are one account.
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Refreshed at most once a minute, so a busy dashboard does not write per request.
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    -- personal: acts with the owner's role; ingest: may only write points.
    kind         text NOT NULL CHECK (kind IN ('personal', 'ingest')),
    token_hash   bytea NOT NULL UNIQUE,
    -- The first characters of the token, shown in listings so a user can tell keys apart.
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
