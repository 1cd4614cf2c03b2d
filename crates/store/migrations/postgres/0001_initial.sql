-- apigw schema (PostgreSQL): the same tables, columns and constraints as the SQLite schema
-- (migrations/sqlite 0001-0004), so one set of statements serves both. Times are nanoseconds
-- since the Unix epoch (UTC) in BIGINT; flags are BIGINT 0/1 as in SQLite. Secrets are stored
-- sealed (AES-256-GCM, "kid:base64(nonce||ciphertext)"), AppCodes also as a keyed hash.

-- SQLite's instr(), which the shared statements use for substring filters.
CREATE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS INTEGER
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT strpos(haystack, needle) $$;

-- SQLite's json_extract() for the one form the shared statements use: '$.key' of a JSON text.
CREATE FUNCTION json_extract(document TEXT, path TEXT) RETURNS TEXT
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (document::jsonb) ->> substr(path, 3) $$;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE revision (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO revision (id, n) VALUES (1, 0);

CREATE TABLE domains (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    domain_id          TEXT NOT NULL REFERENCES domains(id),
    name               TEXT NOT NULL,
    password_hash      TEXT NOT NULL,
    default_project_id TEXT REFERENCES projects(id) ON DELETE SET NULL,
    enabled            BIGINT NOT NULL DEFAULT 1,
    created_at         BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE role_assignments (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'reader')),
    PRIMARY KEY (project_id, user_id, role)
);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    methods    TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE access_keys (
    access      TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_enc  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX access_keys_user ON access_keys (user_id);

CREATE TABLE instances (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX instances_project ON instances (project_id, created_at);

CREATE TABLE apps (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    remark        TEXT NOT NULL DEFAULT '',
    app_key       TEXT NOT NULL,
    secret_enc    TEXT NOT NULL,
    creator       TEXT NOT NULL,
    status        BIGINT NOT NULL,
    app_type      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    register_time BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    UNIQUE (instance_id, name),
    UNIQUE (instance_id, app_key)
);
CREATE INDEX apps_instance_time ON apps (instance_id, register_time);

CREATE TABLE app_codes (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    value_hash  TEXT NOT NULL,
    value_enc   TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    UNIQUE (instance_id, value_hash)
);
CREATE INDEX app_codes_app ON app_codes (app_id, create_time);

CREATE TABLE api_groups (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    remark        TEXT NOT NULL DEFAULT '',
    is_default    BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    register_time BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE UNIQUE INDEX api_groups_default ON api_groups (instance_id) WHERE is_default = 1;
CREATE INDEX api_groups_instance_time ON api_groups (instance_id, register_time);

CREATE TABLE environments (
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    remark      TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    PRIMARY KEY (instance_id, id),
    UNIQUE (instance_id, name)
);

CREATE TABLE apis (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_id      TEXT NOT NULL REFERENCES api_groups(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    api_type      BIGINT NOT NULL,
    req_protocol  TEXT NOT NULL,
    req_method    TEXT NOT NULL,
    req_uri       TEXT NOT NULL,
    route_key     TEXT NOT NULL,
    auth_type     TEXT NOT NULL,
    backend_id    TEXT NOT NULL,
    definition    TEXT NOT NULL,
    register_time BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    UNIQUE (group_id, name),
    UNIQUE (group_id, route_key)
);
CREATE INDEX apis_instance_time ON apis (instance_id, register_time);

CREATE TABLE publications (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    api_id       TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    env_id       TEXT NOT NULL,
    group_id     TEXT NOT NULL REFERENCES api_groups(id) ON DELETE CASCADE,
    route_key    TEXT NOT NULL,
    api_name     TEXT NOT NULL,
    version_id   TEXT NOT NULL,
    remark       TEXT NOT NULL DEFAULT '',
    publish_time BIGINT NOT NULL,
    definition   TEXT NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (api_id, env_id),
    UNIQUE (instance_id, env_id, group_id, route_key)
);
CREATE INDEX publications_env ON publications (instance_id, env_id);

-- Authorizations of apps to APIs in an environment. As in SQLite, app_auths has no foreign key
-- to the API or the environment; triggers drop the authorizations with either, also when the
-- delete cascades from a group or an instance.
CREATE TABLE app_auths (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    api_id      TEXT NOT NULL,
    env_id      TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    UNIQUE (app_id, api_id, env_id)
);
CREATE INDEX app_auths_instance ON app_auths (instance_id);
CREATE INDEX app_auths_api ON app_auths (api_id, env_id);

CREATE TABLE app_acls (
    app_id      TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    acl_type    TEXT NOT NULL CHECK (acl_type IN ('PERMIT', 'DENY')),
    acl_values  TEXT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX app_acls_instance ON app_acls (instance_id);

CREATE TABLE app_quotas (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    call_limits   BIGINT NOT NULL CHECK (call_limits BETWEEN 1 AND 2147483647),
    time_unit     TEXT NOT NULL CHECK (time_unit IN ('SECOND', 'MINUTE', 'HOUR', 'DAY')),
    time_interval BIGINT NOT NULL CHECK (time_interval BETWEEN 1 AND 2147483647),
    reset_time    TEXT,
    remark        TEXT NOT NULL DEFAULT '',
    create_time   BIGINT NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX app_quotas_instance_time ON app_quotas (instance_id, create_time);

CREATE TABLE app_quota_bindings (
    app_id       TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    app_quota_id TEXT NOT NULL REFERENCES app_quotas(id) ON DELETE CASCADE,
    instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    bound_time   BIGINT NOT NULL
);
CREATE INDEX app_quota_bindings_quota ON app_quota_bindings (app_quota_id, bound_time);
CREATE INDEX app_quota_bindings_instance ON app_quota_bindings (instance_id);

CREATE FUNCTION app_auths_drop_with_api() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_auths WHERE api_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER app_auths_drop_with_api AFTER DELETE ON apis
    FOR EACH ROW EXECUTE FUNCTION app_auths_drop_with_api();

CREATE FUNCTION app_auths_drop_with_environment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_auths WHERE instance_id = OLD.instance_id AND env_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER app_auths_drop_with_environment AFTER DELETE ON environments
    FOR EACH ROW EXECUTE FUNCTION app_auths_drop_with_environment();
