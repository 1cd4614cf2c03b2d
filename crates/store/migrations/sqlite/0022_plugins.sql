-- apigw schema v22 (SQLite): plug-ins (APIG "plugins") and their attachments to published APIs.
-- The content is the canonical JSON the domain crate writes (PluginContent::to_content).
CREATE TABLE plugins (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    plugin_type  TEXT NOT NULL,
    plugin_scope TEXT NOT NULL DEFAULT 'global',
    content      TEXT NOT NULL,
    remark       TEXT NOT NULL DEFAULT '',
    create_time  INTEGER NOT NULL,
    update_time  INTEGER NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX plugins_instance_time ON plugins (instance_id, create_time);

-- One plug-in of a type per API and environment (attaching another of that type replaces
-- it), kept by (API, environment) like the policies' bindings: taking the API offline keeps
-- it, deleting the API or the environment removes it. An attached plug-in cannot be deleted
-- (no cascade from the plug-in).
CREATE TABLE plugin_bindings (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    plugin_id   TEXT NOT NULL REFERENCES plugins(id),
    plugin_type TEXT NOT NULL,
    api_id      TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE,
    UNIQUE (api_id, env_id, plugin_type)
);
CREATE INDEX plugin_bindings_plugin ON plugin_bindings (plugin_id, create_time);
