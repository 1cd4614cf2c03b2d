-- apigw schema v1 (SQLite). Times are nanoseconds since the Unix epoch (UTC).
-- Secrets are stored sealed (AES-256-GCM, "kid:base64(nonce||ciphertext)"), AppCodes also as a
-- keyed hash (HMAC-SHA256, hex) so uniqueness and lookups never need the plaintext.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE domains (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    domain_id          TEXT NOT NULL REFERENCES domains(id),
    name               TEXT NOT NULL,
    password_hash      TEXT NOT NULL,
    default_project_id TEXT REFERENCES projects(id) ON DELETE SET NULL,
    enabled            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE role_assignments (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'reader')),
    PRIMARY KEY (project_id, user_id, role)
);

-- Tokens are kept as the SHA-256 of the bearer value: a database dump holds no usable token.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    methods    TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE access_keys (
    access      TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_enc  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX access_keys_user ON access_keys (user_id);

CREATE TABLE instances (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
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
    status        INTEGER NOT NULL,
    app_type      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    register_time INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
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
    create_time INTEGER NOT NULL,
    UNIQUE (instance_id, value_hash)
);
CREATE INDEX app_codes_app ON app_codes (app_id, create_time);

-- Authorizations of apps to APIs in an environment; bind_num and the app quantities count them.
CREATE TABLE app_auths (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    api_id      TEXT NOT NULL,
    env_id      TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    UNIQUE (app_id, api_id, env_id)
);
