-- Partnerhub schema, version 1 (SQLite). The PostgreSQL file of the same number defines the same tables.
-- Cross-database rules: instants are INTEGER microseconds since the epoch (UTC); money is INTEGER minor units;
-- booleans are INTEGER 0/1 (the Any driver maps no boolean type on SQLite); case-insensitive search uses *_folded columns filled by Rust; ids are UUID text; lists page by keyset indexes.

CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sandbox INTEGER NOT NULL,
    clock_offset_micros INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    -- Head of the partner's activity hash chain (R8): a truncated chain no longer matches it.
    audit_seq INTEGER NOT NULL DEFAULT 0,
    audit_head TEXT NOT NULL,
    -- The latest activity instant: a record is never dated before it, so (operation_date, seq) follows commit order.
    audit_last_at INTEGER NOT NULL DEFAULT 0,
    -- Customers are numbered in commit order, so paging them never skips one committed late.
    customer_count INTEGER NOT NULL DEFAULT 0
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
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_page ON users (partner_id, created_at, id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_page ON api_tokens (user_id, created_at, id);

CREATE TABLE markets (
    country TEXT PRIMARY KEY,
    currency_code TEXT NOT NULL,
    minor_units INTEGER NOT NULL,
    tax_rate TEXT NOT NULL,
    tax_inclusive INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
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
    created_at INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (partner_id, tenant_id),
    UNIQUE (partner_id, position),
    UNIQUE (partner_id, domain)
);

CREATE TABLE audit_records (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT,
    customer_name TEXT,
    customer_name_folded TEXT,
    user_principal_name TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    operation_type TEXT NOT NULL,
    operation_date INTEGER NOT NULL,
    operation_status TEXT NOT NULL,
    customized_data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (partner_id, seq)
);
CREATE INDEX audit_records_by_date ON audit_records (partner_id, operation_date, seq);

-- The activity log is append-only; the hash chain detects whoever drops these triggers and edits anyway.
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    locked_until INTEGER NOT NULL,
    response_status INTEGER,
    response_body BLOB,
    encrypted INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
