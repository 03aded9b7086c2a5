//! Pushes the generator cannot index end as skips with a reason, logged once, rather than as
//! errors Lambda retries twice and then sends to the failure queue: Docker schema 1 manifests,
//! OCI artifact manifests and other non-image manifests, and manifests that are gone. A stub
//! registry (`stub`) serves exactly the manifest each test needs, which no real registry would
//! accept as a push any more.

mod common;
mod stub;

use common::{Logs, config, plenty, push_event};
use serde_json::{Value, json};
use sha2::Digest;
use soci_lambda::generator::{self, MANIFEST_NOT_FOUND, NOT_AN_IMAGE};
use soci_lambda::{GeneratorConfig, GeneratorError, IndexVersion};
use stub::{Reply, Request, Stub};

fn digest(bytes: &[u8]) -> String {
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A registry holding one manifest, served with `media_type` as its `Content-Type`; every
/// other request is a 404 `MANIFEST_UNKNOWN`.
fn registry_with(repository: &str, manifest: &[u8], media_type: &str) -> (Stub, String) {
    let digest = digest(manifest);
    let path = format!("/v2/{repository}/manifests/{digest}");
    let (manifest, media_type) = (manifest.to_vec(), media_type.to_owned());
    let stub = Stub::start(move |request: &Request| {
        if request.path == path {
            Reply::new(200)
                .header("Content-Type", &media_type)
                .body(manifest.clone())
        } else {
            unknown()
        }
    });
    (stub, digest)
}

fn unknown() -> Reply {
    Reply::new(404)
        .header("Content-Type", "application/json")
        .body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
}

/// Runs the generator on `event` with its logs captured.
async fn run(
    event: &Value,
    config: &GeneratorConfig,
) -> (Result<String, GeneratorError>, Vec<Value>) {
    let logs = Logs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber("info"));
    let result = generator::handle(event, config, &plenty()).await;
    drop(guard);
    (result, logs.lines())
}

/// The one skip line of a run: a warning with `outcome` `skipped`, the result as its message
/// and a reason.
fn skip_line<'a>(lines: &'a [Value], result: &str) -> &'a Value {
    let skips: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "skipped").collect();
    assert_eq!(skips.len(), 1, "{lines:#?}");
    let line = skips[0];
    assert_eq!(line["message"], result, "{lines:#?}");
    assert_eq!(line["level"], "WARN", "{lines:#?}");
    assert!(line["reason"].is_string(), "{lines:#?}");
    // The result is not logged a second time as a line of its own.
    let with_result = lines.iter().filter(|l| l["message"] == result).count();
    assert_eq!(with_result, 1, "{lines:#?}");
    line
}

#[tokio::test]
async fn docker_schema1_manifests_are_skipped_with_a_reason() {
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 1,
        "name": "legacy/app",
        "tag": "old",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": digest(b"layer")}],
        "history": [{"v1Compatibility": "{}"}],
        "signatures": [],
    }))
    .unwrap();
    let (registry, digest) = registry_with(
        "legacy/app",
        &manifest,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    );
    for version in [IndexVersion::V2, IndexVersion::V1] {
        let event = push_event("legacy/app", &digest, Some("old"));
        let (result, lines) = run(&event, &config(&registry.addr, version)).await;
        assert_eq!(result.unwrap(), NOT_AN_IMAGE, "{version}");
        let line = skip_line(&lines, NOT_AN_IMAGE);
        assert!(
            line["reason"].as_str().unwrap().contains("schema 1"),
            "{line:#}"
        );
    }
}

#[tokio::test]
async fn oci_artifact_manifests_are_skipped_with_a_reason() {
    let media_type = "application/vnd.oci.artifact.manifest.v1+json";
    let manifest = serde_json::to_vec(&json!({
        "mediaType": media_type,
        "artifactType": "application/vnd.example.sbom.v1+json",
        "blobs": [],
    }))
    .unwrap();
    let (registry, digest) = registry_with("app", &manifest, media_type);
    let event = push_event("app", &digest, Some("sbom"));
    let (result, lines) = run(&event, &config(&registry.addr, IndexVersion::V2)).await;
    assert_eq!(result.unwrap(), NOT_AN_IMAGE);
    let line = skip_line(&lines, NOT_AN_IMAGE);
    assert!(
        line["reason"].as_str().unwrap().contains("OCI artifact"),
        "{line:#}"
    );
}

#[tokio::test]
async fn other_manifest_types_are_skipped_with_a_reason() {
    let media_type = "application/vnd.example.bundle.v1+json";
    let manifest = br#"{"mediaType":"application/vnd.example.bundle.v1+json"}"#;
    let (registry, digest) = registry_with("app", manifest, media_type);
    let event = push_event("app", &digest, Some("bundle"));
    let (result, lines) = run(&event, &config(&registry.addr, IndexVersion::V1)).await;
    assert_eq!(result.unwrap(), NOT_AN_IMAGE);
    let line = skip_line(&lines, NOT_AN_IMAGE);
    assert!(
        line["reason"].as_str().unwrap().contains(media_type),
        "{line:#}"
    );
}

#[tokio::test]
async fn a_manifest_that_is_gone_is_skipped_not_retried() {
    let registry = Stub::start(|_: &Request| unknown());
    let event = push_event("app", &digest(b"deleted"), Some("v1"));
    let (result, lines) = run(&event, &config(&registry.addr, IndexVersion::V2)).await;
    assert_eq!(result.unwrap(), MANIFEST_NOT_FOUND);
    let line = skip_line(&lines, MANIFEST_NOT_FOUND);
    assert!(
        line["reason"].as_str().unwrap().contains("no manifest"),
        "{line:#}"
    );
}

#[tokio::test]
async fn other_unreadable_manifests_stay_errors() {
    // An image index too large to read (registries refuse manifests over 4 MiB): not a question
    // of its type, so it is not skipped as one.
    let media_type = "application/vnd.oci.image.index.v1+json";
    let mut manifest =
        br#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"x":""#.to_vec();
    manifest.resize(manifest.len() + (4 << 20), b' ');
    manifest.extend_from_slice(br#""}"#);
    let (registry, digest) = registry_with("big", &manifest, media_type);
    let event = push_event("big", &digest, Some("v1"));
    let (result, _) = run(&event, &config(&registry.addr, IndexVersion::V2)).await;
    let error = result.unwrap_err();
    assert!(matches!(error, GeneratorError::Pull(_)), "{error}");
}

#[tokio::test]
async fn the_skip_of_the_builders_own_push_is_logged_once() {
    // Nothing listens there: these skips happen before any request.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("127.0.0.1:{port}");
    for (tag, version) in [
        (Some("v1-soci"), IndexVersion::V2),
        (Some("v1-soci"), IndexVersion::V1),
        (None, IndexVersion::V2),
    ] {
        let event = push_event("app", &digest(b"x"), tag);
        let (result, lines) = run(&event, &config(&closed, version)).await;
        let result = result.unwrap();
        let skips: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with("Skip")))
            .collect();
        assert_eq!(skips.len(), 1, "{tag:?} {version}: {lines:#?}");
        assert_eq!(skips[0]["message"], result.as_str());
        assert_eq!(skips[0]["outcome"], "skipped");
        assert_eq!(skips[0]["level"], "INFO");
    }
}
