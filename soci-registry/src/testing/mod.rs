//! Test support for crates built on this one (feature `testing`): real OCI registries on
//! loopback, moto's server standing in for AWS APIs, and test images made of real tar and gzip
//! layers.
//!
//! Two registries, both real implementations of the distribution API:
//!
//! * [`Implementation::InProcess`] is `ferro-oci-server`, served from a thread of the test
//!   process. It needs nothing installed, so `cargo test` alone runs every registry test against
//!   it. It has the referrers API, and it answers `Range` requests with the whole blob.
//! * [`Implementation::Distribution`] is Debian's `docker-registry` (distribution 2.8, the
//!   registry most people run): no referrers API, ranges honoured. It must be on `PATH`, so
//!   the tests that use it are `#[ignore]`d and CI runs them (`.ci/run`).
//!
//! [`on_both_registries!`](crate::on_both_registries) runs a test written once on both.
//!
//! Test code: it panics on anything unexpected, naming what to install when a tool is missing.

pub mod images;
mod in_process;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::client::{ClientOptions, Credentials, RegistryClient};
use crate::destination::Destination;
use crate::layout::OciLayout;
use crate::source::Source;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which registry a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// `ferro-oci-server` in this process: nothing to install.
    InProcess,
    /// Debian's `docker-registry` (distribution 2.8), started as a child process.
    Distribution,
}

impl Implementation {
    /// A registry anyone may read and write.
    pub fn start(self) -> TestRegistry {
        self.spawn(None)
    }

    /// A registry behind HTTP basic authentication with one user.
    pub fn start_with_user(self, user: &str, password: &str) -> TestRegistry {
        self.spawn(Some((user, password)))
    }

    fn spawn(self, user: Option<(&str, &str)>) -> TestRegistry {
        match self {
            Implementation::InProcess => in_process::serve(user),
            Implementation::Distribution => spawn_distribution(user),
        }
    }
}

/// A registry on `127.0.0.1`, on a port of its choosing, with its storage gone when dropped.
pub struct TestRegistry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Which registry it is.
    pub implementation: Implementation,
    server: Server,
}

enum Server {
    InProcess(in_process::Handle),
    Distribution {
        child: Child,
        _dir: tempfile::TempDir,
    },
}

impl TestRegistry {
    /// An in-process registry anyone may read and write.
    pub fn start() -> TestRegistry {
        Implementation::InProcess.start()
    }

    /// An in-process registry behind HTTP basic authentication with one user.
    pub fn start_with_user(user: &str, password: &str) -> TestRegistry {
        Implementation::InProcess.start_with_user(user, password)
    }

    /// An anonymous plain-HTTP client of this registry.
    pub fn client(&self) -> Arc<RegistryClient> {
        self.client_as(Credentials::Anonymous)
    }

    /// A plain-HTTP client of this registry with `credentials`.
    pub fn client_as(&self, credentials: Credentials) -> Arc<RegistryClient> {
        let options = ClientOptions {
            plain_http: true,
            credentials,
            ..ClientOptions::default()
        };
        Arc::new(RegistryClient::new(&self.addr, options).unwrap())
    }

    /// `repository` of this registry as a source and as a destination.
    pub fn repository(&self, repository: &str) -> (Source, Destination) {
        let client = self.client();
        (
            Source::Registry {
                client: client.clone(),
                repository: repository.into(),
            },
            Destination::Registry {
                client,
                repository: repository.into(),
            },
        )
    }

    /// Pushes the image named `name` in the OCI layout at `layout` to `repository:tag`, children
    /// before their parents, as `credentials`: how tests put an image made on disk (say by
    /// `socix sample-image`) into a registry without any other tool. Blocks: call it outside a
    /// runtime.
    pub fn push_layout(
        &self,
        layout: &Path,
        name: &str,
        repository: &str,
        tag: &str,
        credentials: Credentials,
    ) {
        let layout = OciLayout::open(layout).unwrap();
        let entry = layout.resolve(Some(name)).unwrap();
        let client = self.client_as(credentials);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let descriptor = serde_json::json!({
                "mediaType": entry.media_type, "digest": entry.digest, "size": entry.size
            });
            let top = push_manifest(&client, &layout, repository, &descriptor).await;
            client
                .put_manifest(repository, tag, top, &entry.media_type)
                .await
                .unwrap();
        });
    }
}

/// Pushes the manifest `descriptor` names and everything under it; returns its bytes.
async fn push_manifest(
    client: &RegistryClient,
    layout: &OciLayout,
    repository: &str,
    descriptor: &Value,
) -> Bytes {
    let digest = descriptor["digest"].as_str().unwrap();
    let bytes = layout.read_blob(digest, 4 << 20).unwrap();
    let document: Value = serde_json::from_slice(&bytes).unwrap();
    for child in document["manifests"].as_array().into_iter().flatten() {
        Box::pin(push_manifest(client, layout, repository, child)).await;
    }
    let blobs = document["layers"].as_array().into_iter().flatten();
    for blob in blobs.chain(document.get("config")) {
        let digest = blob["digest"].as_str().unwrap();
        let size = blob["size"].as_u64().unwrap();
        let data = layout.read_blob(digest, size).unwrap();
        client
            .push_blob(repository, digest, data, None)
            .await
            .unwrap();
    }
    let media_type = descriptor["mediaType"].as_str().unwrap();
    client
        .put_manifest(repository, digest, bytes.clone(), media_type)
        .await
        .unwrap();
    bytes
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        match &mut self.server {
            Server::InProcess(handle) => handle.stop(),
            Server::Distribution { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A `docker-registry serve` with its storage in a temporary directory.
fn spawn_distribution(user: Option<(&str, &str)>) -> TestRegistry {
    let dir = tempfile::tempdir().unwrap();
    let mut auth = String::new();
    if let Some((user, password)) = user {
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd is needed: apt-get install apache2-utils");
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, out.stdout).unwrap();
        auth = format!(
            "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
            htpasswd.display()
        );
    }
    let config = format!(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-only\n{auth}",
        dir.path().join("data").display()
    );
    let config_path = dir.path().join("config.yml");
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker-registry is needed: apt-get install docker-registry");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
        let addr = lines.by_ref().find_map(|line| {
            let i = line.find("listening on ")?;
            Some(
                line[i + 13..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect::<String>(),
            )
        });
        if let Some(addr) = addr {
            let _ = tx.send(addr);
        }
        // Keep draining so the registry never blocks on a full pipe.
        lines.for_each(drop);
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        if let Ok(addr) = rx.recv_timeout(Duration::from_millis(100)) {
            break addr;
        }
        assert!(Instant::now() < deadline, "docker-registry did not start");
    };
    TestRegistry {
        addr,
        implementation: Implementation::Distribution,
        server: Server::Distribution { child, _dir: dir },
    }
}

/// Runs each named test against both registries: the test is a function taking an
/// [`Implementation`]; the macro adds a module of the same name holding `in_process`, which
/// `cargo test` runs, and `distribution`, ignored unless `--include-ignored` (it needs Debian's
/// `docker-registry`). `async` before the names when the tests are async (tokio's test runtime).
///
/// ```no_run
/// use soci_registry::testing::Implementation;
///
/// async fn blobs_round_trip(registry: Implementation) {
///     let registry = registry.start();
///     assert!(registry.client().blob_exists("app", "sha256:0").await.is_err());
/// }
///
/// soci_registry::on_both_registries!(async blobs_round_trip);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! on_both_registries {
    (async $($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn in_process() {
                super::$name($crate::testing::Implementation::InProcess).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs docker-registry (apt-get install docker-registry)"]
            async fn distribution() {
                super::$name($crate::testing::Implementation::Distribution).await
            }
        }
    )+};
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn in_process() {
                super::$name($crate::testing::Implementation::InProcess)
            }

            #[test]
            #[ignore = "needs docker-registry (apt-get install docker-registry)"]
            fn distribution() {
                super::$name($crate::testing::Implementation::Distribution)
            }
        }
    )+};
}

/// `moto_server` on a free loopback port, killed when dropped.
pub struct Moto {
    child: Child,
    /// Its endpoint URL (`http://127.0.0.1:PORT`).
    pub endpoint: String,
}

/// A port on loopback that nothing listens on (for "unreachable" tests).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts moto's server and waits until it listens.
    pub fn start() -> Moto {
        let port = closed_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is needed: pip install 'moto[server]'");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
