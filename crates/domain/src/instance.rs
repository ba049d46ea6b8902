//! Instances (a customer's hired agent) and their versioned work context.

use crate::ids::{EventId, InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    Trial,
    Active,
    Paused,
    Retired,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Trial, Self::Active, Self::Paused, Self::Retired].into_iter().find(|st| st.as_str() == s)
    }

    /// Whether events wake the instance now (a paused one has them kept for its resume).
    pub fn is_awake(self) -> bool {
        matches!(self, Self::Trial | Self::Active)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    /// The customer keeps the agent after its trial: trial becomes active, `hired_at` is set.
    Hire,
    Pause,
    Resume,
    Retire,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hire => "hire",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Retire => "retire",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot {action} an instance that is {from}")]
pub struct TransitionError {
    pub action: &'static str,
    pub from: &'static str,
}

/// How the customer personalised their agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Personality {
    pub name: String,
    #[serde(default)]
    pub role_title: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub tone: String,
    #[serde(default)]
    pub focus_areas: Vec<String>,
    #[serde(default)]
    pub escalation_contact: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: InstanceId,
    pub tenant_id: TenantId,
    pub specialization_id: String,
    #[serde(flatten)]
    pub personality: Personality,
    pub status: InstanceStatus,
    pub hired_at: Option<DateTime<Utc>>,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub wake_count: i64,
    pub last_woken_at: Option<DateTime<Utc>>,
    pub context_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Instance {
    /// A newly hired instance on trial (until `trial_ends_at`), not yet woken.
    pub fn on_trial(
        tenant_id: TenantId,
        specialization_id: impl Into<String>,
        personality: Personality,
        now: DateTime<Utc>,
        trial_ends_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: InstanceId::new(),
            tenant_id,
            specialization_id: specialization_id.into(),
            personality,
            status: InstanceStatus::Trial,
            hired_at: None,
            trial_ends_at,
            wake_count: 0,
            last_woken_at: None,
            context_version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// The status after `action`, or why it is not allowed.
    pub fn next_status(&self, action: LifecycleAction) -> Result<InstanceStatus, TransitionError> {
        use InstanceStatus::*;
        let next = match (action, self.status) {
            (LifecycleAction::Hire, Trial) => Some(Active),
            (LifecycleAction::Pause, Trial | Active) => Some(Paused),
            (LifecycleAction::Resume, Paused) => Some(if self.hired_at.is_some() { Active } else { Trial }),
            (LifecycleAction::Retire, Trial | Active | Paused) => Some(Retired),
            _ => None,
        };
        next.ok_or(TransitionError { action: action.as_str(), from: self.status.as_str() })
    }
}

/// The instance's runtime state after a wake; version n+1 is saved by the wake that read n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkContext {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub version: i64,
    pub state: serde_json::Value,
    pub event_id: Option<EventId>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(status: InstanceStatus, hired: bool) -> Instance {
        let now = Utc::now();
        let personality = Personality { name: "Vera".into(), ..Default::default() };
        Instance {
            status,
            hired_at: hired.then_some(now),
            ..Instance::on_trial(TenantId::new(), "wowvision-prime", personality, now, None)
        }
    }

    #[test]
    fn lifecycle_transitions() {
        use InstanceStatus::*;
        assert_eq!(instance(Trial, false).next_status(LifecycleAction::Pause), Ok(Paused));
        assert_eq!(instance(Paused, false).next_status(LifecycleAction::Resume), Ok(Trial));
        assert_eq!(instance(Paused, true).next_status(LifecycleAction::Resume), Ok(Active));
        assert_eq!(instance(Active, true).next_status(LifecycleAction::Retire), Ok(Retired));
        let err = instance(Retired, true).next_status(LifecycleAction::Resume).unwrap_err();
        assert_eq!(err.to_string(), "cannot resume an instance that is retired");
        assert!(instance(Active, true).next_status(LifecycleAction::Resume).is_err());
        assert_eq!(instance(Trial, false).next_status(LifecycleAction::Hire), Ok(Active));
        assert!(instance(Active, true).next_status(LifecycleAction::Hire).is_err());
        assert!(instance(Paused, false).next_status(LifecycleAction::Hire).is_err(), "resume first, then hire");
    }
}
