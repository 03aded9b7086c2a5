//! Telling a layer's compression from its first bytes, for layers that come without a media
//! type (a file on disk): the magic numbers of the compressions a layer may use.

use crate::{CompressionAlgorithm, UnsupportedCompression};

/// Magic numbers of compressions a zTOC cannot describe, with the name the error gives.
const UNSUPPORTED: [(&[u8], &str); 3] = [
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz"),
    (b"BZh", "bzip2"),
];

impl CompressionAlgorithm {
    /// How many leading bytes [`CompressionAlgorithm::sniff`] looks at (the longest magic
    /// number it knows, xz's); a caller reads this many, or the whole layer if it is shorter.
    pub const SNIFF_LEN: usize = 6;

    /// The compression of a layer, judged from its first bytes (at least
    /// [`SNIFF_LEN`](CompressionAlgorithm::SNIFF_LEN) of them, when the layer has that many).
    ///
    /// gzip's magic `1f 8b` means [`Gzip`](CompressionAlgorithm::Gzip). zstd, xz and bzip2 are
    /// an [`UnsupportedCompression`] error, so the user hears the layer's real compression
    /// rather than a tar header error from reading compressed bytes as a tar. Anything else,
    /// an empty input included, is [`Uncompressed`](CompressionAlgorithm::Uncompressed): a
    /// plain tar has no magic number of its own at its start, and the tar walk that follows
    /// judges it (an empty layer is the builder's `EmptyLayer`).
    pub fn sniff(prefix: &[u8]) -> Result<CompressionAlgorithm, UnsupportedCompression> {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            return Ok(CompressionAlgorithm::Gzip);
        }
        match UNSUPPORTED
            .iter()
            .find(|(magic, _)| prefix.starts_with(magic))
        {
            Some(&(_, name)) => Err(UnsupportedCompression { name }),
            None => Ok(CompressionAlgorithm::Uncompressed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_told_by_its_magic() {
        let gz = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00];
        assert_eq!(
            CompressionAlgorithm::sniff(&gz),
            Ok(CompressionAlgorithm::Gzip)
        );
        // The magic alone is enough; one byte of it is not.
        assert_eq!(
            CompressionAlgorithm::sniff(&gz[..2]),
            Ok(CompressionAlgorithm::Gzip)
        );
        assert_eq!(
            CompressionAlgorithm::sniff(&gz[..1]),
            Ok(CompressionAlgorithm::Uncompressed)
        );
    }

    #[test]
    fn compressions_a_ztoc_cannot_describe_are_named() {
        let zstd = [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00];
        let err = CompressionAlgorithm::sniff(&zstd).unwrap_err();
        assert_eq!(err, UnsupportedCompression { name: "zstd" });
        assert!(err.to_string().contains("zstd-compressed"), "{err}");
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0x00];
        assert_eq!(CompressionAlgorithm::sniff(&xz).unwrap_err().name, "xz");
        assert_eq!(
            CompressionAlgorithm::sniff(b"BZh91A").unwrap_err().name,
            "bzip2"
        );
    }

    #[test]
    fn plain_tars_and_empty_input_are_uncompressed() {
        // A tar starts with the first entry's name.
        let mut header = [0u8; 512];
        header[..12].copy_from_slice(b"etc/hostname");
        header[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(
            CompressionAlgorithm::sniff(&header[..CompressionAlgorithm::SNIFF_LEN]),
            Ok(CompressionAlgorithm::Uncompressed)
        );
        // An empty tar archive is zero blocks; an empty input is left to the builder.
        assert_eq!(
            CompressionAlgorithm::sniff(&[0; 6]),
            Ok(CompressionAlgorithm::Uncompressed)
        );
        assert_eq!(
            CompressionAlgorithm::sniff(&[]),
            Ok(CompressionAlgorithm::Uncompressed)
        );
    }
}
