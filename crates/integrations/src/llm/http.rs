//! HTTP plumbing shared by every provider client: building the client, sending a JSON POST,
//! and turning statuses, provider error bodies and transport failures into `LlmError`.

use super::error::{ConfigError, LlmError};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime};

/// Largest body we read from a chat call. Real answers are a few KiB; the cap keeps a broken
/// or hostile endpoint from filling memory.
pub(crate) const MAX_CHAT_BODY: usize = 4 << 20;
/// Embedding answers are larger (thousands of floats per input).
pub(crate) const MAX_EMBEDDINGS_BODY: usize = 256 << 20;
/// How much of a non-JSON error body goes into an error message.
const SNIPPET_CHARS: usize = 200;

pub(crate) fn build_client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    if timeout.is_zero() {
        return Err(ConfigError::ZeroTimeout);
    }
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("waooaw/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::HttpClient(error_chain(&e)))
}

/// `{base_url}{path}`, after checking the base is an absolute http(s) URL. A trailing slash
/// on the base is tolerated.
pub(crate) fn endpoint(base_url: &str, path: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidBaseUrl { url: base_url.to_owned(), reason: reason.to_owned() };
    let url = reqwest::Url::parse(base_url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    Ok(format!("{}{path}", base_url.trim_end_matches('/')))
}

/// A secret header value (kept out of `Debug` output).
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, ConfigError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| ConfigError::InvalidApiKey)?;
    header.set_sensitive(true);
    Ok(header)
}

pub(crate) fn bearer(api_key: Option<&str>) -> Result<Option<HeaderValue>, ConfigError> {
    match api_key {
        None => Ok(None),
        Some(key) if key.trim().is_empty() => Err(ConfigError::InvalidApiKey),
        Some(key) => secret_header(&format!("Bearer {key}")).map(Some),
    }
}

/// A successful answer: headers and the full body.
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, LlmError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let what = if e.is_eof() {
                "truncated JSON"
            } else if e.is_syntax() {
                "not JSON"
            } else {
                "unexpected JSON"
            };
            LlmError::Malformed(format!("{what}: {e}; body starts {:?}", snippet(&self.body)))
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// Sends the request; a 2xx answer comes back whole, anything else as the matching error.
pub(crate) async fn send(request: reqwest::RequestBuilder, max_body: usize) -> Result<Reply, LlmError> {
    let mut response = request.send().await.map_err(from_reqwest)?;
    let status = response.status();
    let headers = response.headers().clone();
    if !status.is_success() {
        // The status decides the error; a body that fails to arrive only loses the message.
        let body = read_capped(&mut response, MAX_CHAT_BODY).await.unwrap_or_default();
        return Err(status_error(status.as_u16(), &headers, &body, SystemTime::now()));
    }
    let body = read_capped(&mut response, max_body).await?;
    Ok(Reply { headers, body })
}

async fn read_capped(response: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, LlmError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
        if body.len() + chunk.len() > max {
            return Err(LlmError::Malformed(format!("response body larger than {max} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn from_reqwest(e: reqwest::Error) -> LlmError {
    if e.is_timeout() { LlmError::Timeout } else { LlmError::Transport(error_chain(&e)) }
}

/// The error and its causes on one line: reqwest's own message hides the useful part
/// ("connection refused") in its sources.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(crate) fn status_error(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> LlmError {
    let message = error_message(body);
    match status {
        401 | 403 => LlmError::Unauthorized { status, message },
        429 => LlmError::RateLimited { retry_after: retry_after(headers, now), message },
        500..=599 => LlmError::Server { status, message },
        400..=499 => LlmError::BadRequest { status, message },
        _ => LlmError::Malformed(format!("unexpected HTTP status {status}: {message}")),
    }
}

/// The provider's explanation. OpenAI sends `{"error":{"message","type","code"}}`, Anthropic
/// `{"type":"error","error":{"type","message"}}`, Ollama's native API `{"error":"..."}`; a
/// proxy in between may send HTML, of which a short snippet is kept.
pub(crate) fn error_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return if body.is_empty() { "(empty body)".to_owned() } else { format!("non-JSON body: {}", snippet(body)) };
    };
    let error = value.get("error").unwrap_or(&value);
    if let Some(text) = error.as_str() {
        return text.to_owned();
    }
    let message = error.get("message").and_then(|m| m.as_str());
    let kind = error.get("type").and_then(|t| t.as_str());
    match (kind, message) {
        (Some(kind), Some(message)) => format!("{kind}: {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => format!("unrecognised error body: {}", snippet(body)),
    }
}

/// How long to wait before retrying: OpenAI's `retry-after-ms`, else the standard
/// `retry-after` as seconds or an HTTP date (both providers send seconds).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = value("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).and_then(|ms| seconds(ms / 1000.0)) {
        return Some(ms);
    }
    let header = value("retry-after")?;
    if let Some(secs) = header.parse::<f64>().ok().and_then(seconds) {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(header).ok()?;
    // A date already past means "now".
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn seconds(secs: f64) -> Option<Duration> {
    if secs.is_finite() && secs >= 0.0 { Duration::try_from_secs_f64(secs).ok() } else { None }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_seconds_date_and_ms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers(&[("retry-after", " 1.5 ")]), now), Some(Duration::from_millis(1500)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&[("retry-after", &date)]), now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&[("retry-after", &past)]), now), Some(Duration::ZERO));
        let both = headers(&[("retry-after-ms", "250"), ("retry-after", "1")]);
        assert_eq!(retry_after(&both, now), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn provider_error_bodies() {
        let openai =
            br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        assert_eq!(error_message(openai), "invalid_request_error: Incorrect API key provided");
        let anthropic = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(error_message(anthropic), "overloaded_error: Overloaded");
        assert_eq!(error_message(br#"{"error":"model 'x' not found"}"#), "model 'x' not found");
        assert_eq!(error_message(b""), "(empty body)");
        let html = format!("<html><body>{}</body></html>", "x".repeat(500));
        let message = error_message(html.as_bytes());
        assert!(message.starts_with("non-JSON body: <html><body>xxx"), "{message}");
        assert!(message.len() < 260, "snippet is bounded: {}", message.len());
    }

    #[test]
    fn statuses_map_to_kinds() {
        let now = SystemTime::now();
        let h = HeaderMap::new();
        assert!(matches!(status_error(401, &h, b"", now), LlmError::Unauthorized { status: 401, .. }));
        assert!(matches!(status_error(403, &h, b"", now), LlmError::Unauthorized { status: 403, .. }));
        assert!(matches!(status_error(429, &h, b"", now), LlmError::RateLimited { retry_after: None, .. }));
        assert!(matches!(status_error(529, &h, b"", now), LlmError::Server { status: 529, .. }));
        assert!(matches!(status_error(502, &h, b"", now), LlmError::Server { status: 502, .. }));
        assert!(matches!(status_error(404, &h, b"", now), LlmError::BadRequest { status: 404, .. }));
        assert!(matches!(status_error(304, &h, b"", now), LlmError::Malformed(_)));
    }

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(endpoint("http://localhost:11434/v1/", "/chat/completions").unwrap(), "http://localhost:11434/v1/chat/completions");
        assert_eq!(endpoint("https://api.anthropic.com", "/v1/messages").unwrap(), "https://api.anthropic.com/v1/messages");
        assert!(matches!(endpoint("api.openai.com/v1", "/x"), Err(ConfigError::InvalidBaseUrl { .. })));
        assert!(matches!(endpoint("ftp://example.com", "/x"), Err(ConfigError::InvalidBaseUrl { .. })));
        assert!(matches!(endpoint("https://example.com/v1?x=1", "/x"), Err(ConfigError::InvalidBaseUrl { .. })));
    }

    #[test]
    fn keys_are_sensitive_and_checked() {
        let header = bearer(Some("sk-test")).unwrap().unwrap();
        assert!(header.is_sensitive());
        assert!(!format!("{header:?}").contains("sk-test"));
        assert_eq!(bearer(Some("  ")), Err(ConfigError::InvalidApiKey));
        assert_eq!(bearer(Some("sk\nx")), Err(ConfigError::InvalidApiKey));
        assert_eq!(bearer(None), Ok(None));
    }
}
