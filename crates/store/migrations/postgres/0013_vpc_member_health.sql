-- apigw schema (PostgreSQL), the same as SQLite v16: what each gateway node's health checks last said of the VPC
-- channel servers it probes (healthy 1 or 0), for the management API's `health_status`.
-- Runtime state, not configuration: each node replaces its rows when its view changes and
-- renews them periodically; a row past `expires_ms` (the database's clock, Unix ms) belongs to
-- a node that stopped without withdrawing and is not read.
CREATE TABLE vpc_member_health (
    node_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    healthy    BIGINT  NOT NULL CHECK (healthy IN (0, 1)),
    expires_ms BIGINT  NOT NULL,
    PRIMARY KEY (node_id, member_id)
);
CREATE INDEX vpc_member_health_member ON vpc_member_health (member_id, expires_ms);
