-- apigw schema (PostgreSQL): SSL certificates as resources of their own
-- (`/v2/{project_id}/apigw/certificates`). A certificate belongs to a project; `instance_id`
-- NULL makes it global (usable by every instance of the project), otherwise it is visible
-- in that instance only. The private key is sealed with the master key (context
-- `domain_certificate:<id>`, the context the keys kept by bound domains had, so theirs move
-- here unchanged); the chain and `trusted_root_ca` are public and kept as given.
-- `added_to_domain` marks one added to a bound name (`.../domains/{domain_id}/certificate`): it
-- lives while a name presents it, and goes when the last one stops (replaced, removed, unbound).
CREATE TABLE certificates (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    instance_id     TEXT REFERENCES instances(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    cert_content    TEXT NOT NULL,
    private_key     TEXT NOT NULL,
    trusted_root_ca TEXT,
    added_to_domain BIGINT NOT NULL DEFAULT 0 CHECK (added_to_domain IN (0, 1)),
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL
);
CREATE INDEX certificates_project ON certificates (project_id, create_time);

-- A bound domain now names the certificate it presents (`ssl_id`); the certificates added
-- to domains until now become instance certificates with the same id, name and times.
INSERT INTO certificates (id, project_id, instance_id, name, cert_content, private_key,
                          trusted_root_ca, added_to_domain, create_time, update_time)
SELECT d.ssl_id, i.project_id, d.instance_id, d.ssl_name, d.ssl_cert, d.ssl_key,
       d.ssl_client_ca, 1, d.ssl_create_time, d.ssl_update_time
FROM group_domains d JOIN instances i ON i.id = d.instance_id
WHERE d.ssl_id IS NOT NULL;
ALTER TABLE group_domains DROP COLUMN ssl_name;
ALTER TABLE group_domains DROP COLUMN ssl_cert;
ALTER TABLE group_domains DROP COLUMN ssl_key;
ALTER TABLE group_domains DROP COLUMN ssl_create_time;
ALTER TABLE group_domains DROP COLUMN ssl_update_time;
ALTER TABLE group_domains DROP COLUMN ssl_client_ca;
CREATE INDEX group_domains_certificate ON group_domains (ssl_id);
