-- apigw schema v9 (SQLite): the state the gateway nodes keep beside the
-- configuration. Runtime state: not exported, not a configuration change.

-- The gateway nodes serving each instance, announced by each node that runs a data plane, so
-- that throttling limits can be divided among them.
CREATE TABLE gateway_nodes (
    node_id     TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    -- when the node last announced itself, on the database's clock (Unix milliseconds)
    seen_ms     INTEGER NOT NULL
);
CREATE INDEX gateway_nodes_instance ON gateway_nodes (instance_id, seen_ms);

-- Each node's checkpoint of its request throttling counts in windows of a minute or more, so
-- that a restart (or another node, after a crash) carries them on. A node replaces its own
-- rows; rows of a node that stopped (saved_ms 0) or stopped saving are taken over by another.
CREATE TABLE throttle_counts (
    node_id         TEXT NOT NULL,
    instance_id     TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    -- the binding's counters (a shared policy's id, or policy/API/environment)
    binding_key     TEXT NOT NULL,
    -- api, user, app:<app id> or ip:<address>
    caller          TEXT NOT NULL,
    window_start_ms INTEGER NOT NULL,
    window_ms       INTEGER NOT NULL CHECK (window_ms > 0),
    calls           INTEGER NOT NULL CHECK (calls >= 0),
    -- when the node saved it, on the database's clock; 0 once the node has stopped
    saved_ms        INTEGER NOT NULL,
    PRIMARY KEY (node_id, binding_key, caller)
);
CREATE INDEX throttle_counts_instance ON throttle_counts (instance_id, saved_ms);
