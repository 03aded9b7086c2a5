//! A proxy in front of the test registry that breaks requests on purpose: for each request it
//! takes the next fault from a script (then passes everything through), so a test can say "the
//! first blob GET is cut in half, the next one resets the connection, the PUT gets a 503". It
//! can also play the object storage a registry redirects blob reads to (ECR and S3).

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{AUTHORIZATION, HOST, LOCATION, RANGE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// What to do to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it untouched.
    Pass,
    /// Answer this status without forwarding.
    Status(u16),
    /// Answer this status with this OCI error code without forwarding.
    Refuse(u16, &'static str),
    /// Close the connection without answering.
    Reset,
    /// Forward it, but cut the response body after half its bytes.
    Truncate,
    /// Forward it without its `Range` header: the whole blob comes back, with 200, as from a
    /// server that ignores ranges.
    Whole,
}

/// Faults for requests whose method and path match, in order.
#[derive(Clone, Debug)]
pub struct Rule {
    pub method: &'static str,
    pub path_contains: &'static str,
    pub faults: VecDeque<Fault>,
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

/// What the proxy's connections share.
struct State {
    upstream: String,
    client: reqwest::Client,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<String>>,
    /// Serve `Range` requests from the registry's whole answers.
    ranges: AtomicBool,
    redirect: OnceLock<Redirect>,
}

/// Blob reads redirected to a second listener standing for object storage.
struct Redirect {
    storage: SocketAddr,
    /// Requests each signature is good for, after which the storage answers 403 (expired).
    valid_for: usize,
    /// How the storage authenticates to the registry it reads from (it has its own access).
    upstream_authorization: Option<String>,
    /// Requests served by each signature handed out (numbered from 1).
    signatures: Mutex<HashMap<usize, usize>>,
}

/// Which of the proxy's listeners a request came to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Registry,
    Storage,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:PORT`) on a free loopback port.
    pub async fn start(upstream: &str) -> FaultProxy {
        let state = Arc::new(State {
            upstream: format!("http://{upstream}"),
            client: reqwest::Client::new(),
            rules: Mutex::default(),
            log: Mutex::default(),
            ranges: AtomicBool::default(),
            redirect: OnceLock::new(),
        });
        FaultProxy {
            addr: listen(state.clone(), Side::Registry).await,
            state,
        }
    }

    /// Answers `Range` requests with 206 and the bytes asked for, cut from the registry's whole
    /// answer: a registry that serves ranges, in front of one (ferro-oci-server) that does not.
    pub fn serve_ranges(&self) {
        self.state.ranges.store(true, Ordering::Relaxed);
    }

    /// Answers blob `GET`s, once the registry has accepted the request's credentials, with a
    /// 307 to a second listener standing for object storage, as ECR does to S3: a URL under
    /// `/storage` with a new signature in its query, good for `valid_for` requests (then 403,
    /// as S3 refuses an expired pre-signed URL). The storage serves ranges, reading the
    /// registry with `upstream_authorization`, and logs whether a request carried an
    /// `Authorization` header.
    pub async fn redirect_blobs(&self, valid_for: usize, upstream_authorization: Option<String>) {
        let storage = listen(self.state.clone(), Side::Storage).await;
        let redirect = Redirect {
            storage,
            valid_for,
            upstream_authorization,
            signatures: Mutex::default(),
        };
        assert!(self.state.redirect.set(redirect).is_ok(), "redirected once");
    }

    /// Adds faults for matching requests.
    pub fn inject(&self, method: &'static str, path_contains: &'static str, faults: &[Fault]) {
        self.state.rules.lock().unwrap().push(Rule {
            method,
            path_contains,
            faults: faults.iter().copied().collect(),
        });
    }

    /// Requests seen, as `METHOD path -> fault` (path without query). With redirects, a blob
    /// read at the registry is `-> Redirect` or `-> Refused STATUS` (credentials refused), one
    /// at the storage `-> fault (storage, authorization: BOOL, signature: N)`, or `-> Expired
    /// (storage…` when its signature was used up.
    pub fn seen(&self) -> Vec<String> {
        self.state.log.lock().unwrap().clone()
    }
}

/// Serves `side` of the proxy on a free loopback port.
async fn listen(state: Arc<State>, side: Side) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { handle(req, &state, side).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn handle(
    req: Request<Incoming>,
    state: &State,
    side: Side,
) -> Result<Response<Body>, std::io::Error> {
    let method = req.method().as_str().to_owned();
    let uri_path = req.uri().path().to_owned();
    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| {
                r.method == method && uri_path.contains(r.path_contains) && !r.faults.is_empty()
            })
            .and_then(|r| r.faults.pop_front())
            .unwrap_or(Fault::Pass)
    };
    let redirect = state.redirect.get();
    let redirected = side == Side::Registry
        && fault == Fault::Pass
        && method == "GET"
        && uri_path.contains("/blobs/sha256:")
        && redirect.is_some();
    let mut expired = false;
    let note = match (side, redirect) {
        (Side::Storage, Some(redirect)) => {
            let signature = signature_of(req.uri().query().unwrap_or_default());
            let mut signatures = redirect.signatures.lock().unwrap();
            let served = signatures.entry(signature).or_default();
            expired = signature == 0 || *served >= redirect.valid_for;
            if !expired && matches!(fault, Fault::Pass | Fault::Truncate | Fault::Whole) {
                *served += 1;
            }
            let verdict = if expired {
                "Expired".into()
            } else {
                format!("{fault:?}")
            };
            let authorization = req.headers().contains_key(AUTHORIZATION);
            format!("{verdict} (storage, authorization: {authorization}, signature: {signature})")
        }
        _ => format!("{fault:?}"),
    };
    let log = |note: &str| {
        state
            .log
            .lock()
            .unwrap()
            .push(format!("{method} {uri_path} -> {note}"));
    };
    if !redirected {
        log(&note);
    }
    match fault {
        Fault::Status(status) => return Ok(refusal(status, "INJECTED")),
        Fault::Refuse(status, code) => return Ok(refusal(status, code)),
        Fault::Reset => return Err(std::io::Error::other("injected reset")),
        Fault::Pass | Fault::Truncate | Fault::Whole => {}
    }
    if expired {
        return Ok(refusal(403, "AccessDenied: Request has expired"));
    }
    let (mut parts, body) = req.into_parts();
    let mut path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut ranges = state.ranges.load(Ordering::Relaxed);
    if let (Side::Storage, Some(redirect)) = (side, redirect) {
        // The storage reads the registry with access of its own, and serves ranges.
        path = uri_path.trim_start_matches("/storage").to_owned();
        parts.headers.remove(AUTHORIZATION);
        if let Some(authorization) = &redirect.upstream_authorization {
            parts
                .headers
                .insert(AUTHORIZATION, authorization.parse().unwrap());
        }
        ranges = true;
    }
    if let (true, Some(redirect)) = (redirected, redirect) {
        // The registry checks who asks before it redirects.
        let mut check = state.client.head(format!("{}{path}", state.upstream));
        if let Some(authorization) = parts.headers.get(AUTHORIZATION) {
            check = check.header(AUTHORIZATION, authorization);
        }
        let checked = check.send().await.map_err(std::io::Error::other)?;
        let mut response = Response::builder().status(checked.status().as_u16());
        if checked.status().is_success() {
            let signature = {
                let mut signatures = redirect.signatures.lock().unwrap();
                let next = signatures.len() + 1;
                signatures.insert(next, 0);
                next
            };
            let location = format!(
                "http://{}/storage{path}?X-Amz-Credential=test&X-Amz-Signature={signature}",
                redirect.storage
            );
            response = response
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(LOCATION, location);
            log("Redirect");
        } else {
            log(&format!("Refused {}", checked.status().as_u16()));
            for (name, value) in checked.headers() {
                if name != hyper::header::CONTENT_LENGTH {
                    response = response.header(name, value);
                }
            }
        }
        return Ok(response.body(full(Bytes::new())).unwrap());
    }
    // Forward, keeping method, headers and body.
    let range = parts
        .headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().ok()));
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let mut forward = state
        .client
        .request(parts.method.clone(), format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != HOST && !(name == RANGE && fault == Fault::Whole) {
            forward = forward.header(name, value);
        }
    }
    let answer = forward.send().await.map_err(std::io::Error::other)?;
    let mut status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let mut data = answer.bytes().await.map_err(std::io::Error::other)?;
    let mut response = Response::builder();
    if let (true, 200, Some((first, last)), false) = (ranges, status, range, fault == Fault::Whole)
    {
        let end = last.map_or(data.len(), |last| (last + 1).min(data.len()));
        let total = data.len();
        data = data.slice(first.min(end)..end);
        status = 206;
        response = response.header(
            "content-range",
            format!("bytes {first}-{}/{total}", end - 1),
        );
    }
    response = response.status(StatusCode::from_u16(status).unwrap());
    for (name, value) in &headers {
        // Let hyper frame the body itself; the length is set below, so a cut body is detectable.
        if name != hyper::header::TRANSFER_ENCODING
            && name != hyper::header::CONNECTION
            && name != hyper::header::CONTENT_LENGTH
        {
            response = response.header(name, value);
        }
    }
    response = response.header(hyper::header::CONTENT_LENGTH, data.len());
    let body: Body = if fault == Fault::Truncate && data.len() > 1 {
        let half = data.slice(..data.len() / 2);
        // The cut comes a moment after the first half, so the status line, headers and half
        // the body are on the wire first, as when a connection drops mid-body (an error
        // right away makes hyper drop the response before its headers).
        let first = futures_util::stream::iter([Ok(Frame::data(half))]);
        let cut = futures_util::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Err(std::io::Error::other("injected truncation"))
        });
        StreamBody::new(futures_util::StreamExt::chain(first, cut)).boxed()
    } else {
        full(data)
    };
    Ok(response.body(body).unwrap())
}

/// The signature number in a storage URL's query (0 when there is none).
fn signature_of(query: &str) -> usize {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Signature="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn full(data: Bytes) -> Body {
    Full::new(data)
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// An error answer with an OCI error body.
fn refusal(status: u16, code: &str) -> Response<Body> {
    let text = format!(r#"{{"errors":[{{"code":"{code}","message":"injected fault"}}]}}"#);
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(Bytes::from(text)))
        .unwrap()
}
