-- Customer prices (issue 23): a partner's markup rules and its explicit per-customer prices.

CREATE TABLE markup_rules (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    -- What it applies to: a customer, a product type or a product (NULL: any).
    customer_id TEXT,
    product_type TEXT,
    product_id TEXT,
    -- 'cost' or 'list'.
    basis TEXT NOT NULL,
    -- A percentage (decimal text), or a fixed amount per unit in a currency.
    percent TEXT,
    amount_minor BIGINT,
    currency_code TEXT,
    scale BIGINT,
    effective_from BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (partner_id, customer_id) REFERENCES customers (partner_id, tenant_id)
);
CREATE INDEX markup_rules_partner ON markup_rules (partner_id, created_at, id);

CREATE TABLE price_overrides (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    customer_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    scale BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (partner_id, customer_id, product_id, sku_id, effective_from),
    FOREIGN KEY (partner_id, customer_id) REFERENCES customers (partner_id, tenant_id)
);
