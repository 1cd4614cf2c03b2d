-- apigw schema (PostgreSQL): gateway responses of API groups (what the gateway answers a
-- refused call with). Every group has a default response whose id is the group's own; up to
-- four more per group (checked by the store), names unique per group. `rules` is the JSON of
-- the changed rules by type. Deleting the group or the instance deletes its responses.
CREATE TABLE gateway_responses (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES api_groups(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    is_default  BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    rules       TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (group_id, name)
);
CREATE INDEX gateway_responses_instance ON gateway_responses (instance_id, create_time);
-- The default response of every group made before this version.
INSERT INTO gateway_responses (id, instance_id, group_id, name, is_default, rules, create_time, update_time)
SELECT g.id, g.instance_id, g.id, 'default', 1, '{}', g.register_time, g.register_time
FROM api_groups g;
