//! Span digests: SHA-256 over the compressed bytes of each span, computed as the bytes stream
//! past, cut where checkpoints fall.

use sha2::{Digest, Sha256};

/// Formats a SHA-256 digest the way OCI and the zTOC write it: `sha256:<64 lowercase hex>`.
pub fn format_sha256(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(7 + 2 * digest.len());
    s.push_str("sha256:");
    for &b in digest {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format_sha256(&Sha256::digest(bytes))
}

/// The digests of the spans seen so far, and the running hash of the current one.
#[derive(Default)]
pub(crate) struct SpanHasher {
    current: Option<Sha256>,
    digests: Vec<String>,
}

impl SpanHasher {
    /// Adds bytes to the current span (nothing before the first span starts).
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.current {
            h.update(bytes);
        }
    }

    /// Ends the current span, if any, and starts the next one with `first` (the byte a checkpoint
    /// inside a byte shares with the previous span).
    pub(crate) fn cut(&mut self, first: Option<u8>) {
        self.close();
        let mut next = Sha256::new();
        if let Some(b) = first {
            next.update([b]);
        }
        self.current = Some(next);
    }

    /// Ends the last span and returns every digest.
    pub(crate) fn finish(mut self) -> Vec<String> {
        self.close();
        self.digests
    }

    fn close(&mut self) {
        if let Some(h) = self.current.take() {
            self.digests.push(format_sha256(&h.finalize()));
        }
    }
}
