//! Identity values: roles and the names of projects and users (Keystone subset).

use crate::error::ApiError;
use std::fmt;

/// A role a user holds on a project. `reader` may only read; `member` and `admin` may write;
/// `admin` also manages identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Full control, including users, projects and role assignments.
    Admin,
    /// May read and write the project's gateway objects.
    Member,
    /// May only read.
    Reader,
}

impl Role {
    /// Every role, in the order `GET /v3/roles` lists them.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Reader];

    /// The role's id and name (they are the same).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Reader => "reader",
        }
    }

    /// Parses a role id or name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role allows changing gateway objects.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Admin | Role::Member)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A project or user name: 1–64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityName(String);

impl IdentityName {
    /// Parses the `name` field of a project or user; `field` names it in the error.
    pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
        let n = s.chars().count();
        if (1..=64).contains(&n) && !s.chars().any(char::is_control) && s.trim() == s {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field(field))
        }
    }

    /// The validated name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password: 8–128 characters. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Parses a new user's password.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if (8..=128).contains(&s.chars().count()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("password"))
        }
    }

    /// The password text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(Role::parse("member"), Some(Role::Member));
        assert_eq!(Role::parse("owner"), None);
        assert!(!Role::Reader.can_write());
        assert!(Role::Admin.can_write());
    }

    #[test]
    fn names_and_passwords() {
        assert!(IdentityName::parse("admin", "name").is_ok());
        assert!(IdentityName::parse("", "name").is_err());
        assert!(IdentityName::parse(" x", "name").is_err());
        assert!(Password::parse("short").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("longenough").unwrap()),
            "Password(<redacted>)"
        );
    }
}
