-- Monthly invoices (R12). A refund granted on a support request need not name an order line or even a customer, so
-- those ledger columns become optional; SQLite cannot drop NOT NULL in place, hence the rebuild.

CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    period TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    scale INTEGER NOT NULL,
    subtotal_minor INTEGER NOT NULL,
    tax_minor INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    -- One invoice per partner, month and currency, whatever the race between two runs.
    UNIQUE (partner_id, period, currency_code)
);

-- The months already run for a partner: running one again issues nothing new, and a row dated in such a month that
-- commits after its run (a late event) goes on the next month's invoice.
CREATE TABLE invoice_runs (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    period TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    PRIMARY KEY (partner_id, period)
);

CREATE TABLE ledger_new (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    currency_code TEXT NOT NULL,
    scale INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    customer_id TEXT,
    order_id TEXT,
    line_number INTEGER,
    quantity INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    net_minor INTEGER NOT NULL,
    tax_minor INTEGER NOT NULL,
    gross_minor INTEGER NOT NULL,
    invoice_id TEXT REFERENCES invoices (id),
    -- What the row comes from besides an order line, e.g. `servicerequest:<id>` for a granted refund.
    reference TEXT
);
INSERT INTO ledger_new (id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, quantity,
    unit_price_minor, net_minor, tax_minor, gross_minor, invoice_id)
    SELECT id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, quantity,
    unit_price_minor, net_minor, tax_minor, gross_minor, invoice_id FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
-- The run's scan: a partner's rows not yet invoiced, by currency and date.
CREATE INDEX ledger_period ON ledger (partner_id, invoice_id, currency_code, at);
-- An invoice's lines, paged.
CREATE INDEX ledger_invoice ON ledger (invoice_id, at, id);
