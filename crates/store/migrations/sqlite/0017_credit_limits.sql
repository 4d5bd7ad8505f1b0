-- A partner's credit limit (issue 23), in one currency (NULL: none); and when an invoice was paid (NULL: unpaid:
-- it counts against the limit).
ALTER TABLE partners ADD COLUMN credit_limit_minor INTEGER;
ALTER TABLE partners ADD COLUMN credit_limit_currency TEXT;
ALTER TABLE partners ADD COLUMN credit_limit_scale INTEGER;
ALTER TABLE invoices ADD COLUMN paid_at INTEGER;
