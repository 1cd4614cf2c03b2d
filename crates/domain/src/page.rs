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

    /// This page of `items`, for lists filtered in memory (empty past the end).
    pub fn of<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = usize::try_from(self.offset).map_or(items.len(), |o| o.min(items.len()));
        let len = usize::try_from(self.limit).unwrap_or(usize::MAX);
        &items[start..start.saturating_add(len).min(items.len())]
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
    fn a_page_of_a_slice() {
        let items = [1, 2, 3, 4, 5];
        let page = |offset, limit| Page { offset, limit }.of(&items).to_vec();
        assert_eq!(page(0, 2), [1, 2]);
        assert_eq!(page(3, 20), [4, 5]);
        assert_eq!(page(5, 20), Vec::<i32>::new());
        assert_eq!(page(i64::MAX, 500), Vec::<i32>::new());
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
