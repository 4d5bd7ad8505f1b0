-- Files the publisher uploaded for a product, and the download links issued for them (R6, R7).

-- The bytes live in blob storage under `blob_key`; this row is written only after the upload completed.
CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    version TEXT NOT NULL,
    language TEXT NOT NULL,
    file_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX artifacts_product ON artifacts (product_id, version, language, file_type);

-- A link is found by the SHA-256 of its token (the token itself is never stored). `downloads` only grows, by one
-- conditional UPDATE per counted download, so the limit holds under any concurrency.
CREATE TABLE download_links (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    customer_id TEXT NOT NULL,
    software_item_id TEXT NOT NULL REFERENCES software_items (id),
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    issued_by TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_downloads BIGINT NOT NULL,
    downloads BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX download_links_item ON download_links (software_item_id);
