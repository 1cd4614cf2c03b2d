//! API groups, environments, APIs and their publication in environments (spec §3.1–3.4).

use async_trait::async_trait;

/// API groups, environments, APIs and publications.
#[async_trait]
pub trait ApiStore: Send + Sync + 'static {}
