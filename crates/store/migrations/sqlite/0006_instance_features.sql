-- apigw schema v6 (SQLite): gateway features of instances (APIG "instance features"), such as
-- the app_secret and app_basic authentication modes. One row per configured feature; it goes
-- with its instance.
CREATE TABLE instance_features (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    enable      INTEGER NOT NULL CHECK (enable IN (0, 1)),
    config      TEXT NOT NULL,
    update_time INTEGER NOT NULL,
    UNIQUE (instance_id, name)
);
