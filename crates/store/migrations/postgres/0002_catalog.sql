-- Catalog (SPEC §5, R1, R4): products, SKUs, prices per market, and the product-type availability lists.
-- Prices are BIGINT minor units with the currency's scale beside them.

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    publisher_name TEXT NOT NULL,
    product_type TEXT NOT NULL,
    policy_kind TEXT NOT NULL,
    policy_days BIGINT,
    -- Comma-separated market codes; NULL when the product follows its type's list (R1).
    available_markets TEXT,
    unavailable_markets TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE skus (
    product_id TEXT NOT NULL REFERENCES products (id),
    id TEXT NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    term TEXT,
    PRIMARY KEY (product_id, id)
);

CREATE TABLE prices (
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    country TEXT NOT NULL,
    availability_id TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    scale BIGINT NOT NULL,
    list_price_minor BIGINT NOT NULL,
    PRIMARY KEY (product_id, sku_id, country),
    FOREIGN KEY (product_id, sku_id) REFERENCES skus (product_id, id)
);

-- R1: which markets a product type is (un)available in; catalog data the publisher edits.
CREATE TABLE type_availability (
    product_type TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    markets TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
