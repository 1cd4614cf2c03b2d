//! SQLite implementation of [`ApiStore`].

use super::*;
use crate::ApiStore;

#[async_trait]
impl ApiStore for SqliteStore {}
