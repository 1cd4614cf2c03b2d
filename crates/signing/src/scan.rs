//! Splitting text on an ASCII byte.
//!
//! `str::split(char)` sets up a character searcher per piece, which dominates on the short
//! pieces of the canonical request (header names, query pairs); a plain byte loop is cheaper
//! there. (For long pieces, like the `Authorization` fields, `str::split` wins.)

/// Splits `s` on the ASCII byte `sep`, like `s.split(sep as char)`.
pub(crate) fn split(s: &str, sep: u8) -> impl Iterator<Item = &str> + Clone {
    debug_assert!(sep.is_ascii());
    s.as_bytes().split(move |&b| b == sep).map(move |piece| {
        // An ASCII separator never falls inside a UTF-8 sequence, so the offsets are
        // character boundaries of `s`.
        let start = piece.as_ptr() as usize - s.as_ptr() as usize;
        &s[start..start + piece.len()]
    })
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
