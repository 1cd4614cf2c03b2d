-- apigw schema v3 (SQLite): app ACLs, app quotas and their bindings (spec §1.12, §1.13).
-- Everything hangs off an app or an instance with ON DELETE CASCADE, so deleting an app drops
-- its ACL and quota binding, and deleting a quota drops its bindings.

-- One ACL per app. Values are the validated strings as given, joined with ',' (an address,
-- range or CIDR block never contains a comma).
CREATE TABLE app_acls (
    app_id      TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    acl_type    TEXT NOT NULL CHECK (acl_type IN ('PERMIT', 'DENY')),
    acl_values  TEXT NOT NULL,
    update_time INTEGER NOT NULL
);
CREATE INDEX app_acls_instance ON app_acls (instance_id);

CREATE TABLE app_quotas (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    call_limits   INTEGER NOT NULL CHECK (call_limits BETWEEN 1 AND 2147483647),
    time_unit     TEXT NOT NULL CHECK (time_unit IN ('SECOND', 'MINUTE', 'HOUR', 'DAY')),
    time_interval INTEGER NOT NULL CHECK (time_interval BETWEEN 1 AND 2147483647),
    reset_time    TEXT,
    remark        TEXT NOT NULL DEFAULT '',
    create_time   INTEGER NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX app_quotas_instance_time ON app_quotas (instance_id, create_time);

-- An app is bound to at most one quota: the app is the key.
CREATE TABLE app_quota_bindings (
    app_id       TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    app_quota_id TEXT NOT NULL REFERENCES app_quotas(id) ON DELETE CASCADE,
    instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    bound_time   INTEGER NOT NULL
);
CREATE INDEX app_quota_bindings_quota ON app_quota_bindings (app_quota_id, bound_time);
CREATE INDEX app_quota_bindings_instance ON app_quota_bindings (instance_id);

-- Authorizations are read per instance (data-plane snapshot) and per API (binded-apps).
CREATE INDEX app_auths_instance ON app_auths (instance_id);
CREATE INDEX app_auths_api ON app_auths (api_id, env_id);

-- An authorization names an API and an environment of its instance (app_auths has no foreign key
-- to them: it predates their tables). Deleting either drops its authorizations, also when the
-- delete cascades from a group or an instance.
CREATE TRIGGER app_auths_drop_with_api AFTER DELETE ON apis
BEGIN
    DELETE FROM app_auths WHERE api_id = OLD.id;
END;

CREATE TRIGGER app_auths_drop_with_environment AFTER DELETE ON environments
BEGIN
    DELETE FROM app_auths WHERE instance_id = OLD.instance_id AND env_id = OLD.id;
END;
