-- Invoice runs stamp every ledger row of a month with its invoice. Each index that held invoice_id for every row
-- made each stamp a delete plus an insert in it; partial indexes make it one or the other: the uninvoiced rows a run
-- looks for, and the rows of each issued invoice. What is credited on an order (cancel, refund) is found by order.
DROP INDEX ledger_period;
CREATE INDEX ledger_uninvoiced ON ledger (partner_id, currency_code, at) WHERE invoice_id IS NULL;
DROP INDEX ledger_invoice;
CREATE INDEX ledger_invoice ON ledger (invoice_id, at, id) WHERE invoice_id IS NOT NULL;
CREATE INDEX ledger_order ON ledger (order_id, line_number);

-- Checkout takes the oldest key still in stock: only keys in stock need be in the index it walks (a smaller index,
-- which a sale leaves rather than moves within).
DROP INDEX activation_keys_stock;
CREATE INDEX activation_keys_stock ON activation_keys (product_id, sku_id, added_at, id) WHERE software_item_id IS NULL;
