-- apigw schema v8 (SQLite): access control policies (APIG "acls") and their bindings to
-- published APIs.
CREATE TABLE acl_policies (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    acl_type    TEXT NOT NULL CHECK (acl_type IN ('PERMIT', 'DENY')),
    entity_type TEXT NOT NULL CHECK (entity_type IN ('IP')),
    -- the addresses, ranges and blocks, comma-separated
    acl_value   TEXT NOT NULL,
    update_time INTEGER NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX acl_policies_instance_time ON acl_policies (instance_id, update_time);

-- One IP policy per API and environment, kept by (API, environment) like throttling bindings.
-- A bound policy cannot be deleted (no cascade from the policy).
CREATE TABLE acl_bindings (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    acl_id      TEXT NOT NULL REFERENCES acl_policies(id),
    api_id      TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (api_id, env_id)
);
CREATE INDEX acl_bindings_acl ON acl_bindings (acl_id, create_time);
