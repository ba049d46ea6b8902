//! Deliverables: what an agent produced for its customer (a report, a review, a plan), kept per
//! tenant and instance, also after a trial ends.

use crate::ids::{EventId, InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a work function hands back; the runtime saves it with the wake, so it exists once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDeliverable {
    /// What it is: `seo_audit`, `compliance_review`, `daily_report`...
    pub kind: String,
    pub title: String,
    pub body_markdown: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliverable {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    /// The event whose wake produced it.
    pub event_id: EventId,
    pub kind: String,
    pub title: String,
    pub body_markdown: String,
    pub created_at: DateTime<Utc>,
}
