//! What the decision engine remembers: memories (texts with their embedding vectors, searched by
//! similarity) and the log of every decision it made, with its per-tier cost summary.

use crate::decision::{Decision, Method};
use crate::ids::{InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A remembered text and its embedding: a past decision, a human's answer, a playbook entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: Uuid,
    pub tenant_id: TenantId,
    /// The instance that learnt it; `None` for knowledge shared by the whole tenant.
    pub instance_id: Option<InstanceId>,
    /// `decision`, `human_answer`, `playbook`, `battlecard`, ...
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// Which embedder made `vector`: vectors of different embedders are not comparable.
    pub embedding_id: String,
    pub vector: Vec<f32>,
    /// Assigned by the store on insert, strictly increasing across the whole store (0 before
    /// insert): processes follow new memories by asking for those after the last seq they saw.
    #[serde(default)]
    pub seq: i64,
    pub created_at: DateTime<Utc>,
}

/// One decision as the log keeps it: what was asked and what the engine answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub specialization_id: String,
    pub request_type: String,
    pub context: serde_json::Value,
    pub decision: Decision,
    pub created_at: DateTime<Utc>,
}

/// What decisions are summed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryGroup {
    Tenant,
    Instance,
    Specialization,
    /// The UTC day, `YYYY-MM-DD`.
    Day,
}

impl SummaryGroup {
    pub const ALL: [SummaryGroup; 4] = [Self::Tenant, Self::Instance, Self::Specialization, Self::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Instance => "instance",
            Self::Specialization => "specialization",
            Self::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// Decisions of one group made by one tier, and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierSummaryRow {
    /// The tenant id, instance id, specialization id or day (`YYYY-MM-DD`), per [`SummaryGroup`].
    pub group: String,
    pub method: Method,
    pub decisions: i64,
    pub cost_usd: f64,
    pub tokens_in: i64,
    pub tokens_out: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_group_names_round_trip() {
        for g in SummaryGroup::ALL {
            assert_eq!(SummaryGroup::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_value(g).unwrap(), serde_json::json!(g.as_str()));
        }
        assert_eq!(SummaryGroup::parse("week"), None);
    }

    #[test]
    fn memory_seq_defaults_to_zero_when_absent() {
        let json = serde_json::json!({
            "id": "0190f1a2-7c3e-7b9a-9d41-2b8e6f1c0a55",
            "tenant_id": "0190f1a2-7c3e-7b9a-9d41-2b8e6f1c0a56",
            "instance_id": null,
            "kind": "playbook",
            "text": "Refund requests over $500 need a manager's approval.",
            "embedding_id": "text-embedding-3-small",
            "vector": [0.25, -0.5],
            "created_at": "2025-03-10T09:00:00Z"
        });
        let m: Memory = serde_json::from_value(json).unwrap();
        assert_eq!((m.seq, m.instance_id, m.metadata), (0, None, serde_json::Value::Null));
    }
}
