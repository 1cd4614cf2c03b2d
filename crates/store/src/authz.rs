//! What decides whether an app may call an API: app authorizations (spec §3.5), app ACLs
//! (§1.12) and app quotas with their bindings (§1.13).

use async_trait::async_trait;

/// App authorizations, ACLs and quotas.
#[async_trait]
pub trait AuthzStore: Send + Sync + 'static {}
