-- Support requests (R11): the request, its conversation and its files (bytes in blob storage).

CREATE TABLE service_requests (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    locale TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    status TEXT NOT NULL,
    contact TEXT NOT NULL,
    refund TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX service_requests_partner ON service_requests (partner_id, created_at, id);
-- The publisher's desk lists every partner's requests by status.
CREATE INDEX service_requests_desk ON service_requests (status, created_at, id);

CREATE TABLE service_request_notes (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES service_requests (id),
    author TEXT NOT NULL,
    by_publisher INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX service_request_notes_request ON service_request_notes (request_id, created_at, id);

CREATE TABLE service_request_attachments (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES service_requests (id),
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX service_request_attachments_request ON service_request_attachments (request_id, created_at, id);
