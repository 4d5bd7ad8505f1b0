-- Files withdrawn from the console or the API (issue 19): a withdrawn file is no longer offered for new download
-- links (nor listed as a product's file), and its row stays for the links already issued, which keep their own
-- 14 days / 50 downloads. A replacement is a new file plus the old one withdrawn, in one transaction.
ALTER TABLE artifacts ADD COLUMN withdrawn_at BIGINT;
