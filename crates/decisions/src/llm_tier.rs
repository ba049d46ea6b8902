//! Tier 4: the LLM. The prompt is built from the specialization, the instance's personality, the
//! request and recalled past decisions (as few-shot examples); the answer must be a JSON object
//! matching the decision schema, or the engine falls back (escalates).

use crate::canonical::request_text;
use crate::memory::Recalled;
use std::sync::Arc;
use waooaw_domain::{DecisionRequest, Instance, Specialization, Verdict};
use waooaw_integrations::llm::{ChatMessage, ChatRequest, LlmProvider, PriceTable};

/// A configured model.
pub struct LlmTier {
    pub provider: Arc<dyn LlmProvider>,
    pub model: String,
    pub prices: PriceTable,
    pub max_tokens: u32,
}

/// What the model must answer.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct LlmAnswer {
    pub verdict: Verdict,
    pub reason: String,
    pub confidence: f64,
    #[serde(default)]
    pub fields: serde_json::Value,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnswerError {
    #[error("the answer is not a JSON object of the decision schema: {0}")]
    Schema(String),
    #[error("the answer's confidence {0} is outside 0..=1")]
    Confidence(f64),
    #[error("the answer gives no reason")]
    NoReason,
    #[error("the answer's `fields` is not an object")]
    Fields,
}

const SCHEMA: &str =
    r#"{"verdict": "approve" | "reject" | "act" | "escalate", "reason": string, "confidence": number between 0 and 1, "fields": object}"#;

/// Who the model speaks as: the specialization and the instance's personality, its
/// responsibilities and the actions it must never take. The start of every system prompt.
pub fn persona(spec: &Specialization, instance: &Instance) -> String {
    let p = &instance.personality;
    let mut system = format!(
        "You are {name}, {role} at a company in {industry}, working as the WAOOAW agent \"{spec}\" ({kind}, domain {domain}).\n",
        name = non_empty(&p.name, "an agent"),
        role = non_empty(&p.role_title, &spec.name),
        industry = non_empty(&p.industry, "an unspecified industry"),
        spec = spec.name,
        kind = spec.spec_type,
        domain = spec.domain,
    );
    if !p.tone.is_empty() {
        system.push_str(&format!("Tone: {}.\n", p.tone));
    }
    if !p.focus_areas.is_empty() {
        system.push_str(&format!("Focus areas: {}.\n", p.focus_areas.join(", ")));
    }
    if !spec.expertise.is_empty() {
        system.push_str(&format!("Expertise: {}.\n", spec.expertise.join(", ")));
    }
    system.push_str("Responsibilities:\n");
    for r in &spec.responsibilities {
        system.push_str(&format!("- {r}\n"));
    }
    if !spec.constraints.is_empty() {
        system.push_str("You must never take these actions (they are refused whatever you answer):\n");
        for c in &spec.constraints {
            system.push_str(&format!("- {}: {}\n", c.action, c.reason));
        }
    }
    system
}

pub fn build_prompt(
    spec: &Specialization,
    instance: &Instance,
    request: &DecisionRequest,
    examples: &[Recalled],
) -> (String, Vec<ChatMessage>) {
    let mut system = persona(spec, instance);
    system.push_str(&format!(
        "Decide the request. Answer with one JSON object and nothing else, of the form {SCHEMA}. \
         Use \"act\" with `fields` describing the action when something should be done. \
         When you are not confident, answer \"escalate\" so a human decides."
    ));
    let mut messages = Vec::with_capacity(examples.len() * 2 + 1);
    for ex in examples {
        if let Some(d) = ex.memory.metadata.get("decision") {
            messages.push(ChatMessage::user(ex.memory.text.clone()));
            messages.push(ChatMessage::assistant(d.to_string()));
        }
    }
    messages.push(ChatMessage::user(format!("{}\nContext JSON: {}", request_text(request), request.context)));
    (system, messages)
}

fn non_empty<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.trim().is_empty() { default } else { s }
}

impl LlmTier {
    pub fn request(&self, system: String, messages: Vec<ChatMessage>) -> ChatRequest {
        ChatRequest { model: self.model.clone(), system, messages, max_tokens: self.max_tokens, temperature: 0.0, json_output: true }
    }
}

/// Parses and validates a model's answer. A JSON object inside a Markdown code fence is
/// accepted (models add them); anything else that is not the schema is refused.
pub fn parse_answer(text: &str) -> Result<LlmAnswer, AnswerError> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let answer: LlmAnswer = serde_json::from_str(body).map_err(|e| AnswerError::Schema(e.to_string()))?;
    if !(0.0..=1.0).contains(&answer.confidence) || !answer.confidence.is_finite() {
        return Err(AnswerError::Confidence(answer.confidence));
    }
    if answer.reason.trim().is_empty() {
        return Err(AnswerError::NoReason);
    }
    if !(answer.fields.is_object() || answer.fields.is_null()) {
        return Err(AnswerError::Fields);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_validated() {
        let ok = parse_answer(r#"{"verdict":"reject","reason":"claims a cure","confidence":0.92,"fields":{"fix":"remove"}}"#).unwrap();
        assert_eq!((ok.verdict, ok.confidence), (Verdict::Reject, 0.92));
        let fenced = parse_answer("```json\n{\"verdict\":\"approve\",\"reason\":\"fine\",\"confidence\":1}\n```").unwrap();
        assert_eq!(fenced.verdict, Verdict::Approve);
        assert!(matches!(parse_answer("Sure! I approve."), Err(AnswerError::Schema(_))));
        assert!(matches!(parse_answer(r#"{"verdict":"maybe","reason":"x","confidence":0.5}"#), Err(AnswerError::Schema(_))));
        assert_eq!(parse_answer(r#"{"verdict":"act","reason":"x","confidence":1.5}"#), Err(AnswerError::Confidence(1.5)));
        assert_eq!(parse_answer(r#"{"verdict":"act","reason":" ","confidence":0.5}"#), Err(AnswerError::NoReason));
        assert_eq!(parse_answer(r#"{"verdict":"act","reason":"x","confidence":0.5,"fields":[1]}"#), Err(AnswerError::Fields));
        assert!(matches!(parse_answer(r#"{"verdict":"approve","reason":"trunc"#), Err(AnswerError::Schema(_))));
    }
}
