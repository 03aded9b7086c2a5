//! Shared by the integration tests: the generator's configuration and invocation against a test
//! registry, moto's API, test images pushed with the registry client, ECR push events, and the
//! functions' logs captured. The registries and moto's server come from `soci_registry::testing`:
//! tests that need `docker-registry` or `moto_server` are ignored unless `--include-ignored`,
//! as `.ci/run` runs them.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{Value, json};
use soci_lambda::{GeneratorConfig, IndexVersion, Invocation};
use soci_registry::RegistryClient;
use soci_registry::testing::TestRegistry;

pub const ACCOUNT: &str = "123456789012";

/// Gives the AWS SDK static credentials for moto (no profile), as the only test of a binary
/// must, before anything reads the environment: setting it takes `unsafe` since edition 2024.
pub fn use_aws_credentials(access_key: &str, secret_key: &str, session_token: Option<&str>) {
    // SAFETY: called first by the only test of its binary, before any thread reads the
    // environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", access_key);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", secret_key);
        match session_token {
            Some(token) => std::env::set_var("AWS_SESSION_TOKEN", token),
            None => std::env::remove_var("AWS_SESSION_TOKEN"),
        }
        std::env::remove_var("AWS_PROFILE");
    }
}
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const SOCI_INDEX_V2: &str = "application/vnd.amazon.soci.index.v2+json";

/// Layers this size and up get a zTOC in these tests (the template's 10 MiB would make slow
/// tests).
pub const MIN_LAYER_SIZE: u64 = 100_000;

/// The request id of [`invocation`], logged with every line and written in the metrics.
pub const REQUEST_ID: &str = "7a1b2c3d-request";

/// The generator's configuration building `version` in the test registry at `registry`
/// (plain HTTP, anonymous), with [`MIN_LAYER_SIZE`] and two layers at once.
pub fn config(registry: &str, version: IndexVersion) -> GeneratorConfig {
    let mut config = GeneratorConfig {
        index_version: version,
        registry_endpoint: Some(registry.to_owned()),
        plain_http: true,
        ..GeneratorConfig::default()
    };
    config.build.min_layer_size = MIN_LAYER_SIZE;
    config.build.concurrency = 2;
    config
}

/// An invocation with `time_left` before its deadline.
pub fn invocation(time_left: Duration) -> Invocation {
    Invocation {
        request_id: REQUEST_ID.to_owned(),
        deadline: SystemTime::now() + time_left,
    }
}

/// An invocation with all the time a test needs.
pub fn plenty() -> Invocation {
    invocation(Duration::from_secs(600))
}

/// A bare HTTP/1.1 POST to moto (its own API and the IAM query API need no AWS client);
/// returns the status and body.
pub fn moto_post(
    endpoint: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let authority = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A gzipped tar of one file of `size` pseudo-random bytes (incompressible, so the blob is a
/// little over `size`), different per `seed`.
pub fn gzip_layer(seed: u32, size: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let data: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as u8
        })
        .collect();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    tar.append_data(&mut header, format!("data/file-{seed}.bin"), &data[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// One platform's manifest, config and layers.
pub struct Platform {
    pub architecture: &'static str,
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
    pub manifest: Vec<u8>,
}

impl Platform {
    pub fn new(architecture: &'static str, layers: Vec<Vec<u8>>) -> Platform {
        Self::with_config_type(architecture, layers, OCI_CONFIG)
    }

    pub fn with_config_type(
        architecture: &'static str,
        layers: Vec<Vec<u8>>,
        config_type: &str,
    ) -> Platform {
        let config = serde_json::to_vec(&json!({
            "architecture": architecture,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": digest(&config), "size": config.len()},
            "layers": layers.iter().map(|l| json!({
                "mediaType": OCI_GZIP, "digest": digest(l), "size": l.len()
            })).collect::<Vec<_>>(),
        }))
        .unwrap();
        Platform {
            architecture,
            config,
            layers,
            manifest,
        }
    }

    pub fn digest(&self) -> String {
        digest(&self.manifest)
    }
}

/// An image index of `platforms`; its bytes.
pub fn index_of(platforms: &[Platform]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": platforms.iter().map(|p| json!({
            "mediaType": OCI_MANIFEST,
            "digest": p.digest(),
            "size": p.manifest.len(),
            "platform": {"architecture": p.architecture, "os": "linux"},
        })).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Pushes the platforms' blobs and manifests (by digest).
pub async fn push_platforms(client: &RegistryClient, repository: &str, platforms: &[Platform]) {
    for platform in platforms {
        for blob in platform.layers.iter().chain([&platform.config]) {
            client
                .push_blob(repository, &digest(blob), Bytes::from(blob.clone()), None)
                .await
                .unwrap();
        }
        client
            .put_manifest(
                repository,
                &platform.digest(),
                Bytes::from(platform.manifest.clone()),
                OCI_MANIFEST,
            )
            .await
            .unwrap();
    }
}

/// Pushes a multi-platform image and tags its index; returns the index digest.
pub async fn push_index(
    client: &RegistryClient,
    repository: &str,
    tag: &str,
    platforms: &[Platform],
) -> String {
    push_platforms(client, repository, platforms).await;
    let index = index_of(platforms);
    client
        .put_manifest(repository, tag, Bytes::from(index), OCI_INDEX)
        .await
        .unwrap()
}

/// What a V2 conversion writes: its zTOC blobs and its manifests (SOCI indexes, the
/// SOCI-enabled image index). The SOCI indexes' config is left out: it is OCI's empty JSON
/// blob, which registries may hold in every repository.
pub struct Writes {
    pub ztocs: Vec<String>,
    pub manifests: Vec<String>,
}

/// What the generator's V2 conversion of `platforms` pushed as `tag` writes, learnt by running
/// it against a registry of its own with [`config`]: zTOCs and indexes depend only on the
/// image and the build settings, so these are the digests any registry would be sent.
pub async fn conversion_writes(platforms: &[Platform], tag: &str) -> Writes {
    let registry = TestRegistry::start();
    let client = registry.client();
    let image = push_index(&client, "twin", tag, platforms).await;
    let event = push_event("twin", &image, Some(tag));
    let config = config(&registry.addr, IndexVersion::V2);
    let result = soci_lambda::generator::handle(&event, &config, &plenty()).await;
    assert_eq!(result.unwrap(), soci_lambda::generator::SUCCESS);
    let json = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap();
    let converted = client
        .get_manifest("twin", &format!("{tag}-soci"))
        .await
        .unwrap();
    let mut manifests = vec![digest(&converted.bytes)];
    let mut ztocs = Vec::new();
    for entry in json(&converted.bytes)["manifests"].as_array().unwrap() {
        if entry["artifactType"] != SOCI_INDEX_V2 {
            continue;
        }
        let soci_index = entry["digest"].as_str().unwrap();
        manifests.push(soci_index.to_owned());
        let soci_index = json(&client.get_manifest("twin", soci_index).await.unwrap().bytes);
        for ztoc in soci_index["layers"].as_array().unwrap() {
            ztocs.push(ztoc["digest"].as_str().unwrap().to_owned());
        }
    }
    assert!(manifests.len() > 1 && !ztocs.is_empty());
    Writes { ztocs, manifests }
}

/// Asserts that `repository` holds none of `writes`, and no manifest tagged `output_tag`.
pub async fn assert_nothing_written(
    client: &RegistryClient,
    repository: &str,
    writes: &Writes,
    output_tag: &str,
) {
    for ztoc in &writes.ztocs {
        let pushed = client.blob_exists(repository, ztoc).await.unwrap();
        assert!(!pushed, "zTOC {ztoc} was pushed");
    }
    for manifest in &writes.manifests {
        let pushed = client.manifest_digest(repository, manifest).await.unwrap();
        assert_eq!(pushed, None, "manifest {manifest} was pushed");
    }
    let tagged = client.manifest_digest(repository, output_tag).await;
    assert!(!matches!(tagged, Ok(Some(_))), "{output_tag} was tagged");
}

/// An ECR push event of `repository@digest` with `tag` (`None`: untagged) in us-west-2.
pub fn push_event(repository: &str, digest: &str, tag: Option<&str>) -> Value {
    let mut detail = json!({
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
    });
    if let Some(tag) = tag {
        detail["image-tag"] = json!(tag);
    }
    json!({
        "version": "0",
        "id": "13cde686-328b-6117-af20-0e5566167482",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": "us-west-2",
        "resources": [],
        "detail": detail,
    })
}

/// A sample event of `soci-filter/tests/events/`.
pub fn sample_event(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../soci-filter/tests/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A test's log output, in memory: what the functions' JSON subscriber writes.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// The functions' subscriber at `filter` (a `RUST_LOG` value), writing here.
    pub fn subscriber(&self, filter: &str) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = self.clone();
        soci_lambda::logging::subscriber(tracing_subscriber::EnvFilter::new(filter), move || {
            sink.clone()
        })
    }

    /// Everything written.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines written, each a JSON object.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// The `message` of each line.
    pub fn messages(&self) -> Vec<String> {
        let message = |line: Value| line["message"].as_str().unwrap().to_owned();
        self.lines().into_iter().map(message).collect()
    }
}
