-- The operator console (issue 19): the operator's own users with roles, their API tokens and console sessions,
-- and the operator activity log, hash-chained like a partner's (its head in the one row of operator_chain, which
-- every writer of the log locks).

CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_folded TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,
    password_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    language TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX operators_page ON operators (created_at, id);

CREATE TABLE operator_tokens (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX operator_tokens_operator ON operator_tokens (operator_id, created_at, id);

CREATE TABLE operator_sessions (
    token_hash TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

CREATE TABLE operator_chain (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    head TEXT NOT NULL
);
INSERT INTO operator_chain (id, seq, head) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE operator_activity (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    operator_id TEXT,
    principal TEXT NOT NULL,
    operation TEXT NOT NULL,
    partner_id TEXT,
    at BIGINT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- Append-only, as the partners' log; the hash chain detects whoever drops these triggers and edits anyway.
CREATE FUNCTION operator_activity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_activity is append-only';
END;
$$;
CREATE TRIGGER operator_activity_no_update BEFORE UPDATE ON operator_activity
    FOR EACH ROW EXECUTE FUNCTION operator_activity_append_only();
CREATE TRIGGER operator_activity_no_delete BEFORE DELETE ON operator_activity
    FOR EACH ROW EXECUTE FUNCTION operator_activity_append_only();

-- Key stock: the level under which a SKU's stock is "low" (shown on the console, logged and sent as the
-- key_stock_low operator webhook once per crossing; low_since is cleared when stock is back above it). Kept apart
-- from skus, which a catalog import replaces.
CREATE TABLE key_thresholds (
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    low_since BIGINT,
    PRIMARY KEY (product_id, sku_id)
);
