-- apigw schema (PostgreSQL): the versions of published APIs. Every publication keeps the
-- definition it published as a version (its id is the publication's version_id); at most the
-- newest 10 per API and environment are kept (by the store). Switching to a version publishes
-- its definition again; taking the API offline keeps its versions.
CREATE TABLE api_versions (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    api_id       TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    env_id       TEXT NOT NULL,
    remark       TEXT NOT NULL DEFAULT '',
    publish_time BIGINT NOT NULL,
    definition   TEXT NOT NULL,
    FOREIGN KEY (instance_id, env_id) REFERENCES environments (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX api_versions_api ON api_versions (api_id, env_id, publish_time);

-- What is published now becomes the first version of each API.
INSERT INTO api_versions (id, instance_id, api_id, env_id, remark, publish_time, definition)
SELECT version_id, instance_id, api_id, env_id, remark, publish_time, definition FROM publications;
