//! Decisions: what an agent asks (`DecisionRequest`) and what the tiered engine answers
//! (`Decision`). Pure types; the engine lives in `waooaw-decisions`.

use crate::ids::{InstanceId, TenantId};
use serde::{Deserialize, Serialize};

/// What a decision says to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
    /// Do something, described by the decision's structured `fields`.
    Act,
    /// Not sure enough, or not allowed: a human decides.
    Escalate,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [Self::Approve, Self::Reject, Self::Act, Self::Escalate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Act => "act",
            Self::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Which tier produced a decision, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Constraint,
    Cache,
    Rules,
    Memory,
    Llm,
    /// No tier could decide (or was allowed to): the conservative answer, usually escalate.
    Fallback,
}

impl Method {
    pub const ALL: [Method; 6] = [Self::Constraint, Self::Cache, Self::Rules, Self::Memory, Self::Llm, Self::Fallback];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constraint => "constraint",
            Self::Cache => "cache",
            Self::Rules => "rules",
            Self::Memory => "memory",
            Self::Llm => "llm",
            Self::Fallback => "fallback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

/// A question an agent asks on a wake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    /// What kind of decision, dotted like event types: `pr.review`, `content.compliance`.
    pub request_type: String,
    /// The facts the decision is about. Rules read it by dotted path; `action`, when present,
    /// names the action the agent proposes and is checked against the constraints.
    pub context: serde_json::Value,
    #[serde(default)]
    pub urgency: Urgency,
}

/// Where a decision's evidence came from: a rule, a memory, a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// `rule`, `memory`, `constraint`, `cache`, `human`.
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// Structured details of the verdict (for `act`: what to do).
    #[serde(default)]
    pub fields: serde_json::Value,
    pub reason: String,
    /// 0..=1.
    pub confidence: f64,
    #[serde(default)]
    pub citations: Vec<Citation>,
    pub method: Method,
    pub cost_usd: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub duration_us: u64,
}

impl Decision {
    /// A decision that cost nothing outside this process.
    pub fn free(verdict: Verdict, reason: impl Into<String>, confidence: f64, method: Method) -> Self {
        Self {
            verdict,
            fields: serde_json::Value::Null,
            reason: reason.into(),
            confidence,
            citations: Vec::new(),
            method,
            cost_usd: 0.0,
            tokens_in: 0,
            tokens_out: 0,
            model: None,
            duration_us: 0,
        }
    }
}

/// The decision engine as agents see it: `make_decision` is the one way an agent decides. The
/// engine itself lives in `waooaw-decisions`; this trait keeps agents and the runtime free of it.
#[async_trait::async_trait]
pub trait Decider: Send + Sync {
    async fn make_decision(&self, spec: &crate::Specialization, instance: &crate::Instance, request: DecisionRequest) -> Decision;

    /// The `k` memories of these kinds most similar to `query`, in the instance's tenant (its own
    /// and the tenant's shared ones), best first. Without a memory, nothing.
    async fn recall(&self, instance: &crate::Instance, kinds: &[&str], query: &str, k: usize) -> Vec<Recollection> {
        let _ = (instance, kinds, query, k);
        Vec::new()
    }

    /// What the instance decided since `since` (by tier, with cost) and how many of its
    /// escalations still wait for a human: the numbers of a daily report.
    async fn activity(&self, instance: &crate::Instance, since: chrono::DateTime<chrono::Utc>) -> Activity {
        let _ = (instance, since);
        Activity::default()
    }

    /// Writes a draft with the LLM tier (see [`crate::draft`]). Without one, `NoProvider`: the
    /// caller says so in its deliverable rather than invent text.
    async fn draft(
        &self,
        spec: &crate::Specialization,
        instance: &crate::Instance,
        request: crate::DraftRequest,
    ) -> Result<crate::Draft, crate::DraftError> {
        let _ = (spec, instance, request);
        Err(crate::DraftError::NoProvider)
    }
}

/// An instance's decisions by tier and its pending escalations, for reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// (method, decisions, cost in USD), cheapest tier first.
    pub by_method: Vec<(Method, i64, f64)>,
    pub pending_escalations: usize,
}

/// A memory recalled for an agent, with its similarity to the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recollection {
    pub id: uuid::Uuid,
    pub kind: String,
    pub text: String,
    pub metadata: serde_json::Value,
    pub score: f32,
}

/// Used when no engine is wired in: every decision goes to a human, saying why.
pub struct NoDecider;

#[async_trait::async_trait]
impl Decider for NoDecider {
    async fn make_decision(&self, _: &crate::Specialization, _: &crate::Instance, _: DecisionRequest) -> Decision {
        Decision::free(Verdict::Escalate, "no decision engine is configured in this runtime", 0.0, Method::Fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.as_str()));
        }
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Verdict::parse("maybe"), None);
    }
}
