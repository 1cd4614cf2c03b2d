//! Hex for digests: lower-case encoding into stack arrays and decoding of a 64-digit signature,
//! both table-driven and allocation-free, as they run on every verification.

const LOWER: &[u8; 16] = b"0123456789abcdef";

/// Value of each byte as a hex digit (either case), or `0xFF`.
static VALUE: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Lower-case hex of a SHA-256 digest.
pub(crate) fn encode(digest: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = LOWER[usize::from(b >> 4)];
        pair[1] = LOWER[usize::from(b & 0xF)];
    }
    out
}

/// Lower-case hex of a SHA-256 digest, as a `String`.
pub(crate) fn encode_string(digest: &[u8; 32]) -> String {
    encode(digest).iter().map(|&b| char::from(b)).collect()
}

/// Decodes exactly 64 hex digits (either case).
pub(crate) fn decode(text: &str) -> Option<[u8; 32]> {
    let text: &[u8; 64] = text.as_bytes().try_into().ok()?;
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (b, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (VALUE[usize::from(pair[0])], VALUE[usize::from(pair[1])]);
        bad |= hi | lo;
        *b = (hi << 4) | (lo & 0xF);
    }
    // Valid digits are below 16; an invalid one (0xFF) sets the high bits.
    (bad < 16).then_some(out)
}

/// Whether `text` is exactly 64 hex digits.
pub(crate) fn is_digest(text: &str) -> bool {
    decode(text).is_some()
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
