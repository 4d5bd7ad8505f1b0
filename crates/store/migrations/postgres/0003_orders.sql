-- Key stock, carts, orders, software items and the invoice ledger (R5, R6, R12).
-- Money is BIGINT minor units with the currency's scale beside it.

-- Activation keys: sealed with the server's secret key; `fingerprint` is a keyed hash that refuses duplicates
-- without decrypting. A key in stock has no item; a sold key names its software item.
CREATE TABLE activation_keys (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    software_item_id TEXT,
    added_at BIGINT NOT NULL
);
CREATE INDEX activation_keys_stock ON activation_keys (product_id, sku_id, software_item_id, added_at, id);

CREATE TABLE carts (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    line_items TEXT NOT NULL,
    order_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (partner_id, customer_id) REFERENCES customers (partner_id, tenant_id)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    customer_id TEXT NOT NULL,
    -- One order per cart: the second checkout of a cart cannot write a second order, whatever the race.
    cart_id TEXT NOT NULL UNIQUE REFERENCES carts (id),
    currency_code TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (partner_id, customer_id) REFERENCES customers (partner_id, tenant_id)
);
CREATE INDEX orders_page ON orders (partner_id, customer_id, created_at, id);

CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders (id),
    line_number BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    availability_id TEXT NOT NULL,
    product_type TEXT NOT NULL,
    title TEXT NOT NULL,
    friendly_name TEXT,
    term TEXT,
    quantity BIGINT NOT NULL,
    scale BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    net_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    gross_minor BIGINT NOT NULL,
    tax_inclusive BIGINT NOT NULL,
    tax_rate TEXT NOT NULL,
    policy_kind TEXT NOT NULL,
    policy_days BIGINT,
    status TEXT NOT NULL,
    cancelled_at BIGINT,
    provisioning_context TEXT,
    PRIMARY KEY (order_id, line_number)
);

-- The Software page (R6): one item per software line, holding its activation key when the product has keys.
CREATE TABLE software_items (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    customer_id TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    line_number BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    key_id TEXT REFERENCES activation_keys (id),
    status TEXT NOT NULL,
    purchased_at BIGINT NOT NULL,
    UNIQUE (order_id, line_number)
);
CREATE INDEX software_items_page ON software_items (partner_id, customer_id, purchased_at, id);

-- The invoice ledger (R12): charges now; credits and refunds add rows; `invoice_id` is set when invoiced.
CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    currency_code TEXT NOT NULL,
    scale BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    line_number BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    net_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    gross_minor BIGINT NOT NULL,
    invoice_id TEXT
);
CREATE INDEX ledger_period ON ledger (partner_id, currency_code, at);

-- Server-wide settings, such as the check value that ties the secret key to this database.
CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
