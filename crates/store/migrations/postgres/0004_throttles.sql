-- apigw schema (PostgreSQL), the same as SQLite v7: request throttling policies (APIG "throttles"), their bindings to
-- published APIs and their excluded configurations ("throttle specials").
CREATE TABLE throttles (
    id                      TEXT PRIMARY KEY,
    instance_id             TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    api_call_limits         BIGINT  NOT NULL CHECK (api_call_limits BETWEEN 1 AND 2147483647),
    -- 0: no limit of that kind.
    user_call_limits        BIGINT  NOT NULL CHECK (user_call_limits BETWEEN 0 AND 2147483647),
    app_call_limits         BIGINT  NOT NULL CHECK (app_call_limits BETWEEN 0 AND 2147483647),
    ip_call_limits          BIGINT  NOT NULL CHECK (ip_call_limits BETWEEN 0 AND 2147483647),
    time_interval           BIGINT  NOT NULL CHECK (time_interval BETWEEN 1 AND 2147483647),
    time_unit               TEXT NOT NULL CHECK (time_unit IN ('SECOND', 'MINUTE', 'HOUR', 'DAY')),
    type                    BIGINT  NOT NULL CHECK (type IN (1, 2)),
    enable_adaptive_control BIGINT  NOT NULL CHECK (enable_adaptive_control IN (0, 1)),
    remark                  TEXT NOT NULL DEFAULT '',
    create_time             BIGINT  NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX throttles_instance_time ON throttles (instance_id, create_time);

-- One policy per API and environment. Kept by (API, environment), not by publication record:
-- republishing keeps the binding, and so does taking the API offline there.
CREATE TABLE throttle_bindings (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    throttle_id TEXT NOT NULL REFERENCES throttles(id) ON DELETE CASCADE,
    api_id      TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    apply_time  BIGINT  NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (api_id, env_id)
);
CREATE INDEX throttle_bindings_throttle ON throttle_bindings (throttle_id, apply_time);

-- An app's or a user's own limit under a policy; an app's goes with the app.
CREATE TABLE throttle_specials (
    id          TEXT PRIMARY KEY,
    throttle_id TEXT NOT NULL REFERENCES throttles(id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('APP', 'USER')),
    object_id   TEXT NOT NULL,
    app_id      TEXT REFERENCES apps(id) ON DELETE CASCADE,
    call_limits BIGINT  NOT NULL CHECK (call_limits BETWEEN 1 AND 2147483647),
    apply_time  BIGINT  NOT NULL,
    UNIQUE (throttle_id, object_type, object_id)
);
CREATE INDEX throttle_specials_app ON throttle_specials (app_id);
