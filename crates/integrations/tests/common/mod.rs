//! A real HTTP server on 127.0.0.1 that answers like an LLM provider: it serves canned replies
//! (fixtures from `tests/fixtures`) on the provider's endpoint, in the order of a script whose
//! last reply repeats (so faults can be injected: N errors then success, slowness, 429s),
//! records every request it receives so tests can check what the client sent and when, and
//! answers other paths with a 404.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// The first half of a body, as a connection that delivered a cut-off document would.
pub fn truncated(body: &str) -> String {
    body.chars().take(body.chars().count() / 2).collect()
}

/// What the fake provider answers.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self { status, content_type: "application/json", headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }

    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self { content_type: "text/html", ..Self::json(status, body) }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Answer only after `delay`: a provider that is slower than the client's timeout.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When the request arrived.
    pub at: Instant,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

#[derive(Clone)]
struct Shared {
    route: String,
    script: Arc<Mutex<VecDeque<Canned>>>,
    seen: Arc<Mutex<Vec<Captured>>>,
}

pub struct FakeProvider {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub origin: String,
    script: Arc<Mutex<VecDeque<Canned>>>,
    seen: Arc<Mutex<Vec<Captured>>>,
    server: JoinHandle<()>,
}

impl FakeProvider {
    /// Serves `reply` to `POST route` (the provider's real path, e.g. `/v1/messages`).
    pub async fn start(route: &str, reply: Canned) -> Self {
        Self::scripted(route, vec![reply]).await
    }

    /// Serves `replies` in order to `POST route`, one per request; the last one repeats.
    pub async fn scripted(route: &str, replies: Vec<Canned>) -> Self {
        assert!(!replies.is_empty(), "a script needs at least one reply");
        waooaw_integrations::install_crypto_provider();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(replies)));
        let shared = Shared { route: route.to_owned(), script: script.clone(), seen: seen.clone() };
        let app = Router::new().fallback(answer).with_state(shared);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { origin, script, seen, server }
    }

    /// Replaces what is left of the script: the dependency breaks down or recovers.
    pub fn rescript(&self, replies: Vec<Canned>) {
        assert!(!replies.is_empty(), "a script needs at least one reply");
        *self.script.lock().unwrap() = VecDeque::from(replies);
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.seen.lock().unwrap().clone()
    }

    /// The one request the client made; fails the test if it made none or several.
    pub fn only_request(&self) -> Captured {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request, got {requests:?}");
        requests.into_iter().next().unwrap()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let at = Instant::now();
    shared.seen.lock().unwrap().push(Captured { method: method.clone(), path: uri.path().to_owned(), headers, body: body.to_vec(), at });
    if method != Method::POST || uri.path() != shared.route {
        let message = format!("Unknown request URL: {method} {}. Please check the URL for typos.", uri.path());
        let body =
            serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": "unknown_url"}});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    let reply = {
        let mut script = shared.script.lock().unwrap();
        if script.len() > 1 { script.pop_front() } else { script.front().cloned() }
    };
    let Some(reply) = reply else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "empty script").into_response();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    for (name, value) in reply.headers {
        out.insert(HeaderName::from_static(name), HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// An address nothing listens on: bound, then released.
pub async fn refused_origin() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
