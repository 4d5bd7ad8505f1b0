-- Partner Center's billing profile: its contact and locale, and the version its ETag is made of.
ALTER TABLE customers ADD COLUMN billing_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE customers ADD COLUMN profile_version BIGINT NOT NULL DEFAULT 1;
