-- Webhooks (SPEC §3): the activity log is the outbox. Each endpoint keeps a cursor in its partner's activity chain
-- (the last seq it has been given deliveries for); the dispatcher turns the records after it into deliveries, one
-- per (endpoint, record), and sends them.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    url TEXT NOT NULL,
    -- snake_case operation types, comma-separated
    operation_types TEXT NOT NULL,
    -- the signing secret, sealed with the server's key
    secret BLOB NOT NULL,
    cursor_seq INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failing_since INTEGER,
    disabled_at INTEGER,
    disabled_reason TEXT
);
CREATE INDEX webhook_endpoints_by_partner ON webhook_endpoints (partner_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- NULL for a test event
    record_id TEXT,
    operation_type TEXT NOT NULL,
    body TEXT NOT NULL,
    -- pending | succeeded | failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    first_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL,
    -- a dispatcher sending it holds it until then (real time); after that another may take it over
    claimed_until INTEGER NOT NULL DEFAULT 0,
    UNIQUE (endpoint_id, record_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at, id);
-- the hourly purge of finished deliveries
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, number)
);
