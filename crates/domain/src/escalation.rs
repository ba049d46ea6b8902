//! Escalations: questions the decision engine hands to a human, and the human's answer.

use crate::decision::{DecisionRequest, Urgency, Verdict};
use crate::ids::{EventId, InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EscalationStatus {
    /// Waiting for a human.
    Pending,
    /// Answered; the answer is final.
    Answered,
}

impl EscalationStatus {
    pub const ALL: [EscalationStatus; 2] = [Self::Pending, Self::Answered];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Answered => "answered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A human's answer to an escalation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanAnswer {
    /// `approve`, `reject`, or `act` for "modify" (the text says how). Not `escalate`: the
    /// human is where escalation ends.
    pub verdict: Verdict,
    pub text: String,
    /// Who answered: an email or user handle.
    pub answered_by: String,
}

/// A decision the engine could not (or was not allowed to) make alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    /// The event whose wake asked, when there was one.
    pub event_id: Option<EventId>,
    pub request: DecisionRequest,
    /// The question as the human reads it.
    pub question: String,
    pub urgency: Urgency,
    pub status: EscalationStatus,
    pub answer: Option<HumanAnswer>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for s in EscalationStatus::ALL {
            assert_eq!(EscalationStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        assert_eq!(EscalationStatus::parse("open"), None);
    }
}
