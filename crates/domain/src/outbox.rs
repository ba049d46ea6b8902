//! Side effects outside WAOOAW (a GitHub issue, a pull request comment) are written to an
//! outbox in the same transaction as the wake that decided them, then sent by a dispatcher. The
//! key makes each one idempotent: the outbox keeps one row per key and tenant (the same
//! violation found twice opens one issue), and the key's marker in the body lets a retry after a
//! crash find what was already created instead of creating it again.

use crate::ids::{InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExternalAction {
    GithubIssue {
        title: String,
        body: String,
        labels: Vec<String>,
    },
    /// A comment on an issue or pull request (GitHub treats both as issues).
    GithubComment {
        number: u64,
        body: String,
    },
    /// Work handed to the tenant's instance of specialization `to` (the runtime delivers it as
    /// an `agent.handoff` event; a paused recipient gets it on resume). Keys start `handoff:`.
    Handoff {
        to: String,
        action: String,
        package: serde_json::Value,
        /// The event the work came from: the handoff continues its correlation (and trace).
        cause: Option<uuid::Uuid>,
        correlation: Option<uuid::Uuid>,
    },
}

/// The prefix of every handoff's outbox key (how dispatchers tell their rows apart).
pub const HANDOFF_KEY_PREFIX: &str = "handoff:";

/// What a wake asks to be done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Idempotency key, unique per tenant (e.g. `vision:<fingerprint>`, `pr:42:<hash>`).
    pub key: String,
    pub action: ExternalAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Done,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An outbox row as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub key: String,
    pub action: ExternalAction,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// What was created, once done.
    pub url: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}
