//! Hex for digests: lower-case encoding into stack arrays and decoding of a 64-digit signature,
//! both branch-free and allocation-free, as they run on every verification.

/// The lower-case hex digit for a nibble (branch-free, so loops over digests vectorise).
#[inline]
fn digit(nibble: u8) -> u8 {
    nibble + if nibble < 10 { b'0' } else { b'a' - 10 }
}

/// The value of a hex digit of either case (garbage for other bytes).
#[inline]
fn value(digit: u8) -> u8 {
    (digit & 0xF) + 9 * (digit >> 6)
}

/// Lower-case hex of a SHA-256 digest.
pub(crate) fn encode(digest: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = digit(b >> 4);
        pair[1] = digit(b & 0xF);
    }
    out
}

/// Lower-case hex of a SHA-256 digest, as a `String`.
pub(crate) fn encode_string(digest: &[u8; 32]) -> String {
    encode(digest).iter().map(|&b| char::from(b)).collect()
}

/// Whether `text` is exactly 64 hex digits (either case).
pub(crate) fn is_digest(text: &str) -> bool {
    // No early exit: the whole fold vectorises.
    text.len() == 64 && text.bytes().fold(true, |ok, b| ok & b.is_ascii_hexdigit())
}

/// Decodes exactly 64 hex digits (either case).
pub(crate) fn decode(text: &str) -> Option<[u8; 32]> {
    let text: &[u8; 64] = text.as_bytes().try_into().ok()?;
    let mut out = [0u8; 32];
    let mut ok = true;
    // Validate and convert in one branch-free pass.
    for (b, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        ok &= pair[0].is_ascii_hexdigit() & pair[1].is_ascii_hexdigit();
        *b = value(pair[0]) << 4 | value(pair[1]);
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_accepts_either_case() {
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let text = encode_string(&digest);
        assert_eq!(text, hex::encode(digest));
        assert_eq!(decode(&text), Some(digest));
        assert_eq!(decode(&text.to_ascii_uppercase()), Some(digest));
    }

    #[test]
    fn rejects_other_lengths_and_non_digits() {
        let ok = "0".repeat(64);
        assert!(is_digest(&ok));
        assert!(!is_digest(&ok[1..]));
        assert!(!is_digest(&format!("{ok}0")));
        for bad in ['g', 'G', ' ', '\0', 'é'] {
            let text = format!("{bad}{}", &ok[bad.len_utf8()..]);
            assert!(!is_digest(&text), "{bad:?}");
        }
    }
}
