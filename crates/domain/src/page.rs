//! Pagination as every APIG list call takes it: `offset` (<0 → 0) and `limit` (default 20,
//! <=0 → 20, >500 → 500); text that is not a number is `APIG.2012`.

use crate::error::ApiError;

/// One page request, already clamped to the APIG rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items to skip.
    pub offset: i64,
    /// Items to return, 1..=max.
    pub limit: i64,
}

impl Page {
    /// Parses APIG `offset`/`limit` query values (default limit 20, maximum 500).
    pub fn parse(offset: Option<&str>, limit: Option<&str>) -> Result<Self, ApiError> {
        Self::parse_with(offset, limit, 20, 500)
    }

    /// Parses with a given default and maximum limit (ModelArts lists default to 1000).
    pub fn parse_with(
        offset: Option<&str>,
        limit: Option<&str>,
        default_limit: i64,
        max_limit: i64,
    ) -> Result<Self, ApiError> {
        let number = |v: Option<&str>, field: &str| -> Result<Option<i64>, ApiError> {
            match v.map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => s
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| ApiError::invalid_param(field)),
            }
        };
        let offset = number(offset, "offset")?.unwrap_or(0).max(0);
        let limit = match number(limit, "limit")? {
            None => default_limit,
            Some(l) if l <= 0 => default_limit,
            Some(l) => l.min(max_limit),
        };
        Ok(Self { offset, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_like_apig() {
        assert_eq!(
            Page::parse(None, None).unwrap(),
            Page {
                offset: 0,
                limit: 20
            }
        );
        assert_eq!(
            Page::parse(Some("-5"), Some("0")).unwrap(),
            Page {
                offset: 0,
                limit: 20
            }
        );
        assert_eq!(Page::parse(Some("3"), Some("900")).unwrap().limit, 500);
        assert_eq!(Page::parse(None, Some("-1")).unwrap().limit, 20);
        assert_eq!(Page::parse(None, Some("7")).unwrap().limit, 7);
    }

    #[test]
    fn rejects_text() {
        let e = Page::parse(Some("x"), None).unwrap_err();
        assert_eq!(e.code, "APIG.2012");
        assert!(e.message.contains("parameterName:offset"));
        assert!(Page::parse(None, Some("1e3")).is_err());
        assert!(Page::parse(None, Some("99999999999999999999")).is_err());
    }
}
