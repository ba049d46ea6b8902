//! Domain types of WAOOAW: what a tenant, a specialization, an instance, an event, a work context
//! and a delivery are. No I/O lives here; every other crate speaks in these types.

pub mod decision;
pub mod delivery;
pub mod event;
pub mod ids;
pub mod instance;
pub mod pattern;
pub mod rules;
pub mod spec;
pub mod tenant;

pub use decision::{Citation, Decision, DecisionRequest, Method, Urgency, Verdict};
pub use delivery::{DeadLetter, DeliveryOutcome, DeliveryRecord, DeliveryStatus};
pub use event::{Event, EventError, EventStatus, EventType, NewEvent, Priority};
pub use ids::{EventId, IdError, InstanceId, TenantId};
pub use instance::{Instance, InstanceStatus, LifecycleAction, Personality, TransitionError, WorkContext};
pub use pattern::{Pattern, PatternError, SubscriptionIndex};
pub use rules::{Condition, Rule, RuleMatch, RuleSet};
pub use spec::{Budget, Constraint, SpecError, SpecType, Specialization, WakeFilter};
pub use tenant::Tenant;
