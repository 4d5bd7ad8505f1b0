-- Partner price lists (issue 23): what a partner pays, per SKU and market, effective-dated; and what each order line
-- recorded at checkout besides the partner's cost (the list price and the customer's price, with their tax).

CREATE TABLE price_lists (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- 1 for the one list of every partner without an assignment.
    is_default INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX price_lists_one_default ON price_lists (is_default) WHERE is_default = 1;

-- A version: a draft while effective_from is NULL; its prices never change once written.
CREATE TABLE price_list_versions (
    list_id TEXT NOT NULL REFERENCES price_lists (id),
    number INTEGER NOT NULL,
    effective_from INTEGER,
    -- Percent off the list price (decimal text), for SKUs without an explicit price.
    discount_percent TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (list_id, number)
);

CREATE TABLE price_list_prices (
    list_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    country TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    scale INTEGER NOT NULL,
    cost_minor INTEGER NOT NULL,
    PRIMARY KEY (list_id, number, product_id, sku_id, country),
    FOREIGN KEY (list_id, number) REFERENCES price_list_versions (list_id, number)
);

-- One list per partner; a partner without a row follows the default list.
CREATE TABLE partner_price_lists (
    partner_id TEXT PRIMARY KEY REFERENCES partners (id),
    list_id TEXT NOT NULL REFERENCES price_lists (id),
    assigned_at INTEGER NOT NULL
);
CREATE INDEX partner_price_lists_list ON partner_price_lists (list_id);

-- The list price and the customer's price of a line (NULL on lines from before: both were the charged price), and
-- the price list version the charged cost came from.
ALTER TABLE order_lines ADD COLUMN list_unit_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN list_net_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN list_tax_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN list_gross_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN customer_unit_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN customer_net_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN customer_tax_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN customer_gross_minor INTEGER;
ALTER TABLE order_lines ADD COLUMN price_list_id TEXT;
ALTER TABLE order_lines ADD COLUMN price_list_version INTEGER;
