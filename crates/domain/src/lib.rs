//! Domain types of WAOOAW: what a tenant, a specialization, an instance, an event, a work context
//! and a delivery are. No I/O lives here; every other crate speaks in these types.

pub mod budget;
pub mod decision;
pub mod deliverable;
pub mod delivery;
pub mod draft;
pub mod escalation;
pub mod event;
pub mod ids;
pub mod instance;
pub mod memory;
pub mod message;
pub mod outbox;
pub mod output_template;
pub mod pattern;
pub mod rules;
pub mod spec;
pub mod task;
mod template;
pub mod tenant;

pub use budget::{BudgetError, BudgetLimits};
pub use decision::{Activity, Citation, Decider, Decision, DecisionRequest, Method, NoDecider, Recollection, Urgency, Verdict};
pub use deliverable::{Deliverable, NewDeliverable};
pub use delivery::{DeadLetter, DeliveryOutcome, DeliveryRecord, DeliveryStatus};
pub use draft::{Draft, DraftError, DraftRequest, PromptTemplate};
pub use escalation::{Escalation, EscalationStatus, HumanAnswer};
pub use event::{Event, EventError, EventStatus, EventType, NewEvent, Priority};
pub use ids::{EventId, IdError, InstanceId, TenantId};
pub use instance::{Instance, InstanceStatus, LifecycleAction, Personality, TransitionError, WorkContext};
pub use memory::{DecisionRecord, Memory, SummaryGroup, TierSummaryRow};
pub use message::{AcceptedAction, Message, MessageKind, PROTOCOL_VERSION, Recipient, Reply};
pub use outbox::{ExternalAction, HANDOFF_KEY_PREFIX, OutboxItem, OutboxRecord, OutboxStatus};
pub use output_template::{OutputKind, OutputTemplates};
pub use pattern::{Pattern, PatternError, SubscriptionIndex};
pub use rules::{Condition, Rule, RuleMatch, RuleSet};
pub use spec::{Budget, Constraint, ConstraintResponse, Marketplace, Raci, SpecError, SpecType, Specialization, Vertical, WakeFilter};
pub use task::{Task, TaskStatus};
pub use template::TemplateError;
pub use tenant::Tenant;
