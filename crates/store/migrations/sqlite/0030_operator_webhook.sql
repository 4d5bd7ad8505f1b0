-- The operator webhook (issue 19: key_stock_low): one receiver configured on the server (--operator-webhook-url and
-- its secret), fed from the operator activity log, which is the outbox. The one row keeps the last record sent (or
-- passed over: only key_stock_low records are sent), the failures of the current one, and the hold of the process
-- sending (real time), as a partner endpoint's cursor and deliveries do. It starts at the log's head: records
-- written before this version are not sent.
CREATE TABLE operator_webhook (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor_seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
INSERT INTO operator_webhook (id, cursor_seq) SELECT 1, seq FROM operator_chain WHERE id = 1;
