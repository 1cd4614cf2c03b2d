-- apigw schema v19 (SQLite): two-way TLS for bound domain names. `ssl_client_ca` is the
-- `trusted_root_ca` added with the name's certificate (PEM, public; NULL without one, and
-- with no certificate); `verify_client_certificate` is `verified_client_certificate_enabled`
-- (1 only while the certificate has a trusted root CA).
ALTER TABLE group_domains ADD COLUMN ssl_client_ca TEXT;
ALTER TABLE group_domains ADD COLUMN verify_client_certificate INTEGER NOT NULL DEFAULT 0
    CHECK (verify_client_certificate IN (0, 1));
