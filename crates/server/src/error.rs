//! The one table of API error codes: each code fixes its HTTP status, and every error body is
//! `{"error": {"code": ..., "message": ...}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use waooaw_runtime::RuntimeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    MalformedJson,
    InvalidRequest,
    InvalidEventType,
    InvalidId,
    MissingParameter,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthorized,
    MissingSignature,
    InvalidSignature,
    TenantNotFound,
    InstanceNotFound,
    EventNotFound,
    DeadLetterNotFound,
    EscalationNotFound,
    DeliverableNotFound,
    GithubNotConnected,
    ConversationNotFound,
    SpecializationNotFound,
    RecipientNotFound,
    TaskNotFound,
    MessageRefused,
    TaskNotRoutable,
    UnsupportedProtocol,
    RouteNotFound,
    MethodNotAllowed,
    InvalidTransition,
    Conflict,
    Unavailable,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            MalformedJson | InvalidRequest | InvalidEventType | InvalidId | MissingParameter | MissingSignature | UnsupportedProtocol => {
                StatusCode::BAD_REQUEST
            }
            MessageRefused | TaskNotRoutable => StatusCode::UNPROCESSABLE_ENTITY,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthorized | InvalidSignature => StatusCode::UNAUTHORIZED,
            TenantNotFound
            | InstanceNotFound
            | EventNotFound
            | DeadLetterNotFound
            | EscalationNotFound
            | DeliverableNotFound
            | GithubNotConnected
            | ConversationNotFound
            | SpecializationNotFound
            | RecipientNotFound
            | TaskNotFound
            | RouteNotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            InvalidTransition | Conflict => StatusCode::CONFLICT,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            MalformedJson => "malformed_json",
            InvalidRequest => "invalid_request",
            InvalidEventType => "invalid_event_type",
            InvalidId => "invalid_id",
            MissingParameter => "missing_parameter",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            Unauthorized => "unauthorized",
            MissingSignature => "missing_signature",
            InvalidSignature => "invalid_signature",
            TenantNotFound => "tenant_not_found",
            InstanceNotFound => "instance_not_found",
            EventNotFound => "event_not_found",
            DeadLetterNotFound => "dead_letter_not_found",
            EscalationNotFound => "escalation_not_found",
            DeliverableNotFound => "deliverable_not_found",
            GithubNotConnected => "github_not_connected",
            ConversationNotFound => "conversation_not_found",
            SpecializationNotFound => "specialization_not_found",
            RecipientNotFound => "recipient_not_found",
            TaskNotFound => "task_not_found",
            MessageRefused => "message_refused",
            TaskNotRoutable => "task_not_routable",
            UnsupportedProtocol => "unsupported_protocol",
            RouteNotFound => "route_not_found",
            MethodNotAllowed => "method_not_allowed",
            InvalidTransition => "invalid_transition",
            Conflict => "conflict",
            Unavailable => "unavailable",
            Internal => "internal",
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code.status().is_server_error() {
            tracing::error!(code = self.code.as_str(), message = %self.message, "request failed");
        }
        metrics::counter!("waooaw_http_errors_total", "code" => self.code.as_str()).increment(1);
        let body = serde_json::json!({"error": {"code": self.code.as_str(), "message": self.message}});
        (self.code.status(), Json(body)).into_response()
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        let code = match &e {
            RuntimeError::NotFound { what, .. } => match *what {
                "tenant" => Code::TenantNotFound,
                "instance" => Code::InstanceNotFound,
                "event" => Code::EventNotFound,
                _ => Code::DeadLetterNotFound,
            },
            RuntimeError::UnknownSpecialization(_) => Code::SpecializationNotFound,
            RuntimeError::Transition(_) => Code::InvalidTransition,
            RuntimeError::Invalid(_) => Code::InvalidRequest,
            RuntimeError::Concurrent(_) => Code::Conflict,
            RuntimeError::Store(waooaw_store::StoreError::Conflict(_)) => Code::Conflict,
            RuntimeError::Store(_) | RuntimeError::Bus(_) | RuntimeError::Ingest(_) => Code::Unavailable,
        };
        Self::new(code, e.to_string())
    }
}

impl From<waooaw_runtime::MessageError> for ApiError {
    fn from(e: waooaw_runtime::MessageError) -> Self {
        use waooaw_runtime::MessageError as M;
        let code = match &e {
            M::Protocol(_) => Code::UnsupportedProtocol,
            M::Invalid(_) => Code::InvalidRequest,
            M::UnknownRecipient(_) => Code::RecipientNotFound,
            M::SelfConsult | M::NotAccepted { .. } | M::Schema { .. } | M::Refused { .. } => Code::MessageRefused,
            M::DeadlineExceeded { .. } | M::Failed { .. } | M::Store(_) | M::NotStored(_) => Code::Unavailable,
        };
        Self::new(code, e.to_string())
    }
}

impl From<waooaw_store::StoreError> for ApiError {
    fn from(e: waooaw_store::StoreError) -> Self {
        RuntimeError::Store(e).into()
    }
}
