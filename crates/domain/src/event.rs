//! Events: something happened that agents may wake on.

use crate::ids::{EventId, InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Event types the platform itself raises; any other valid dotted name is a custom type.
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "file.created",
    "file.modified",
    "file.deleted",
    "commit.pushed",
    "pull_request.opened",
    "pull_request.synchronize",
    "pull_request.closed",
    "issue.opened",
    "issue.commented",
    "schedule.tick",
    "threshold.breached",
    "agent.handoff",
    "human.escalation",
    "input.received",
];

pub const MAX_EVENT_TYPE_LEN: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error(
        "event type `{0}` is not a dotted name like `file.created` (lowercase segments of a-z, 0-9, _ separated by dots, at least two segments, at most 128 characters)"
    )]
    InvalidType(String),
    #[error("source must be 1..=200 characters")]
    InvalidSource,
    #[error("priority `{0}` is unknown (expected urgent, high, normal or low)")]
    InvalidPriority(String),
}

/// A validated dotted event type such as `pull_request.opened`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

impl EventType {
    pub fn parse(s: &str) -> Result<Self, EventError> {
        let valid = !s.is_empty()
            && s.len() <= MAX_EVENT_TYPE_LEN
            && s.split('.').count() >= 2
            && s.split('.').all(|seg| {
                let mut chars = seg.chars();
                matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
                    && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if valid { Ok(Self(s.to_owned())) } else { Err(EventError::InvalidType(s.chars().take(140).collect())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_known(&self) -> bool {
        KNOWN_EVENT_TYPES.contains(&self.0.as_str())
    }
}

impl TryFrom<String> for EventType {
    type Error = EventError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EventType> for String {
    fn from(t: EventType) -> Self {
        t.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Urgent,
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Urgent, Self::High, Self::Normal, Self::Low];

    pub fn as_i16(self) -> i16 {
        self as i16
    }

    pub fn from_i16(v: i16) -> Self {
        match v {
            0 => Self::Urgent,
            1 => Self::High,
            3 => Self::Low,
            _ => Self::Normal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Result<Self, EventError> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| EventError::InvalidPriority(s.chars().take(40).collect()))
    }
}

/// An event as submitted, before the platform gives it an id and a timestamp.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub source: String,
    pub tenant_id: TenantId,
    #[serde(default)]
    pub payload: serde_json::Value,
    #[serde(default)]
    pub correlation_id: Option<EventId>,
    #[serde(default)]
    pub parent_id: Option<EventId>,
    #[serde(default)]
    pub priority: Priority,
    /// Deliver only to this instance (schedule ticks, redrives, direct handoffs).
    #[serde(default)]
    pub target_instance: Option<InstanceId>,
}

impl NewEvent {
    pub fn new(event_type: EventType, source: impl Into<String>, tenant_id: TenantId, payload: serde_json::Value) -> Self {
        Self {
            event_type,
            source: source.into(),
            tenant_id,
            payload,
            correlation_id: None,
            parent_id: None,
            priority: Priority::Normal,
            target_instance: None,
        }
    }

    /// Validates and stamps the event. The correlation id defaults to the event's own id, so a
    /// chain of events started here can be followed back to it.
    pub fn into_event(self, now: DateTime<Utc>) -> Result<Event, EventError> {
        if self.source.is_empty() || self.source.chars().count() > 200 {
            return Err(EventError::InvalidSource);
        }
        let id = EventId::new();
        Ok(Event {
            id,
            event_type: self.event_type,
            source: self.source,
            tenant_id: self.tenant_id,
            timestamp: now,
            payload: if self.payload.is_null() { serde_json::json!({}) } else { self.payload },
            correlation_id: self.correlation_id.unwrap_or(id),
            parent_id: self.parent_id,
            priority: self.priority,
            target_instance: self.target_instance,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub source: String,
    pub tenant_id: TenantId,
    pub timestamp: DateTime<Utc>,
    pub payload: serde_json::Value,
    pub correlation_id: EventId,
    pub parent_id: Option<EventId>,
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_instance: Option<InstanceId>,
}

/// Where an event is in its life: stored, then routed to every instance it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Accepted,
    Dispatched,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Dispatched => "dispatched",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "dispatched" { Self::Dispatched } else { Self::Accepted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_are_accepted() {
        for t in KNOWN_EVENT_TYPES {
            assert!(EventType::parse(t).is_ok(), "{t}");
        }
        assert!(EventType::parse("crm.contact_2.merged").is_ok());
    }

    #[test]
    fn bad_names_are_refused() {
        for t in ["", "file", "File.created", "file..created", ".file", "file.", "file.cré", "file.*", "1x.y"] {
            assert!(EventType::parse(t).is_err(), "{t:?}");
        }
        assert!(EventType::parse(&format!("a.{}", "b".repeat(200))).is_err());
    }

    #[test]
    fn new_event_rejects_unknown_fields() {
        let json = r#"{"type":"file.created","source":"x","tenant_id":"0190b3c8-0000-7000-8000-000000000000","surprise":1}"#;
        let err = serde_json::from_str::<NewEvent>(json).unwrap_err().to_string();
        assert!(err.contains("surprise"), "{err}");
    }
}
