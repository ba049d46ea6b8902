use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A customer account. Every customer-owned row carries its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Shared secret GitHub signs webhook bodies with (HMAC-SHA256). Never serialised out.
    #[serde(skip_serializing, default)]
    pub webhook_secret: String,
    pub created_at: DateTime<Utc>,
}
