-- apigw schema (PostgreSQL), the same as SQLite v5: the quota ledger. Calls counted against an
-- app's quota by every node, in the app's current window, so the count survives a restart and
-- is one count across nodes. It goes with the app's binding (unbinding, deleting the quota or
-- the app).
CREATE TABLE app_quota_usage (
    app_id          TEXT PRIMARY KEY REFERENCES app_quota_bindings(app_id) ON DELETE CASCADE,
    app_quota_id    TEXT NOT NULL,
    instance_id     TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    interval_ms     BIGINT NOT NULL CHECK (interval_ms > 0),
    calls           BIGINT NOT NULL CHECK (calls >= 0),
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX app_quota_usage_instance ON app_quota_usage (instance_id, updated_ms);
