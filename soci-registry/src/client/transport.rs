//! Sending requests: authentication (Basic, or a Bearer token for the request's scope, cached),
//! retries of failed requests within the client's policy, one log line per request, and the
//! helpers that turn a response into bytes or into the registry's error.

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::Duration;

use super::auth::{Challenge, Credentials, basic_header, url_encode};
use super::retry::retriable_status;
use super::{RegistryClient, Scope};
use crate::error::RegistryError;

impl RegistryClient {
    /// Sends a request with authentication and retries; returns the final response, whatever its
    /// status (callers decide which statuses they expect). Redirects are followed (the HTTP
    /// client drops `Authorization` when one leads to another host).
    pub(super) async fn send(
        &self,
        method: Method,
        url: &str,
        scope: &Scope,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<Response, RegistryError> {
        self.send_via(&self.http, method, url, Some(scope), build)
            .await
    }

    /// [`send`](Self::send) through `http`, authenticated for `scope` when there is one: without
    /// one, nothing of the registry's credentials goes with the request (a redirect target's
    /// pre-signed URL is its own authorization) and a 401 is returned like any status.
    pub(super) async fn send_via(
        &self,
        http: &reqwest::Client,
        method: Method,
        url: &str,
        scope: Option<&Scope>,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<Response, RegistryError> {
        let mut failures = 0;
        let mut authenticated = false;
        loop {
            let mut request = build(http.request(method.clone(), url));
            if let Some(header) = scope.and_then(|scope| self.cached_auth(scope)) {
                request = request.header(AUTHORIZATION, header);
            }
            let started = std::time::Instant::now();
            let outcome = request.send().await;
            log_request(&method, url, &outcome, started.elapsed());
            let retry = match outcome {
                Err(e) => {
                    if e.is_builder() || failures + 1 >= self.options.retry.attempts {
                        return Err(transport_error(method.as_str(), url, e));
                    }
                    true
                }
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                    let Some(scope) = scope else {
                        return Ok(response);
                    };
                    if authenticated {
                        let reason = error_message(response).await.1;
                        return Err(RegistryError::Auth {
                            registry: self.registry.clone(),
                            reason: format!("{method} {url} was refused: {reason}"),
                            tried: self.options.credentials.describe(),
                        });
                    }
                    let challenge = response
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Challenge::parse);
                    self.authenticate(challenge, scope).await?;
                    authenticated = true;
                    false
                }
                Ok(response)
                    if retriable_status(response.status().as_u16())
                        && failures + 1 < self.options.retry.attempts =>
                {
                    true
                }
                Ok(response) => return Ok(response),
            };
            if retry {
                failures += 1;
                tokio::time::sleep(self.options.retry.delay(failures)).await;
            }
        }
    }

    pub(super) fn cached_auth(&self, scope: &Scope) -> Option<String> {
        let cache = self
            .auth
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(&scope.key()).or_else(|| cache.get("*")).cloned()
    }

    /// Answers a 401 challenge: Basic with the credentials, or a Bearer token for the scope.
    async fn authenticate(
        &self,
        challenge: Option<Challenge>,
        scope: &Scope,
    ) -> Result<(), RegistryError> {
        let refuse = |reason: String| RegistryError::Auth {
            registry: self.registry.clone(),
            reason,
            tried: self.options.credentials.describe(),
        };
        let header = match (challenge, &self.options.credentials) {
            (None, _) => {
                return Err(refuse(
                    "401 without a usable WWW-Authenticate challenge".into(),
                ));
            }
            (
                Some(Challenge::Basic),
                Credentials::Basic {
                    username, password, ..
                },
            ) => {
                let header = basic_header(username, password);
                self.store_auth("*", header);
                return Ok(());
            }
            (Some(Challenge::Basic), _) => {
                return Err(refuse("the registry needs a user name and password".into()));
            }
            (Some(Challenge::Bearer { realm, service }), credentials) => self
                .fetch_token(&realm, service.as_deref(), scope, credentials)
                .await
                .map_err(|e| match e {
                    RegistryError::Status {
                        status, message, ..
                    } => refuse(format!(
                        "the token service {realm} answered {status}: {message}"
                    )),
                    other => other,
                })?,
        };
        self.store_auth(&scope.key(), header);
        Ok(())
    }

    fn store_auth(&self, key: &str, header: String) {
        let mut cache = self
            .auth
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(key.to_owned(), header);
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
        credentials: &Credentials,
    ) -> Result<String, RegistryError> {
        let mut query = Vec::new();
        if let Some(s) = service {
            query.push(format!("service={}", url_encode(s)));
        }
        for s in scope.key().split(' ') {
            query.push(format!("scope={}", url_encode(s)));
        }
        let request = || match credentials {
            Credentials::IdentityToken { token, .. } => {
                let mut form = query.clone();
                form.push("grant_type=refresh_token".into());
                form.push(format!("refresh_token={}", url_encode(token)));
                form.push("client_id=socix".into());
                self.http
                    .post(realm)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.join("&"))
            }
            Credentials::Basic {
                username, password, ..
            } => self
                .http
                .get(format!("{realm}?{}", query.join("&")))
                .header(AUTHORIZATION, basic_header(username, password)),
            Credentials::Anonymous => self.http.get(format!("{realm}?{}", query.join("&"))),
        };
        let method = if matches!(credentials, Credentials::IdentityToken { .. }) {
            Method::POST
        } else {
            Method::GET
        };
        // The token service fails as registries do: a refused connection, a 503, a body cut
        // short are retried within the same policy.
        let mut failures = 0;
        let body = loop {
            let failure = match request().send().await {
                Err(e) => transport_error(method.as_str(), realm, e),
                Ok(response) => match self
                    .expect(response, &method, realm, &[StatusCode::OK])
                    .await
                {
                    Err(e) => e,
                    Ok(response) => match read_body(response, 1 << 20).await {
                        Ok(body) => break body,
                        Err(e) => e.into_error(method.as_str(), realm),
                    },
                },
            };
            failures += 1;
            let transient = match &failure {
                RegistryError::Transport { .. } => true,
                RegistryError::Status { status, .. } => retriable_status(*status),
                _ => false,
            };
            if !transient || failures >= self.options.retry.attempts {
                return Err(failure);
            }
            tokio::time::sleep(self.options.retry.delay(failures)).await;
        };
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                context: format!("token from {realm}"),
                message: e.to_string(),
            })?;
        let token = answer["token"]
            .as_str()
            .or(answer["access_token"].as_str())
            .ok_or_else(|| RegistryError::Protocol {
                context: format!("token from {realm}"),
                message: "no token in the answer".into(),
            })?;
        Ok(format!("Bearer {token}"))
    }

    /// [`send`](Self::send), then [`expect`](Self::expect): the response when its status is one
    /// of `ok`, else the registry's error.
    pub(super) async fn send_expecting(
        &self,
        method: Method,
        url: &str,
        scope: &Scope,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
        ok: &[StatusCode],
    ) -> Result<Response, RegistryError> {
        let response = self.send(method.clone(), url, scope, build).await?;
        self.expect(response, &method, url, ok).await
    }

    /// The response if its status is one of `ok`, else the registry's error.
    pub(super) async fn expect(
        &self,
        response: Response,
        method: &Method,
        url: &str,
        ok: &[StatusCode],
    ) -> Result<Response, RegistryError> {
        if ok.contains(&response.status()) {
            return Ok(response);
        }
        Err(status_error(response, method, url).await)
    }
}

/// The registry's error for a response with a status the caller did not expect.
pub(super) async fn status_error(response: Response, method: &Method, url: &str) -> RegistryError {
    let status = response.status().as_u16();
    let (code, message) = error_message(response).await;
    RegistryError::Status {
        method: method.to_string(),
        url: without_query(url).to_owned(),
        status,
        code,
        message,
    }
}

pub(super) fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
        .unwrap_or_default()
}

/// The OCI error code and message of an error response, or its text.
async fn error_message(response: Response) -> (Option<String>, String) {
    let body = response.bytes().await.unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    if let Some(first) = parsed.as_ref().and_then(|v| v["errors"].get(0)) {
        let code = first["code"].as_str().map(str::to_owned);
        let mut message = first["message"].as_str().unwrap_or_default().to_owned();
        if let Some(detail) = first.get("detail").filter(|d| !d.is_null()) {
            message.push_str(&format!(" ({detail})"));
        }
        return (code, message);
    }
    let text = String::from_utf8_lossy(&body);
    if let Some(code) = xml_element(&text, "Code") {
        // Object storage (S3, behind a redirect) answers in XML, with the request's key id,
        // string to sign and signature beside the code: only the code and message are kept.
        let message = xml_element(&text, "Message").unwrap_or_default();
        return (Some(code.to_owned()), message.to_owned());
    }
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (None, text[..end].trim().to_owned())
}

/// The text of the first `<name>` element of an XML document.
fn xml_element<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let len = text[start..].find(&format!("</{name}>"))?;
    Some(text[start..start + len].trim())
}

/// One line per request for `-vv` (target [`crate::HTTP_TARGET`]): what was asked and how it
/// went, never a header (they hold credentials) nor the query string (pre-signed URLs carry
/// signatures there). The time is to the response's headers; bodies are streamed later.
fn log_request(
    method: &Method,
    url: &str,
    outcome: &Result<Response, reqwest::Error>,
    elapsed: Duration,
) {
    let url = without_query(url);
    let millis = elapsed.as_millis();
    match outcome {
        Ok(response) => tracing::debug!(
            target: crate::HTTP_TARGET,
            %method,
            url,
            status = response.status().as_u16(),
            bytes = response.content_length(),
            millis,
        ),
        Err(e) => tracing::debug!(
            target: crate::HTTP_TARGET,
            %method,
            url,
            error = %http_error(e),
            millis,
        ),
    }
}

/// Why a response body could not be read whole.
pub(super) enum BodyError {
    /// The connection failed mid-body: worth asking again.
    Cut(reqwest::Error),
    /// More bytes than the caller would hold.
    TooLarge(usize),
}

impl BodyError {
    pub(super) fn into_error(self, method: &str, url: &str) -> RegistryError {
        match self {
            BodyError::Cut(e) => transport_error(method, url, e),
            BodyError::TooLarge(limit) => RegistryError::Protocol {
                context: url.to_owned(),
                message: format!("response larger than {limit} bytes"),
            },
        }
    }
}

/// A response body whole, refused past `limit` bytes (before reading, when its length says so).
pub(super) async fn read_body(response: Response, limit: usize) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = response.bytes_stream();
    let mut data = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BodyError::Cut)?;
        if data.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(data))
}

/// A request to `url` that failed in the HTTP client: its message names the causes, its source
/// is the client's error (both without the URL's query string).
pub(super) fn transport_error(method: &str, url: &str, e: reqwest::Error) -> RegistryError {
    RegistryError::Transport {
        method: method.to_owned(),
        url: without_query(url).to_owned(),
        message: http_error(&e),
        source: Some(e.without_url()),
    }
}

/// `url` without its query string: upload locations carry session state there, pre-signed URLs
/// their signature, neither of which belongs in a message or a log.
pub(super) fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// reqwest's error with its causes, its URL without the query string: a pre-signed URL (a
/// registry's redirect to object storage) carries its signature there, a credential that must
/// not reach an error message or a log.
pub(super) fn http_error(e: &reqwest::Error) -> String {
    let text = error_chain(e);
    match e.url() {
        Some(url) if url.query().is_some() => {
            let mut bare = url.clone();
            bare.set_query(None);
            text.replace(url.as_str(), bare.as_str())
        }
        _ => text,
    }
}

/// An error with its causes, which is where reqwest keeps the useful part.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn object_storage_errors_keep_only_their_code_and_message() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch\
            </Code><Message>The request signature we calculated does not match</Message>\
            <AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\
            </StringToSign><SignatureProvided>0123abcd</SignatureProvided></Error>";
        let response = hyper::Response::builder().status(403).body(body).unwrap();
        let error =
            status_error(Response::from(response), &Method::GET, "https://s3/x?sig=1").await;
        let text = error.to_string();
        assert!(
            text.contains("SignatureDoesNotMatch")
                && text.contains("does not match")
                && !text.contains("AKIA")
                && !text.contains("0123abcd")
                && !text.contains("sig="),
            "{text}"
        );
        // Other text is kept, cut at a character boundary.
        let long = "é".repeat(400);
        let response = hyper::Response::builder().status(500).body(long).unwrap();
        let error = status_error(Response::from(response), &Method::GET, "https://r/x").await;
        assert!(error.to_string().contains(&"é".repeat(150)), "{error}");
    }

    #[tokio::test]
    async fn transport_errors_leave_out_the_query_string() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/blob?X-Amz-Signature=s3cr3t&X-Amz-Credential=k");
        let e = reqwest::get(&url).await.unwrap_err();
        assert!(error_chain(&e).contains("s3cr3t"), "reqwest names the URL");
        let text = http_error(&e);
        assert!(
            !text.contains("s3cr3t") && !text.contains("X-Amz"),
            "{text}"
        );
        assert!(text.contains(&format!("127.0.0.1:{port}/blob")), "{text}");

        // The error keeps the client's as its source, with no URL in it.
        let err = transport_error("GET", &url, e);
        let source = std::error::Error::source(&err).expect("the client's error");
        let mut chain = source.to_string();
        let mut cause = source.source();
        while let Some(c) = cause {
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        assert!(!chain.contains("s3cr3t"), "{chain}");
        assert!(
            chain.contains("onnection refused") || chain.contains("connect"),
            "{chain}"
        );
    }
}
