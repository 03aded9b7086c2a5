//! A proxy in front of the test registry that breaks requests on purpose: for each request it
//! takes the next fault from a script (then passes everything through), so a test can say "the
//! first blob GET is cut in half, the next one resets the connection, the PUT gets a 503".

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
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
    rules: Arc<Mutex<Vec<Rule>>>,
    pub log: Arc<Mutex<Vec<String>>>,
    ranges: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:PORT`) on a free loopback port.
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let ranges: Arc<AtomicBool> = Arc::default();
        let upstream = format!("http://{upstream}");
        let client = reqwest::Client::new();
        let (r, l, g) = (rules.clone(), log.clone(), ranges.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (rules, log, ranges, upstream, client) = (
                    r.clone(),
                    l.clone(),
                    g.clone(),
                    upstream.clone(),
                    client.clone(),
                );
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (rules, log, upstream, client) =
                            (rules.clone(), log.clone(), upstream.clone(), client.clone());
                        let ranges = ranges.load(Ordering::Relaxed);
                        async move { handle(req, &rules, &log, ranges, &upstream, &client).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            addr,
            rules,
            log,
            ranges,
        }
    }

    /// Answers `Range` requests with 206 and the bytes asked for, cut from the registry's whole
    /// answer: a registry that serves ranges, in front of one (ferro-oci-server) that does not.
    pub fn serve_ranges(&self) {
        self.ranges.store(true, Ordering::Relaxed);
    }

    /// Adds faults for matching requests.
    pub fn inject(&self, method: &'static str, path_contains: &'static str, faults: &[Fault]) {
        self.rules.lock().unwrap().push(Rule {
            method,
            path_contains,
            faults: faults.iter().copied().collect(),
        });
    }

    /// Requests seen, as `METHOD path -> fault`.
    pub fn seen(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

async fn handle(
    req: Request<Incoming>,
    rules: &Mutex<Vec<Rule>>,
    log: &Mutex<Vec<String>>,
    ranges: bool,
    upstream: &str,
    client: &reqwest::Client,
) -> Result<Response<Body>, std::io::Error> {
    let method = req.method().as_str().to_owned();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.method == method && path.contains(r.path_contains) && !r.faults.is_empty())
            .and_then(|r| r.faults.pop_front())
            .unwrap_or(Fault::Pass)
    };
    log.lock()
        .unwrap()
        .push(format!("{method} {path} -> {fault:?}"));
    match fault {
        Fault::Status(status) => return Ok(refusal(status, "INJECTED")),
        Fault::Refuse(status, code) => return Ok(refusal(status, code)),
        Fault::Reset => return Err(std::io::Error::other("injected reset")),
        Fault::Pass | Fault::Truncate => {}
    }
    // Forward, keeping method, headers and body.
    let (parts, body) = req.into_parts();
    let range = parts
        .headers
        .get(hyper::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().ok()));
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let mut forward = client
        .request(parts.method.clone(), format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            forward = forward.header(name, value);
        }
    }
    let answer = forward.send().await.map_err(std::io::Error::other)?;
    let mut status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let mut data = answer.bytes().await.map_err(std::io::Error::other)?;
    let mut response = Response::builder();
    if let (true, 200, Some((first, last))) = (ranges, status, range) {
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
        Full::new(data)
            .map_err(|never: Infallible| match never {})
            .boxed()
    };
    Ok(response.body(body).unwrap())
}

/// An error answer with an OCI error body.
fn refusal(status: u16, code: &str) -> Response<Body> {
    let text = format!(r#"{{"errors":[{{"code":"{code}","message":"injected fault"}}]}}"#);
    let body = Full::new(Bytes::from(text))
        .map_err(|never: Infallible| match never {})
        .boxed();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}
