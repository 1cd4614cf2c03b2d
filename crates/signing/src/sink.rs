//! Where canonical-request bytes go: a `Vec<u8>` when a human needs the text, or straight into
//! SHA-256 when only the digest matters (the verifier's hot path).
//!
//! The canonical request is produced in many small pieces (often one byte at a time while
//! percent-encoding), and `Sha256::update` has a per-call cost, so [`HashSink`] gathers the pieces
//! in a small stack buffer and hands SHA-256 whole blocks.

use sha2::{Digest, Sha256};

/// A destination for canonical-request bytes.
pub(crate) trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Appends one byte.
    fn put_byte(&mut self, byte: u8);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline]
    fn put_byte(&mut self, byte: u8) {
        self.push(byte);
    }
}

/// Buffer size: a multiple of the 64-byte SHA-256 block, large enough for a typical canonical
/// request to need only a couple of flushes.
const BUF: usize = 256;

/// A [`Sink`] that hashes what it is given, without allocating.
pub(crate) struct HashSink {
    hasher: Sha256,
    buf: [u8; BUF],
    len: usize,
}

impl HashSink {
    pub(crate) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            buf: [0; BUF],
            len: 0,
        }
    }

    #[inline]
    fn flush(&mut self) {
        self.hasher.update(&self.buf[..self.len]);
        self.len = 0;
    }

    /// The SHA-256 of everything written.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        self.flush();
        self.hasher.finalize().into()
    }
}

impl HashSink {
    /// The rare case of [`Sink::put`]: the buffer cannot take `bytes`.
    #[cold]
    fn put_spilling(&mut self, bytes: &[u8]) {
        self.flush();
        if bytes.len() >= BUF {
            self.hasher.update(bytes);
        } else {
            self.buf[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        }
    }
}

impl Sink for HashSink {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(free) => {
                free.copy_from_slice(bytes);
                self.len = end;
            }
            None => self.put_spilling(bytes),
        }
    }

    #[inline]
    fn put_byte(&mut self, byte: u8) {
        if self.len == BUF {
            self.flush();
        }
        self.buf[self.len] = byte;
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sink_matches_one_shot_hash_across_buffer_boundaries() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut sink = HashSink::new();
        let mut rest = &data[..];
        let mut step = 1;
        while !rest.is_empty() {
            let n = step.min(rest.len());
            if n == 1 {
                sink.put_byte(rest[0]);
            } else {
                sink.put(&rest[..n]);
            }
            rest = &rest[n..];
            step = step * 3 % 301 + 1;
        }
        let expected: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(sink.finalize(), expected);
    }
}
