//! SQLite implementation of [`AuthzStore`].

use super::*;
use crate::AuthzStore;

#[async_trait]
impl AuthzStore for SqliteStore {}
