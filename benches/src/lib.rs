//! Inputs and baselines for the workspace's criterion benchmarks.
//!
//! The inputs are made on the machine that runs the benchmarks, by the real tools users' layers
//! come from (`tar`, `gzip`), and cached under `target/soci-bench/` so they are made once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A realistic layer: `tar` of `/usr/share` through `gzip -6`, made once and cached. Set
/// `SOCI_BENCH_LAYER` to benchmark another `.tar.gz` instead.
pub fn usr_share_layer() -> PathBuf {
    if let Some(path) = std::env::var_os("SOCI_BENCH_LAYER") {
        return PathBuf::from(path);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/soci-bench");
    let layer = dir.join("usr-share.tar.gz");
    if !layer.exists() {
        std::fs::create_dir_all(&dir).expect("cannot create target/soci-bench");
        let partial = dir.join("usr-share.tar.gz.partial");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "tar -C /usr -cf - share 2>/dev/null | gzip -6 > '{}'",
                partial.display()
            ))
            .status()
            .expect("cannot run tar | gzip");
        assert!(status.success(), "tar | gzip failed");
        std::fs::rename(&partial, &layer).expect("cannot move the layer into place");
    }
    layer
}

/// Four realistic layers (`tar | gzip -6` of parts of `/usr/share` and `/usr/lib`), made once and
/// cached, in an OCI layout: the blobs of a multi-layer image.
pub fn multi_layer_layout() -> (PathBuf, Vec<(String, u64)>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/soci-bench");
    let layout = dir.join("multi-layer");
    let parts = ["share/doc", "share/locale", "lib/python3", "share/perl"];
    let mut layers = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let file = dir.join(format!("layer{i}.tar.gz"));
        if !file.exists() {
            std::fs::create_dir_all(&dir).expect("cannot create target/soci-bench");
            let partial = dir.join(format!("layer{i}.partial"));
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "tar -C /usr -cf - {part} 2>/dev/null | gzip -6 > '{}'",
                    partial.display()
                ))
                .status()
                .expect("cannot run tar | gzip");
            assert!(status.success(), "tar | gzip failed");
            std::fs::rename(&partial, &file).expect("cannot move the layer into place");
        }
        let bytes = std::fs::read(&file).expect("cannot read a bench layer");
        layers.push((soci_ztoc::sha256_digest(&bytes), bytes));
    }
    let writer = soci_registry::LayoutWriter::open(&layout).expect("cannot open the bench layout");
    for (digest, bytes) in &layers {
        writer
            .write_blob(digest, bytes)
            .expect("cannot write a bench blob");
    }
    writer.commit().expect("cannot commit the bench layout");
    (
        layout,
        layers
            .into_iter()
            .map(|(d, b)| (d, b.len() as u64))
            .collect(),
    )
}

/// Inflates a (multi-member) gzip stream with zlib-rs and nothing else: the floor any zTOC
/// builder is measured against. Returns the uncompressed length.
pub fn raw_inflate(gz: &[u8]) -> u64 {
    use libz_rs_sys as z;
    let mut out = vec![0u8; 256 * 1024];
    let mut strm = Box::new(z::z_stream::default());
    // SAFETY: a default-initialised stream, zlib-rs's own version string.
    let ret = unsafe {
        z::inflateInit2_(
            &mut *strm,
            47,
            z::zlibVersion(),
            size_of::<z::z_stream>() as i32,
        )
    };
    assert_eq!(ret, z::Z_OK);
    let mut input = gz;
    let mut total = 0u64;
    while !input.is_empty() {
        strm.next_in = input.as_ptr();
        strm.avail_in = u32::try_from(input.len()).unwrap_or(u32::MAX);
        strm.next_out = out.as_mut_ptr();
        strm.avail_out = out.len() as u32;
        let before = strm.avail_in;
        // SAFETY: next_in/next_out point into live buffers of the given lengths.
        let ret = unsafe { z::inflate(&mut *strm, z::Z_NO_FLUSH) };
        assert!(
            ret == z::Z_OK || ret == z::Z_STREAM_END,
            "inflate failed: {ret}"
        );
        input = &input[(before - strm.avail_in) as usize..];
        total += (out.len() as u32 - strm.avail_out) as u64;
        if ret == z::Z_STREAM_END && !input.is_empty() {
            // SAFETY: the stream is initialised.
            unsafe { z::inflateReset(&mut *strm) };
        }
    }
    // SAFETY: initialised above, ended once.
    unsafe { z::inflateEnd(&mut *strm) };
    total
}
