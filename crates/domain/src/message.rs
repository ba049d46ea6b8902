//! The agent message protocol: a versioned envelope agents exchange through the bus (never point
//! to point), carried as an `agent.message` event whose payload is the envelope. A receiving
//! specialization declares the actions it accepts and a JSON Schema for each payload in its
//! spec file (`[messages."<action>"]`); a payload that fails it is refused, naming the field.

use crate::event::Priority;
use crate::ids::{EventId, InstanceId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The envelope version this build speaks; a message of another version is refused.
pub const PROTOCOL_VERSION: u16 = 1;

/// Who a message is for, always within the sender's tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Recipient {
    Instance(InstanceId),
    /// The tenant's instance of this specialization (an awake one, the least busy).
    Specialization(String),
    /// Every other awake instance of the tenant.
    Broadcast,
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Instance(id) => write!(f, "instance {id}"),
            Self::Specialization(s) => write!(f, "the tenant's `{s}`"),
            Self::Broadcast => f.write_str("everyone in the tenant"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Request,
    Response,
    Notification,
    Handoff,
    Escalation,
    Consensus,
}

/// One message. Its `id` is the id of the event that carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub protocol: u16,
    pub id: EventId,
    pub tenant_id: TenantId,
    pub from: InstanceId,
    pub to: Recipient,
    pub kind: MessageKind,
    /// What is asked or told, dotted: `brand.check_copy`.
    pub action: String,
    pub payload: Value,
    /// The conversation (the correlation id of every event in it).
    pub conversation_id: EventId,
    pub parent_id: Option<EventId>,
    #[serde(default)]
    pub requires_response: bool,
    pub respond_by: Option<DateTime<Utc>>,
    /// Carried onto the event, so urgent messages are delivered first.
    #[serde(default)]
    pub priority: Priority,
}

impl Message {
    /// A message of this protocol version with a new id, no parent, no response wanted and
    /// normal priority; set the other fields with struct update syntax.
    pub fn new(
        tenant_id: TenantId,
        from: InstanceId,
        to: Recipient,
        kind: MessageKind,
        action: impl Into<String>,
        payload: Value,
        conversation_id: EventId,
    ) -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            id: EventId::new(),
            tenant_id,
            from,
            to,
            kind,
            action: action.into(),
            payload,
            conversation_id,
            parent_id: None,
            requires_response: false,
            respond_by: None,
            priority: Priority::Normal,
        }
    }
}

/// The answer carried by a `Response`: the receiver's result, or why it could not give one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reply {
    Ok { result: Value },
    Refused { reason: String },
    Failed { reason: String },
}

/// An action a specialization accepts, with the schema its payload must meet.
#[derive(Clone)]
pub struct AcceptedAction {
    pub description: String,
    pub schema: Value,
    validator: std::sync::Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for AcceptedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptedAction").field("description", &self.description).field("schema", &self.schema).finish()
    }
}

impl Serialize for AcceptedAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            description: &'a str,
            schema: &'a Value,
        }
        Out { description: &self.description, schema: &self.schema }.serialize(s)
    }
}

impl AcceptedAction {
    /// Compiles the schema; the error says why it is not a JSON Schema.
    pub fn new(description: String, schema: Value) -> Result<Self, String> {
        let validator = jsonschema::validator_for(&schema).map_err(|e| format!("not a valid JSON Schema: {e}"))?;
        Ok(Self { description, schema, validator: std::sync::Arc::new(validator) })
    }

    /// Checks a payload; the error names the failing field (a JSON pointer) and the rule.
    pub fn check(&self, payload: &Value) -> Result<(), String> {
        match self.validator.iter_errors(payload).next() {
            None => Ok(()),
            Some(e) => {
                let at = e.instance_path().to_string();
                let field = if at.is_empty() { "the payload".to_owned() } else { format!("`{at}`") };
                Err(format!("{field}: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payloads_are_checked_and_the_failing_field_is_named() {
        let schema = json!({"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 20}, "channel": {"enum": ["web", "email"]}}});
        let a = AcceptedAction::new("check copy".into(), schema).unwrap();
        assert!(a.check(&json!({"text": "Fresh trails"})).is_ok());
        let e = a.check(&json!({"text": 42})).unwrap_err();
        assert!(e.starts_with("`/text`:") && e.contains("string"), "{e}");
        let e = a.check(&json!({"channel": "web"})).unwrap_err();
        assert!(e.starts_with("the payload:") && e.contains("text"), "{e}");
        let e = a.check(&json!({"text": "ok", "channel": "fax"})).unwrap_err();
        assert!(e.starts_with("`/channel`:"), "{e}");
        assert!(AcceptedAction::new("x".into(), json!({"type": "strang"})).is_err());
    }

    #[test]
    fn the_envelope_round_trips_with_its_version() {
        let m = Message {
            protocol: PROTOCOL_VERSION,
            id: EventId::new(),
            tenant_id: TenantId::new(),
            from: InstanceId::new(),
            to: Recipient::Specialization("brand-strategy".into()),
            kind: MessageKind::Request,
            action: "brand.check_copy".into(),
            payload: json!({"text": "hi"}),
            conversation_id: EventId::new(),
            parent_id: None,
            requires_response: true,
            respond_by: Some(Utc::now()),
            priority: Priority::High,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            (v["protocol"].as_u64(), v["to"]["kind"].as_str(), v["kind"].as_str()),
            (Some(1), Some("specialization"), Some("request"))
        );
        assert_eq!(serde_json::from_value::<Message>(v).unwrap(), m);
    }
}
