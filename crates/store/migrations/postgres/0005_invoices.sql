-- Monthly invoices (R12). A refund granted on a support request need not name an order line or even a customer, so
-- those ledger columns become optional.

CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    period TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    scale BIGINT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    line_count BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    -- One invoice per partner, month and currency, whatever the race between two runs.
    UNIQUE (partner_id, period, currency_code)
);

-- The months already run for a partner: running one again issues nothing new, and a row dated in such a month that
-- commits after its run (a late event) goes on the next month's invoice.
CREATE TABLE invoice_runs (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    period TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    PRIMARY KEY (partner_id, period)
);

ALTER TABLE ledger ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE ledger ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE ledger ALTER COLUMN line_number DROP NOT NULL;
-- What the row comes from besides an order line, e.g. `servicerequest:<id>` for a granted refund.
ALTER TABLE ledger ADD COLUMN reference TEXT;
ALTER TABLE ledger ADD CONSTRAINT ledger_invoice_fk FOREIGN KEY (invoice_id) REFERENCES invoices (id);
DROP INDEX ledger_period;
-- The run's scan: a partner's rows not yet invoiced, by currency and date.
CREATE INDEX ledger_period ON ledger (partner_id, invoice_id, currency_code, at);
-- An invoice's lines, paged.
CREATE INDEX ledger_invoice ON ledger (invoice_id, at, id);
