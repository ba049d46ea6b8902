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

/// Reads a body up to `limit` bytes; a larger one is refused without being read whole.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large =
            std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit")) || e.to_string().contains("length limit");
        if too_large {
            ApiError::new(Code::PayloadTooLarge, format!("the body exceeds the limit of {limit} bytes"))
        } else {
            ApiError::new(Code::InvalidRequest, format!("could not read the body: {e}"))
        }
    })
}
