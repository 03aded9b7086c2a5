//! Test support for crates built on this one (feature `testing`): a real OCI registry on
//! loopback, moto's server standing in for AWS APIs, and test images made of real tar and gzip
//! layers. Nothing is installed here: `docker-registry` (Debian's package), `htpasswd`
//! (apache2-utils) and `moto_server` (`pip install 'moto[server]'`) must be on `PATH`.
//!
//! Test code: it panics on anything unexpected, which is what a test wants.

pub mod images;

use std::net::TcpListener;
use std::sync::Arc;

use crate::client::{ClientOptions, Credentials, RegistryClient};
use crate::destination::Destination;
use crate::source::Source;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `docker-registry serve` on `127.0.0.1`, on a port of its choosing, with its storage in a
/// temporary directory; killed and removed when dropped.
pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    /// A registry anyone may read and write.
    pub fn start() -> TestRegistry {
        Self::spawn(None)
    }

    /// A registry behind HTTP basic authentication with one user.
    pub fn start_with_user(user: &str, password: &str) -> TestRegistry {
        Self::spawn(Some((user, password)))
    }

    fn spawn(user: Option<(&str, &str)>) -> TestRegistry {
        let dir = tempfile::tempdir().unwrap();
        let mut auth = String::new();
        if let Some((user, password)) = user {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (apache2-utils) is needed for auth tests");
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
            child,
            addr,
            _dir: dir,
        }
    }
}

impl TestRegistry {
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
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
