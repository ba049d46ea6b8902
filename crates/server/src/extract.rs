//! Request parsing that answers bad input with the error table instead of axum's plain-text
//! rejections.

use crate::error::{ApiError, Code};
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::str::FromStr;

/// Parses a JSON body: checks the content type and names the line, column and field at fault.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")) {
        return Err(ApiError::new(Code::UnsupportedMediaType, format!("expected Content-Type: application/json, got `{ct}`")));
    }
    parse_json(body)
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(Code::MalformedJson, "the request body is empty; expected a JSON object"));
    }
    let text = std::str::from_utf8(body).map_err(|e| ApiError::new(Code::MalformedJson, format!("the body is not UTF-8: {e}")))?;
    // The path of the field at fault (`limits.tokens_per_day`) goes into the message.
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        json_error(&path, err.into_inner())
    })?;
    de.end().map_err(|e| json_error("", e))?;
    Ok(value)
}

fn json_error(path: &str, e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let msg = if path.is_empty() || path == "." { e.to_string() } else { format!("`{path}`: {e}") };
            let code = if msg.contains("event type") { Code::InvalidEventType } else { Code::InvalidRequest };
            ApiError::new(code, msg)
        }
        _ => ApiError::new(Code::MalformedJson, format!("malformed JSON: {e}")),
    }
}

pub fn parse_id<T: FromStr>(raw: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e: T::Err| ApiError::new(Code::InvalidId, e.to_string()))
}

/// A required query parameter, parsed.
pub fn query_param<T: FromStr>(q: &HashMap<String, String>, name: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    let raw = q.get(name).ok_or_else(|| ApiError::new(Code::MissingParameter, format!("query parameter `{name}` is required")))?;
    parse_id(raw)
}

pub fn optional_param<T: FromStr>(q: &HashMap<String, String>, name: &str) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    q.get(name).map(|raw| parse_id(raw)).transpose()
}

/// Reads a body up to `limit` bytes; a larger one is refused with 413.
///
/// The rest of an oversized body is read and thrown away (up to [`DRAIN_CAP`] bytes and
/// [`DRAIN_TIME`]) before the answer goes out: a server that closes the connection on a client
/// still sending makes the client's socket reset, and the client loses the 413 to a broken pipe
/// (nginx calls this lingering close). Bodies beyond the cap are cut off regardless.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match body.frame().await {
            None => return Ok(Bytes::from(buf)),
            Some(Err(e)) => return Err(ApiError::new(Code::InvalidRequest, format!("could not read the body: {e}"))),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                if buf.len() + data.len() > limit {
                    let seen = buf.len() + data.len();
                    drop(buf);
                    drain(body, seen).await;
                    return Err(ApiError::new(Code::PayloadTooLarge, format!("the body exceeds the limit of {limit} bytes")));
                }
                buf.extend_from_slice(&data);
            }
        }
    }
}

/// How much of an oversized body is read and discarded so that the client sees the 413.
pub const DRAIN_CAP: usize = 16 * 1024 * 1024;
/// How long the server keeps reading an oversized body before it gives up on it.
pub const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

async fn drain(mut body: axum::body::Body, mut seen: usize) {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    // A declared length beyond the cap will not be read at all.
    if body.size_hint().lower() as usize > DRAIN_CAP {
        return;
    }
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while seen <= DRAIN_CAP {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
                _ => return,
            }
        }
    })
    .await;
}
