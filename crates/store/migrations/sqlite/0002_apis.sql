-- apigw schema v2 (SQLite): API groups, environments, APIs and their publications (spec §3.1-3.4).
-- Times are nanoseconds since the Unix epoch (UTC). An API's definition is the validated JSON the
-- domain crate writes (ApiDefinition::to_json); the columns next to it repeat what queries filter
-- and check uniqueness on. A publication holds its own copy of the definition, taken when the API
-- was published: the data plane serves that copy, so later edits need a new publication.

CREATE TABLE api_groups (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    remark        TEXT NOT NULL DEFAULT '',
    is_default    INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    register_time INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    UNIQUE (instance_id, name)
);
-- One DEFAULT group per instance.
CREATE UNIQUE INDEX api_groups_default ON api_groups (instance_id) WHERE is_default = 1;
CREATE INDEX api_groups_instance_time ON api_groups (instance_id, register_time);

-- Environment ids are unique per instance only: every instance has DEFAULT_ENVIRONMENT_RELEASE_ID.
CREATE TABLE environments (
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    remark      TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL,
    PRIMARY KEY (instance_id, id),
    UNIQUE (instance_id, name)
);

CREATE TABLE apis (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_id      TEXT NOT NULL REFERENCES api_groups(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    api_type      INTEGER NOT NULL,
    req_protocol  TEXT NOT NULL,
    req_method    TEXT NOT NULL,
    req_uri       TEXT NOT NULL,
    -- "METHOD /path/{}": method and path with parameter names erased, unique in a group.
    route_key     TEXT NOT NULL,
    auth_type     TEXT NOT NULL,
    backend_id    TEXT NOT NULL,
    definition    TEXT NOT NULL,
    register_time INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
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
    -- route_key of the published definition: unique per group and environment, so routing on
    -- the data plane is never ambiguous.
    route_key    TEXT NOT NULL,
    api_name     TEXT NOT NULL,
    version_id   TEXT NOT NULL,
    remark       TEXT NOT NULL DEFAULT '',
    publish_time INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (api_id, env_id),
    UNIQUE (instance_id, env_id, group_id, route_key)
);
CREATE INDEX publications_env ON publications (instance_id, env_id);

-- Instances created before this migration get their DEFAULT group and RELEASE environment now;
-- later ones get them in the transaction that creates the instance.
INSERT INTO api_groups (id, instance_id, name, remark, is_default, register_time, update_time)
SELECT lower(hex(randomblob(16))), id, 'DEFAULT', '', 1, created_at, created_at FROM instances;

INSERT INTO environments (instance_id, id, name, remark, create_time)
SELECT id, 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'RELEASE', '', created_at FROM instances;
