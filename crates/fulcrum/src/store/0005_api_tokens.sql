-- Schema 5: API tokens of the team server, for scripts and webhooks. Only
-- a token's SHA-256 is kept; the token itself is shown once, when made.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- Space-separated scopes: `read`, `events:write`.
    scopes TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
