//! A task routed by a coordinator's RACI matrix (see `waooaw_runtime::tasks`), and the lease that
//! says which instance works it.

use crate::ids::{InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Assigned,
    Done,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Assigned, Self::Done, Self::Failed].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub tenant_id: TenantId,
    pub id: uuid::Uuid,
    pub task_type: String,
    /// The coordinator specialization whose matrix routed it.
    pub coordinator: String,
    pub package: serde_json::Value,
    pub status: TaskStatus,
    pub holder: Option<InstanceId>,
    pub lease_expires_at: DateTime<Utc>,
    /// How many times it was leased (1 at first; each reclaim adds one).
    pub attempts: i32,
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
