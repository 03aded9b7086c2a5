//! Inputs and baselines for the workspace's criterion benchmarks.
//!
//! The inputs are made on the machine that runs the benchmarks, by the real tools users' layers
//! come from (`tar`, `gzip`), and cached under `target/soci-bench/` so they are made once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where inputs are cached.
fn cache() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/soci-bench");
    std::fs::create_dir_all(&dir).expect("cannot create target/soci-bench");
    dir
}

/// `name` in the cache, made by the shell pipeline `script` (writing to `$OUT`) unless there.
fn cached(name: &str, script: &str) -> PathBuf {
    let path = cache().join(name);
    if !path.exists() {
        let partial = cache().join(format!("{name}.partial"));
        let status = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("OUT", &partial)
            .status()
            .expect("cannot run the input's shell pipeline");
        assert!(status.success(), "making {name} failed");
        std::fs::rename(&partial, &path).expect("cannot move the input into place");
    }
    path
}

/// A realistic layer: `tar` of `/usr/share` through `gzip -6`, made once and cached. Set
/// `SOCI_BENCH_LAYER` to benchmark another `.tar.gz` instead.
pub fn usr_share_layer() -> PathBuf {
    if let Some(path) = std::env::var_os("SOCI_BENCH_LAYER") {
        return PathBuf::from(path);
    }
    cached(
        "usr-share.tar.gz",
        "tar -C /usr -cf - share 2>/dev/null | gzip -6 > \"$OUT\"",
    )
}

/// Many small files: 40,000 files of 0–4 KiB of text in 2,000 directories, `tar | gzip -6`.
/// The tar walk and the TOC dominate here, not inflate.
pub fn small_files_layer() -> PathBuf {
    tree_layer("small-files.tar.gz", |root| {
        let mut x = 7u64;
        for i in 0..40_000 {
            let dir = root.join(format!("d{:02}/e{:02}", i % 50, (i / 50) % 40));
            std::fs::create_dir_all(&dir)?;
            let len = (xorshift(&mut x) % 4096) as usize;
            let mut text = String::with_capacity(len + 32);
            while text.len() < len {
                text.push_str(&format!("line {} of file {i}\n", text.len()));
            }
            text.truncate(len);
            std::fs::write(dir.join(format!("file{i:05}.txt")), text)?;
        }
        Ok(())
    })
}

/// Few large incompressible files: four files of 48 MiB of pseudo-random bytes, `tar | gzip
/// -6`. Inflate does little (stored blocks), so hashing and window copies dominate.
pub fn large_random_layer() -> PathBuf {
    tree_layer("large-random.tar.gz", |root| {
        let mut x = 11u64;
        for i in 0..4 {
            let data: Vec<u8> = (0..48 << 20 >> 3)
                .flat_map(|_| xorshift(&mut x).to_le_bytes())
                .collect();
            std::fs::write(root.join(format!("blob{i}.bin")), data)?;
        }
        Ok(())
    })
}

/// A layer made by `tar | gzip -6` of a directory tree that `fill` writes, cached.
fn tree_layer(name: &str, fill: impl FnOnce(&Path) -> std::io::Result<()>) -> PathBuf {
    let path = cache().join(name);
    if !path.exists() {
        let tree = cache().join(format!("{name}.tree"));
        let _ = std::fs::remove_dir_all(&tree);
        std::fs::create_dir_all(&tree).expect("cannot create the input tree");
        fill(&tree).expect("cannot write the input tree");
        let script = format!(
            "tar --sort=name --mtime=@0 -C '{}' -cf - . | gzip -6 > \"$OUT\"",
            tree.display()
        );
        let made = cached(name, &script);
        std::fs::remove_dir_all(&tree).expect("cannot remove the input tree");
        return made;
    }
    path
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Four realistic layers (`tar | gzip -6` of parts of `/usr/share` and `/usr/lib`), made once and
/// cached, in an OCI layout: the blobs of a multi-layer image.
pub fn multi_layer_layout() -> (PathBuf, Vec<(String, u64)>) {
    let layout = cache().join("multi-layer");
    let parts = ["share/doc", "share/locale", "lib/python3", "share/perl"];
    let mut layers = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let file = cached(
            &format!("layer{i}.tar.gz"),
            &format!("tar -C /usr -cf - {part} 2>/dev/null | gzip -6 > \"$OUT\""),
        );
        let bytes = std::fs::read(&file).expect("cannot read a bench layer");
        layers.push((soci_ztoc::sha256_digest(&bytes), bytes));
    }
    let mut writer =
        soci_registry::LayoutWriter::open(&layout).expect("cannot open the bench layout");
    for (digest, bytes) in &layers {
        writer
            .write_blob(digest, bytes)
            .expect("cannot write a bench blob");
    }
    // An image of those layers, named `latest`, for whole conversions (`compare.sh`).
    let config_bytes: &[u8] =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config =
        soci_core::Descriptor::of("application/vnd.oci.image.config.v1+json", config_bytes);
    writer
        .write_blob(&config.digest, config_bytes)
        .expect("cannot write the bench config");
    let manifest = soci_core::Document::encode(
        &soci_core::ImageManifest {
            schema_version: 2,
            media_type: soci_core::OCI_MANIFEST.into(),
            config,
            layers: layers
                .iter()
                .map(|(_, bytes)| {
                    soci_core::Descriptor::of("application/vnd.oci.image.layer.v1.tar+gzip", bytes)
                })
                .collect(),
            ..Default::default()
        },
        soci_core::OCI_MANIFEST,
    );
    writer
        .write_blob(&manifest.descriptor.digest, &manifest.bytes)
        .expect("cannot write the bench manifest");
    writer.name(
        serde_json::to_value(&manifest.descriptor).expect("descriptors serialize"),
        "latest",
    );
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
