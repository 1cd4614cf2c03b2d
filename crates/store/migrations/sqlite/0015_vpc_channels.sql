-- apigw schema v15 (SQLite): VPC channels (APIG "vpc-channels"), named sets of backend
-- servers an API's calls are spread over, and their members. `settings` holds the rest of a
-- channel as JSON (dict_code, the health check), parsed again on reading.
CREATE TABLE vpc_channels (
    id               TEXT PRIMARY KEY,
    instance_id      TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    balance_strategy INTEGER NOT NULL,
    member_type      TEXT NOT NULL CHECK (member_type IN ('ip', 'ecs')),
    settings         TEXT NOT NULL,
    create_time      INTEGER NOT NULL,
    update_time      INTEGER NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX vpc_channels_instance_time ON vpc_channels (instance_id, create_time);

-- A member's identity in its channel is its host (ip) or its ecs_id (ecs).
CREATE TABLE vpc_members (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    channel_id  TEXT NOT NULL REFERENCES vpc_channels(id) ON DELETE CASCADE,
    identity    TEXT NOT NULL,
    host        TEXT NOT NULL,
    port        INTEGER NOT NULL,
    weight      INTEGER NOT NULL,
    is_backup   INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    ecs_id      TEXT NOT NULL,
    ecs_name    TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    UNIQUE (channel_id, identity)
);
CREATE INDEX vpc_members_channel_time ON vpc_members (channel_id, create_time);
