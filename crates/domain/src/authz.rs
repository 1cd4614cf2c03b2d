//! Values of app authorizations, app ACLs and app quotas (spec §1.12, §1.13, §3.5) that parse.
