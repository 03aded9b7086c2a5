//! Test images: real gzip/tar layers, OCI or Docker media types, one platform or
//! several, written to an OCI layout or pushed to a registry with the client.

use std::io::Write;

use crate::client::RegistryClient;
use crate::layout::LayoutWriter;
use bytes::Bytes;
use serde_json::{Value, json};

use soci_core::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
pub use soci_core::{
    DOCKER_LAYER_GZIP as DOCKER_GZIP, OCI_LAYER as OCI_TAR, OCI_LAYER_GZIP as OCI_GZIP,
    OCI_LAYER_ZSTD as OCI_ZSTD,
};

/// `sha256:` digest of `b`.
pub fn digest(b: &[u8]) -> String {
    soci_ztoc::sha256_digest(b)
}

/// A tar of `files` files of `size` bytes each, deterministic per seed, some with xattrs.
pub fn tar(seed: u8, files: usize, size: usize, xattr: bool) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    if xattr {
        tar.append_pax_extensions([("SCHILY.xattr.user.seed", &[seed][..])])
            .unwrap();
    }
    for i in 0..files {
        let mut x = u32::from(seed) * 7919 + i as u32;
        let data: Vec<u8> = (0..size)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                // Half random, half text: compresses, but not to nothing.
                if x & 0x100 == 0 {
                    (x >> 16) as u8
                } else {
                    b'a' + (x >> 24) as u8 % 16
                }
            })
            .collect();
        let mut h = tar::Header::new_gnu();
        h.set_size(size as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, format!("layer{seed}/file{i}"), &data[..])
            .unwrap();
    }
    tar.into_inner().unwrap()
}

/// `data` gzipped (flate2, fast level).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A layer blob with its media type.
#[derive(Clone)]
pub struct Layer {
    /// Its media type.
    pub media_type: &'static str,
    /// The blob.
    pub bytes: Vec<u8>,
}

impl Layer {
    /// A gzipped tar of `files` files of `size` bytes.
    pub fn gzip(seed: u8, files: usize, size: usize) -> Layer {
        Layer {
            media_type: OCI_GZIP,
            bytes: gzip(&tar(seed, files, size, false)),
        }
    }

    /// A gzip layer of soci-ztoc's golden vectors (`soci-ztoc/tests/data`, made by the real tools
    /// its README names), by file name: what only such a tool writes (GNU sparse files, say).
    /// Panics if it is not there (this workspace's tests only).
    pub fn golden(name: &str) -> Layer {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../soci-ztoc/tests/data")
            .join(name);
        Layer {
            media_type: OCI_GZIP,
            bytes: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    /// The same blob under another media type.
    pub fn with_media_type(mut self, media_type: &'static str) -> Layer {
        self.media_type = media_type;
        self
    }

    /// Its descriptor as JSON.
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": digest(&self.bytes), "size": self.bytes.len()})
    }
}

/// A platform manifest with its config and layers.
pub struct PlatformImage {
    /// `(os, architecture)`.
    pub platform: (&'static str, &'static str),
    /// The config blob.
    pub config: Vec<u8>,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
    /// The manifest's media type.
    pub manifest_type: &'static str,
    /// Its layers.
    pub layers: Vec<Layer>,
}

impl PlatformImage {
    /// A linux platform image of `layers`, with Docker or OCI media types.
    pub fn new(docker: bool, arch: &'static str, layers: Vec<Layer>) -> PlatformImage {
        let config = serde_json::to_vec(&json!({
            "architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []}
        }))
        .unwrap();
        let (manifest_type, config_type) = if docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG)
        } else {
            (OCI_MANIFEST, OCI_CONFIG)
        };
        let manifest = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": digest(&config), "size": config.len()},
            "layers": layers.iter().map(Layer::descriptor).collect::<Vec<_>>(),
        }))
        .unwrap();
        PlatformImage {
            platform: ("linux", arch),
            config,
            manifest,
            manifest_type,
            layers,
        }
    }

    /// The manifest's digest.
    pub fn digest(&self) -> String {
        digest(&self.manifest)
    }

    fn entry(&self) -> Value {
        json!({
            "mediaType": self.manifest_type, "digest": self.digest(), "size": self.manifest.len(),
            "platform": {"architecture": self.platform.1, "os": self.platform.0}
        })
    }
}

/// An image: one platform manifest, or an index of several.
pub struct TestImage {
    /// Its platform manifests.
    pub platforms: Vec<PlatformImage>,
    /// The index, when there are several platforms (or one was asked for).
    pub index: Option<(Vec<u8>, &'static str)>,
}

impl TestImage {
    /// An image that is one platform manifest.
    pub fn single(platform: PlatformImage) -> TestImage {
        TestImage {
            platforms: vec![platform],
            index: None,
        }
    }

    /// An index (or Docker manifest list) of `platforms`.
    pub fn multi(docker: bool, platforms: Vec<PlatformImage>) -> TestImage {
        let media_type = if docker {
            DOCKER_MANIFEST_LIST
        } else {
            OCI_INDEX
        };
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": media_type,
            "manifests": platforms.iter().map(PlatformImage::entry).collect::<Vec<_>>(),
        }))
        .unwrap();
        TestImage {
            platforms,
            index: Some((index, media_type)),
        }
    }

    /// The target's bytes and media type.
    pub fn target(&self) -> (&[u8], &'static str) {
        match &self.index {
            Some((bytes, media_type)) => (bytes, media_type),
            None => (&self.platforms[0].manifest, self.platforms[0].manifest_type),
        }
    }

    /// The target's digest.
    pub fn target_digest(&self) -> String {
        digest(self.target().0)
    }

    /// Every blob and manifest, index last.
    fn contents(&self) -> Vec<(Vec<u8>, Option<&'static str>)> {
        let mut out = Vec::new();
        for p in &self.platforms {
            for l in &p.layers {
                out.push((l.bytes.clone(), None));
            }
            out.push((p.config.clone(), None));
            out.push((p.manifest.clone(), Some(p.manifest_type)));
        }
        if let Some((bytes, media_type)) = &self.index {
            out.push((bytes.clone(), Some(*media_type)));
        }
        out
    }

    /// Writes the image into the layout at `path` (new or existing) under `name`.
    pub fn write_layout(&self, path: &std::path::Path, name: &str) {
        let mut w = LayoutWriter::open(path).unwrap();
        for (bytes, _) in self.contents() {
            w.write_blob(&digest(&bytes), &bytes).unwrap();
        }
        let (bytes, media_type) = self.target();
        w.name(
            json!({"mediaType": media_type, "digest": digest(bytes), "size": bytes.len()}),
            name,
        );
        w.commit().unwrap();
    }

    /// Pushes the image to `repository` and tags it.
    pub async fn push(&self, client: &RegistryClient, repository: &str, tag: &str) {
        for (bytes, media_type) in self.contents() {
            let d = digest(&bytes);
            match media_type {
                None => client
                    .push_blob(repository, &d, Bytes::from(bytes), None)
                    .await
                    .unwrap(),
                Some(media_type) => {
                    client
                        .put_manifest(repository, &d, Bytes::from(bytes), media_type)
                        .await
                        .unwrap();
                }
            }
        }
        let (bytes, media_type) = self.target();
        client
            .put_manifest(repository, tag, Bytes::copy_from_slice(bytes), media_type)
            .await
            .unwrap();
    }
}
