-- apigw schema v12 (SQLite): environment variables of API groups (`#name#` in backends).
-- A name is unique per group and environment (case-sensitive); at most 50 per group and
-- environment (checked by the store). Deleting the group, the environment or the instance
-- deletes its variables.
CREATE TABLE env_variables (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES api_groups(id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (group_id, env_id, name)
);
CREATE INDEX env_variables_instance ON env_variables (instance_id, create_time);
