//! `socix sample-image`: a small but real image, so the README's first command runs offline on
//! a fresh machine. Test data, not a feature: everything is generated from a fixed seed, so the
//! same binary always writes the same digests.
//!
//! The image (linux/amd64, OCI media types) has two gzip layers: a ~12 MiB "base" with a
//! root-filesystem shape (incompressible program files, text documentation, a symlink, a hard
//! link), big enough for the default 10 MiB minimum layer size; and a tiny "app" layer, which
//! SOCI skips.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use soci_core::{
    Annotations, Descriptor, Document, ImageManifest, OCI_CONFIG, OCI_MANIFEST, Tag, to_go_json,
};
use soci_registry::LayoutWriter;

use crate::advice::Writing;
use crate::build::DEFAULT_TAG_SUFFIX;
use crate::output::line;
use crate::refs::{parse_tag, shell_quote};
use crate::summary::bytes;

/// 2024-01-01T00:00:00Z, the modification time of every entry.
const MTIME: u64 = 1_704_067_200;
const CREATED: &str = "2024-01-01T00:00:00Z";

/// `socix sample-image`.
#[derive(Args)]
pub(crate) struct SampleArgs {
    /// The OCI layout directory to write (created; an existing layout gains the image).
    dir: PathBuf,
    /// The image's name in the layout (`org.opencontainers.image.ref.name`): a tag, not ending
    /// with -soci (what `socix convert` names its results).
    #[arg(long, default_value = "latest", value_parser = parse_sample_tag)]
    tag: Tag,
}

/// clap's parser for the sample's tag: a valid tag (convert would refuse any other), and not
/// one that names a conversion's result, which convert refuses to convert again.
fn parse_sample_tag(raw: &str) -> Result<Tag, String> {
    let tag = parse_tag(raw)?;
    if soci_core::is_output_tag(tag.as_str(), DEFAULT_TAG_SUFFIX) {
        return Err(format!(
            "a tag ending with {DEFAULT_TAG_SUFFIX} names a conversion's result, and socix \
             convert would not convert the sample; choose another (convert writes the sample's \
             SOCI-enabled image as <tag>{DEFAULT_TAG_SUFFIX})"
        ));
    }
    Ok(tag)
}

impl SampleArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let layers = [base_layer()?, app_layer()?];
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| soci_core::sha256_digest(&l.tar))
            .collect();
        let config = to_go_json(&json!({
            "architecture": "amd64",
            "os": "linux",
            "created": CREATED,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/app/run.sh"],
                "WorkingDir": "/app",
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [
                {"created": CREATED, "created_by": "socix sample-image: base layer"},
                {"created": CREATED, "created_by": "socix sample-image: app layer"},
            ],
        }));
        let manifest = Document::encode(
            &ImageManifest {
                schema_version: 2,
                media_type: OCI_MANIFEST.into(),
                config: Descriptor::of(OCI_CONFIG, &config),
                layers: layers
                    .iter()
                    .map(|l| Descriptor::of(soci_core::OCI_LAYER_GZIP, &l.gzip))
                    .collect(),
                annotations: Annotations::from([(
                    "org.opencontainers.image.title".to_owned(),
                    "socix sample image".to_owned(),
                )]),
                ..ImageManifest::default()
            },
            OCI_MANIFEST,
        );

        let writing = || Writing(format!("cannot write a layout at {}", self.dir.display()));
        let mut writer = LayoutWriter::open(&self.dir).with_context(writing)?;
        for blob in layers
            .iter()
            .map(|l| &l.gzip[..])
            .chain([&config[..], &manifest.bytes[..]])
        {
            writer
                .write_blob(&soci_core::sha256_digest(blob), blob)
                .with_context(writing)?;
        }
        writer.name(
            serde_json::to_value(&manifest.descriptor)?,
            self.tag.as_str(),
        );
        writer.commit().with_context(writing)?;

        let reference = format!("oci:{}:{}", self.dir.display(), self.tag);
        line(format_args!(
            "Wrote {reference} (linux/amd64, manifest {}): layers of {} and {}.",
            manifest.descriptor.digest,
            bytes(layers[0].gzip.len() as u64),
            bytes(layers[1].gzip.len() as u64)
        ))?;
        line(format_args!(
            "Next: socix convert {}",
            shell_quote(&reference)
        ))?;
        Ok(())
    }
}

/// A layer as a tar and gzipped.
struct Layer {
    tar: Vec<u8>,
    gzip: Vec<u8>,
}

/// splitmix64: a fixed, tiny generator, so the content never depends on a crate's version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `len` bytes that do not compress, as machine code mostly does not.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// About `len` bytes of prose, which compresses as documentation does.
    fn text(&mut self, len: usize) -> Vec<u8> {
        const WORDS: &[&str] = &[
            "the",
            "layer",
            "image",
            "index",
            "span",
            "file",
            "table",
            "of",
            "contents",
            "container",
            "lazily",
            "loaded",
            "registry",
            "checkpoint",
            "gzip",
            "stream",
            "seek",
            "bytes",
            "start",
            "before",
            "download",
            "finished",
            "a",
            "to",
            "is",
            "and",
            "with",
            "snapshotter",
            "manifest",
            "digest",
            "platform",
            "runtime",
            "fetch",
            "on",
            "demand",
        ];
        let mut out = Vec::with_capacity(len + 80);
        let mut column = 0;
        while out.len() < len {
            let word = WORDS[self.below(WORDS.len() as u64) as usize];
            out.extend_from_slice(word.as_bytes());
            column += word.len() + 1;
            if column > 72 {
                out.push(b'\n');
                column = 0;
            } else {
                out.push(b' ');
            }
        }
        out.push(b'\n');
        out
    }
}

/// Builds a tar entry by entry with root ownership and a fixed time.
struct TarBuilder(tar::Builder<Vec<u8>>);

impl TarBuilder {
    fn new() -> TarBuilder {
        TarBuilder(tar::Builder::new(Vec::new()))
    }

    fn header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(entry_type);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        // Names of 32 bytes or fewer always fit.
        let _ = h.set_username("root");
        let _ = h.set_groupname("root");
        h
    }

    fn dir(&mut self, path: &str) -> std::io::Result<()> {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.0.append_data(&mut h, path, std::io::empty())
    }

    fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> std::io::Result<()> {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut h, path, data)
    }

    fn link(&mut self, kind: tar::EntryType, path: &str, target: &str) -> std::io::Result<()> {
        let mut h = Self::header(kind, 0o777, 0);
        self.0.append_link(&mut h, path, target)
    }

    fn finish(self) -> anyhow::Result<Layer> {
        let tar = self.0.into_inner()?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar)?;
        Ok(Layer {
            gzip: gz.finish()?,
            tar,
        })
    }
}

/// ~12 MiB compressed: a root filesystem's shape, mostly incompressible programs.
fn base_layer() -> anyhow::Result<Layer> {
    let mut rng = Rng(0x50c1_5a3b);
    let mut tar = TarBuilder::new();
    for dir in [
        "etc/",
        "usr/",
        "usr/bin/",
        "usr/lib/",
        "usr/share/",
        "usr/share/doc/",
    ] {
        tar.dir(dir)?;
    }
    tar.file(
        "etc/os-release",
        0o644,
        b"NAME=\"socix sample\"\nID=sample\nVERSION_ID=1\nPRETTY_NAME=\"socix sample image\"\n",
    )?;
    tar.file("etc/hostname", 0o644, b"sample\n")?;
    tar.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n",
    )?;
    for i in 0..24 {
        let size = 400 * 1024 + rng.below(200 * 1024) as usize;
        let mut program = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        program.extend(rng.bytes(size));
        program.extend_from_slice(format!("usage: tool-{i:02} [options] FILE...\n").as_bytes());
        tar.file(&format!("usr/bin/tool-{i:02}"), 0o755, &program)?;
    }
    tar.link(tar::EntryType::Link, "usr/bin/sample", "usr/bin/tool-00")?;
    tar.file("usr/lib/libsample.so.1.2.3", 0o644, &rng.bytes(256 * 1024))?;
    tar.link(
        tar::EntryType::Symlink,
        "usr/lib/libsample.so.1",
        "libsample.so.1.2.3",
    )?;
    for i in 0..30 {
        tar.dir(&format!("usr/share/doc/pkg-{i:02}/"))?;
        let len = 4096 + rng.below(8192) as usize;
        tar.file(
            &format!("usr/share/doc/pkg-{i:02}/README"),
            0o644,
            &rng.text(len),
        )?;
    }
    tar.finish()
}

/// A few hundred bytes: below any sensible minimum layer size.
fn app_layer() -> anyhow::Result<Layer> {
    let mut tar = TarBuilder::new();
    tar.dir("app/")?;
    tar.file(
        "app/run.sh",
        0o755,
        b"#!/bin/sh\necho 'hello from the socix sample image'\n",
    )?;
    tar.file("app/config.json", 0o644, b"{\"greeting\": \"hello\"}\n")?;
    tar.file("etc/hostname", 0o644, b"sample-app\n")?;
    tar.finish()
}
