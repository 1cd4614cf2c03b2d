-- apigw schema (PostgreSQL), the same as SQLite v14: signature keys (APIG "signs") the gateway signs backend calls
-- with, and their bindings to published APIs. The secret is sealed like an AppSecret.
CREATE TABLE sign_keys (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    sign_type   TEXT NOT NULL CHECK (sign_type IN ('hmac', 'basic')),
    sign_key    TEXT NOT NULL,
    secret_enc  TEXT NOT NULL,
    create_time BIGINT  NOT NULL,
    update_time BIGINT  NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX sign_keys_instance_time ON sign_keys (instance_id, update_time);

-- One key per API and environment, kept by (API, environment) like the other policies'
-- bindings. A bound key cannot be deleted (no cascade from the key).
CREATE TABLE sign_bindings (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    sign_id     TEXT NOT NULL REFERENCES sign_keys(id),
    api_id      TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    create_time BIGINT  NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (api_id, env_id)
);
CREATE INDEX sign_bindings_sign ON sign_bindings (sign_id, create_time);
