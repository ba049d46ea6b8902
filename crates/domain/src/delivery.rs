//! Deliveries: one event to one instance, and the dead letters of those that kept failing.

use crate::ids::{EventId, InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Handled: the wake's effect is saved. Terminal; a repeat delivery is skipped.
    Done,
    /// The instance was paused; delivered on resume within the retention window.
    Deferred,
    /// Still failing after retries; a dead letter holds the error.
    Dead,
    /// Deferred past the retention window.
    Expired,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Deferred => "deferred",
            Self::Dead => "dead",
            Self::Expired => "expired",
        }
    }

    /// Whether a repeat of this delivery is skipped.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Deferred)
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Done, Self::Deferred, Self::Dead, Self::Expired].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub tenant_id: TenantId,
    pub event_id: EventId,
    pub instance_id: InstanceId,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// What the wake did, in a line (or the last error).
    pub outcome: String,
    pub context_version: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

/// The result of a wake that a store records atomically with its context.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOutcome {
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub event_id: EventId,
    pub instance_id: InstanceId,
    pub event_type: String,
    /// The error chain of the last attempt, outermost first.
    pub error: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub redriven_at: Option<DateTime<Utc>>,
}
