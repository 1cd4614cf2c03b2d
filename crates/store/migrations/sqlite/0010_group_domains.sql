-- apigw schema v10 (SQLite): independent domain names bound to API groups.
-- A name is bound at most once per instance (lower case, no trailing dot); at most five per
-- group (checked by the store).
CREATE TABLE group_domains (
    id                 TEXT PRIMARY KEY,
    instance_id        TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_id           TEXT NOT NULL REFERENCES api_groups(id) ON DELETE CASCADE,
    url_domain         TEXT NOT NULL,
    min_ssl_version    TEXT NOT NULL CHECK (min_ssl_version IN ('TLSv1.1', 'TLSv1.2')),
    redirect_to_https  INTEGER NOT NULL CHECK (redirect_to_https IN (0, 1)),
    ingress_http_port  INTEGER NOT NULL,
    ingress_https_port INTEGER NOT NULL,
    create_time        INTEGER NOT NULL,
    UNIQUE (instance_id, url_domain)
);
CREATE INDEX group_domains_group ON group_domains (group_id, create_time);
