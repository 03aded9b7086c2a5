//! OCI layouts interoperate with skopeo: a layout written here is one skopeo can push, and a
//! layout skopeo writes is one this crate reads; converted layouts and archives are images to
//! skopeo. These need skopeo (and Debian's docker-registry), so they run with
//! `--include-ignored`, as CI does.

use std::io::Write;
use std::process::Command;

use bytes::Bytes;
use serde_json::json;
use soci_registry::testing::Implementation;
use soci_registry::testing::images::{Layer, PlatformImage, TestImage};
use soci_registry::{
    BuildConfig, ClientOptions, Connection, ImageRef, LayoutWriter, OciLayout, RegistryClient,
};

fn digest(b: &[u8]) -> String {
    soci_ztoc::sha256_digest(b)
}

/// Runs skopeo, expects success, returns its stdout.
fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(["--insecure-policy"])
        .args(args)
        .output()
        .expect("skopeo is needed: apt-get install skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
#[ignore = "needs skopeo and docker-registry (apt-get install skopeo docker-registry)"]
async fn layouts_round_trip_through_skopeo_and_a_registry() {
    let registry = Implementation::Distribution.start();
    let dir = tempfile::tempdir().unwrap();

    // A one-layer image written with LayoutWriter.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    tar.append_data(&mut h, "etc/motd", &b"hello\n"[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let layer = gz.finish().unwrap();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [digest(&tar)]}
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(&layer), "size": layer.len()}]
    }))
    .unwrap();
    let ours = dir.path().join("ours");
    let mut w = LayoutWriter::open(&ours).unwrap();
    for blob in [&layer, &config, &manifest] {
        w.write_blob(&digest(blob), blob).unwrap();
    }
    w.name(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&manifest), "size": manifest.len()}), "v1");
    w.commit().unwrap();

    // skopeo pushes our layout; the registry serves the same manifest bytes.
    let remote = format!("docker://{}/t/img:v1", registry.addr);
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", ours.display()),
        &remote,
    ]);
    let client = RegistryClient::new(&registry.addr, {
        let mut options = ClientOptions::default();
        options.plain_http = true;
        options
    })
    .unwrap();
    let pushed = client.get_manifest("t/img", "v1").await.unwrap();
    assert_eq!(pushed.bytes, Bytes::from(manifest.clone()));

    // skopeo pulls into a layout of its own; we read it.
    let theirs = dir.path().join("theirs");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &remote,
        &format!("oci:{}:pulled", theirs.display()),
    ]);
    let layout = OciLayout::open(&theirs).unwrap();
    let entry = layout.resolve(Some("pulled")).unwrap();
    assert_eq!(entry.digest, digest(&manifest));
    assert_eq!(
        layout.read_blob(&digest(&layer), 1 << 20).unwrap(),
        Bytes::from(layer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs skopeo (apt-get install skopeo)"]
async fn skopeo_reads_converted_layouts_and_archives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let image = TestImage::single(PlatformImage::new(
        false,
        "arm64",
        vec![Layer::gzip(7, 10, 50_000), Layer::gzip(8, 1, 100)],
    ));
    image.write_layout(&path, "v1");
    let connection = Connection::default();
    let source: ImageRef = format!("oci:{}:v1", path.display()).parse().unwrap();
    let opened = connection.image(&source).await.unwrap();
    let mut config = BuildConfig::default();
    config.span_size = soci_registry::SpanSize::checked(65536, true).unwrap();
    config.min_layer_size = 100_000;
    let layout = format!("oci:{}:v1-soci", dir.path().join("out").display());
    let archive = format!(
        "oci-archive:{}:v1-soci",
        dir.path().join("out.tar").display()
    );
    for target in [layout, archive] {
        let target: ImageRef = target.parse().unwrap();
        let (destination, _) = connection.destination(&target).await.unwrap();
        let report = soci_registry::convert(&opened, &destination, &tag("v1-soci"), &config, None)
            .await
            .unwrap();
        drop(destination);
        let raw = skopeo(&["inspect", "--raw", &target.to_string()]);
        assert_eq!(digest(&raw), report.image_index.unwrap().digest, "{target}");
    }
}

fn tag(tag: &str) -> soci_registry::Tag {
    tag.parse().unwrap()
}
