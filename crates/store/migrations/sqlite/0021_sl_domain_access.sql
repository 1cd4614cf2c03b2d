-- Whether a group's debugging subdomain (`<group_id>.<base domain>`) reaches it
-- (UpdateSlDomainSettingV2); groups made before keep answering on it.
ALTER TABLE api_groups ADD COLUMN sl_domain_access INTEGER NOT NULL DEFAULT 1 CHECK (sl_domain_access IN (0, 1));
