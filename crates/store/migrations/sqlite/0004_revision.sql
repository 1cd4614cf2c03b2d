-- apigw schema v4 (SQLite): the configuration revision, advanced by every committed change to
-- what the data plane serves, so a node can tell whether its in-memory state is complete.
CREATE TABLE revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO revision (id, n) VALUES (1, 0);
