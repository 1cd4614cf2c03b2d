-- apigw schema v11 (SQLite): the SSL certificate of a bound domain name (at most one each).
-- The private key is sealed with the master key (context `domain_certificate:<ssl_id>`); the
-- chain is public and kept as given. All six are NULL while no certificate is bound.
ALTER TABLE group_domains ADD COLUMN ssl_id TEXT;
ALTER TABLE group_domains ADD COLUMN ssl_name TEXT;
ALTER TABLE group_domains ADD COLUMN ssl_cert TEXT;
ALTER TABLE group_domains ADD COLUMN ssl_key TEXT;
ALTER TABLE group_domains ADD COLUMN ssl_create_time INTEGER;
ALTER TABLE group_domains ADD COLUMN ssl_update_time INTEGER;
