//! Store failures in terms the management API can map to APIG codes without knowing the backend.

/// Why a store call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another app of the instance has this name.
    #[error("the app name already exists")]
    AppNameExists,
    /// Another app of the instance has this AppKey.
    #[error("the AppKey already exists")]
    AppKeyExists,
    /// The AppCode value is already used in the instance.
    #[error("the AppCode already exists")]
    AppCodeExists,
    /// The instance holds its maximum number of apps.
    #[error("the app limit of the instance is reached")]
    AppLimitReached,
    /// The app holds its maximum number of AppCodes.
    #[error("the AppCode limit of the app is reached")]
    AppCodeLimitReached,
    /// The addressed object does not exist in the caller's scope.
    #[error("not found")]
    NotFound,
    /// A unique identity name (project, user) is taken.
    #[error("duplicate entry")]
    Duplicate,
    /// The database cannot be reached or failed; callers answer 5xx.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data cannot be read back (for example a secret the master key cannot open).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl From<crate::crypto::CryptoError> for StoreError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
