//! Registry authentication: the credentials a user has, and the challenge flow that turns them
//! into an `Authorization` header (Basic directly, or a Bearer token from the registry's token
//! service, anonymous or with those credentials).

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::RegistryError;

/// What a client authenticates with.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No credentials: public images, or registries that need none.
    #[default]
    Anonymous,
    /// A user name and password (or token used as a password, as ECR's are).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
        /// Where they came from, for error messages (`--username`, `docker config`, `ECR`…).
        source: String,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token service.
    IdentityToken {
        /// The refresh token.
        token: String,
        /// Where it came from.
        source: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Credentials {
    /// User name and password given directly.
    pub fn basic(username: impl Into<String>, password: impl Into<String>, source: &str) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
            source: source.to_owned(),
        }
    }

    /// Where these credentials came from, without secrets.
    pub fn describe(&self) -> String {
        match self {
            Credentials::Anonymous => "none (anonymous)".into(),
            Credentials::Basic {
                username, source, ..
            } => format!("user {username:?} from {source}"),
            Credentials::IdentityToken { source, .. } => format!("identity token from {source}"),
        }
    }

    /// Credentials for `registry` from docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`): `credHelpers` for the registry, else `auths` entries, else the
    /// `credsStore` helper. Anonymous when nothing applies or there is no config.
    pub fn from_docker_config(registry: &str) -> Result<Credentials, RegistryError> {
        let Some(path) = docker_config_path() else {
            return Ok(Credentials::Anonymous);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Credentials::Anonymous);
            }
            Err(source) => {
                return Err(RegistryError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| RegistryError::Protocol {
                context: path.display().to_string(),
                message: format!("not valid JSON: {e}"),
            })?;
        let source = format!("{}", path.display());
        let keys = config_keys(registry);
        if let Some(helper) = keys.iter().find_map(|k| config["credHelpers"][k].as_str()) {
            return credential_helper(helper, registry);
        }
        for key in &keys {
            let entry = &config["auths"][key];
            if let Some(token) = entry["identitytoken"].as_str().filter(|t| !t.is_empty()) {
                return Ok(Credentials::IdentityToken {
                    token: token.to_owned(),
                    source,
                });
            }
            if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
                let decoded = STANDARD
                    .decode(auth)
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok());
                let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                    return Err(RegistryError::Protocol {
                        context: source,
                        message: format!("the auth entry for {key} is not base64 of user:password"),
                    });
                };
                return Ok(Credentials::basic(user, pass, &source));
            }
        }
        match config["credsStore"].as_str() {
            Some(helper) if !helper.is_empty() => credential_helper(helper, registry),
            _ => Ok(Credentials::Anonymous),
        }
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The keys a registry may appear under in `config.json`.
fn config_keys(registry: &str) -> Vec<String> {
    let mut keys = vec![
        registry.to_owned(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if registry == crate::DOCKER_HUB {
        keys.push("https://index.docker.io/v1/".to_owned());
        keys.push("index.docker.io".to_owned());
    }
    keys
}

/// Runs `docker-credential-<helper> get` with the registry on stdin.
fn credential_helper(helper: &str, registry: &str) -> Result<Credentials, RegistryError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{helper}");
    let failed = |message: String| RegistryError::Auth {
        registry: registry.to_owned(),
        reason: message,
        tried: format!("credential helper {program}"),
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        // Helpers report a registry they hold nothing for as an error; that is anonymous access.
        if stderr.contains("credentials not found") {
            return Ok(Credentials::Anonymous);
        }
        return Err(failed(format!("{program} failed: {stderr}")));
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| failed(format!("unreadable answer: {e}")))?;
    let (Some(user), Some(secret)) = (answer["Username"].as_str(), answer["Secret"].as_str())
    else {
        return Err(failed("answer without Username and Secret".into()));
    };
    let source = format!("credential helper {program}");
    Ok(if user == "<token>" {
        Credentials::IdentityToken {
            token: secret.to_owned(),
            source,
        }
    } else {
        Credentials::basic(user, secret, &source)
    })
}

/// A parsed `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Challenge {
    /// Parses `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
    pub(crate) fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => {
                let params = auth_params(params);
                let get = |k: &str| {
                    params
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                };
                Some(Challenge::Bearer {
                    realm: get("realm")?,
                    service: get("service"),
                })
            }
            _ => None,
        }
    }
}

/// `name="quoted, value",name2=token` pairs.
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim().trim_start_matches(',').trim().to_owned();
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        params.push((name, value));
        rest = rest.trim_start().trim_start_matches(',');
    }
    params
}

/// `application/x-www-form-urlencoded` / query-string escaping.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The header value of HTTP Basic authentication.
pub(crate) fn basic_header(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="test-realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse(r#"bearer realm="https://x/t?a=1,2", service=svc"#),
            Some(Challenge::Bearer {
                realm: "https://x/t?a=1,2".into(),
                service: Some("svc".into())
            })
        );
        assert_eq!(Challenge::parse("Bearer service=x"), None);
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn encoding() {
        assert_eq!(
            url_encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(
            basic_header("testuser", "testpass"),
            "Basic dGVzdHVzZXI6dGVzdHBhc3M="
        );
    }

    #[test]
    fn docker_config_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dGVzdHVzZXI6dGVzdHBhc3M="},"https://tok.example":{"identitytoken":"rt"}}}"#,
        )
        .unwrap();
        // SAFETY: this test is the only one in the crate that touches the environment.
        unsafe { std::env::set_var("DOCKER_CONFIG", dir.path()) };
        match Credentials::from_docker_config("127.0.0.1:5000").unwrap() {
            Credentials::Basic {
                username, password, ..
            } => assert_eq!(
                (username.as_str(), password.as_str()),
                ("testuser", "testpass")
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Credentials::from_docker_config("tok.example").unwrap(),
            Credentials::IdentityToken { .. }
        ));
        assert!(matches!(
            Credentials::from_docker_config("other.example").unwrap(),
            Credentials::Anonymous
        ));
    }
}
