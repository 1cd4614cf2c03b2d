-- apigw schema (PostgreSQL), the same as SQLite v9: the gateway nodes serving each instance,
-- announced by each node that runs a data plane, so that throttling limits can be divided
-- among them. Runtime state, not configuration: not exported.
CREATE TABLE gateway_nodes (
    node_id     TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    -- when the node last announced itself, on the database's clock (Unix milliseconds)
    seen_ms     BIGINT NOT NULL
);
CREATE INDEX gateway_nodes_instance ON gateway_nodes (instance_id, seen_ms);
