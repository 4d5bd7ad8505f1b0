-- Partnerhub schema, version 1 (PostgreSQL). The SQLite file of the same number defines the same tables.
-- Cross-database rules: instants are BIGINT microseconds since the epoch (UTC); money is BIGINT minor units;
-- booleans are BIGINT 0/1, as on SQLite; case-insensitive search uses *_folded columns filled by Rust; ids are UUID text; lists page by keyset indexes.

CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sandbox BIGINT NOT NULL,
    clock_offset_micros BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    audit_seq BIGINT NOT NULL DEFAULT 0,
    audit_head TEXT NOT NULL,
    -- The latest activity instant: a record is never dated before it, so (operation_date, seq) follows commit order.
    audit_last_at BIGINT NOT NULL DEFAULT 0,
    -- Customers are numbered in commit order, so paging them never skips one committed late.
    customer_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX partners_page ON partners (created_at, id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    email TEXT NOT NULL,
    email_folded TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,
    password_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_page ON users (partner_id, created_at, id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_page ON api_tokens (user_id, created_at, id);

CREATE TABLE markets (
    country TEXT PRIMARY KEY,
    currency_code TEXT NOT NULL,
    minor_units BIGINT NOT NULL,
    tax_rate TEXT NOT NULL,
    tax_inclusive BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE customers (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    tenant_id TEXT NOT NULL,
    company_name TEXT NOT NULL,
    company_name_folded TEXT NOT NULL,
    domain TEXT NOT NULL,
    billing_email TEXT NOT NULL,
    billing_company_name TEXT NOT NULL,
    address_json TEXT NOT NULL,
    market TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (partner_id, tenant_id),
    UNIQUE (partner_id, position),
    UNIQUE (partner_id, domain)
);

CREATE TABLE audit_records (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT,
    customer_name TEXT,
    customer_name_folded TEXT,
    user_principal_name TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    operation_type TEXT NOT NULL,
    operation_date BIGINT NOT NULL,
    operation_status TEXT NOT NULL,
    customized_data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (partner_id, seq)
);
CREATE INDEX audit_records_by_date ON audit_records (partner_id, operation_date, seq);

-- The activity log is append-only; the hash chain detects whoever drops these triggers and edits anyway.
CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_records is append-only';
END;
$$;
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    locked_until BIGINT NOT NULL,
    response_status BIGINT,
    response_body BYTEA,
    encrypted BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
