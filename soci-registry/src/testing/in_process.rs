//! `ferro-oci-server` on loopback, served by a thread of the test process with a runtime of its
//! own, so sync and async tests (and child processes such as the `socix` binary) can all use it.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ferro_blob_store::InMemoryBlobStore;
use ferro_oci_server::{AppState, InMemoryRegistryMeta};
use tokio::sync::oneshot;

use super::{Implementation, Server, TestRegistry};

/// What stops the server: dropping the sender ends the serving task, joining the thread drops
/// its runtime and every connection with it.
pub(super) struct Handle {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    pub(super) fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a registry with its storage in memory, behind basic authentication when `user` is
/// given (the registry itself has none: a middleware checks the one user, as docker-registry's
/// htpasswd does).
pub(super) fn serve(user: Option<(&str, &str)>) -> TestRegistry {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let expected = user.map(|(user, password)| {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Arc::<str>::from(format!("Basic {token}"))
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let state = AppState::new(
                Arc::new(InMemoryBlobStore::new()),
                Arc::new(InMemoryRegistryMeta::new()),
            );
            let mut app = ferro_oci_server::router(state);
            if let Some(expected) = expected {
                app = app.layer(axum::middleware::from_fn(move |request, next| {
                    basic_auth(expected.clone(), request, next)
                }));
            }
            tokio::select! {
                served = axum::serve(listener, app) => served.unwrap(),
                _ = stopped => {}
            }
        });
    });
    TestRegistry {
        addr,
        implementation: Implementation::InProcess,
        server: Server::InProcess(Handle {
            stop: Some(stop),
            thread: Some(thread),
        }),
    }
}

/// Lets a request through when it carries `expected`, else answers 401 with a Basic challenge.
async fn basic_auth(expected: Arc<str>, request: Request, next: Next) -> Response {
    let given = request.headers().get(header::AUTHORIZATION);
    if given.is_some_and(|value| value.as_bytes() == expected.as_bytes()) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Basic realm="test-realm""#),
    );
    response
}
