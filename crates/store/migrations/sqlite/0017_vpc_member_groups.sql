-- apigw schema v17 (SQLite): backend server groups of VPC channels (APIG "member-groups"),
-- named sets of a channel's servers; a group's weight, when set, is its servers' weight.
-- A member names at most one group of its channel; deleting the group leaves the member
-- without one.
CREATE TABLE vpc_member_groups (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    channel_id  TEXT NOT NULL REFERENCES vpc_channels(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    remark      TEXT NOT NULL,
    weight      INTEGER,
    dict_code   TEXT,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    UNIQUE (channel_id, name)
);
CREATE INDEX vpc_member_groups_channel_time ON vpc_member_groups (channel_id, create_time);

ALTER TABLE vpc_members ADD COLUMN group_id TEXT REFERENCES vpc_member_groups(id) ON DELETE SET NULL;
CREATE INDEX vpc_members_group ON vpc_members (group_id);
