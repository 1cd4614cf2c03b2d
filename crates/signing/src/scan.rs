//! Splitting text on an ASCII byte.
//!
//! `str::split(char)` sets up a character searcher per piece, which dominates on the short
//! pieces of the canonical request (header names, query pairs); a plain byte loop is cheaper
//! there. (For long pieces, like the `Authorization` fields, `str::split` wins.)

/// Splits `s` on the ASCII byte `sep`, like `s.split(sep as char)`.
pub(crate) fn split(s: &str, sep: u8) -> Split<'_> {
    debug_assert!(sep.is_ascii());
    Split { rest: Some(s), sep }
}

/// The iterator of [`split`].
#[derive(Clone)]
pub(crate) struct Split<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        // An ASCII separator never falls inside a UTF-8 sequence, so `i` is a character
        // boundary.
        match rest.bytes().position(|b| b == self.sep) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Splits `s` at the first ASCII byte `sep`, like `s.split_once(sep as char)`.
pub(crate) fn split_once(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let i = s.bytes().position(|b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_the_std_char_versions() {
        for s in ["", ";", "a;b", ";a;;ä;", "ä"] {
            assert_eq!(
                split(s, b';').collect::<Vec<_>>(),
                s.split(';').collect::<Vec<_>>()
            );
            assert_eq!(split_once(s, b';'), s.split_once(';'));
        }
    }
}
