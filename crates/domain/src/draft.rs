//! Drafting: text an agent writes for the customer (outreach emails, social posts, rewrites of
//! flagged sentences). Analysis never needs a model; writing does, so a draft comes from the
//! LLM tier when one is configured, and otherwise the caller says plainly that it needs one.
//!
//! A spec file may give the prompt for each kind of draft in `[prompts]`, as a template with
//! the placeholders `{brief}`, `{facts}` and `{max_words}` (`{{` and `}}` for literal braces).

use crate::ids::{InstanceId, TenantId};
use crate::template::{Piece, TemplateError, pieces, render};
use serde::{Deserialize, Serialize};

/// What to write. `facts` are the only facts the text may state (the model is told so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftRequest {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    /// The kind of text (`outreach_email`, `social_post`, ...): picks the spec's prompt template
    /// and names the draft in the decision log (`draft.<kind>`).
    pub kind: String,
    /// What the text is for, in a sentence or two.
    pub brief: String,
    pub facts: serde_json::Value,
    pub max_words: u32,
}

/// A written draft with what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub text: String,
    pub model: String,
    pub cost_usd: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DraftError {
    #[error("drafting needs an LLM provider, and none is configured")]
    NoProvider,
    #[error("the LLM could not write the draft: {0}")]
    Provider(String),
    #[error("the LLM answered with no text")]
    Empty,
    #[error("drafting was refused: {0}")]
    Refused(String),
}

/// Placeholders a prompt template may use.
pub const PROMPT_PLACEHOLDERS: [&str; 3] = ["brief", "facts", "max_words"];

/// A checked prompt template (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptTemplate(String);

impl PromptTemplate {
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let p = pieces(text, &PROMPT_PLACEHOLDERS)?;
        if !p.iter().any(|p| matches!(p, Piece::Slot("brief"))) {
            return Err(TemplateError::NoBrief);
        }
        Ok(Self(text.to_owned()))
    }

    /// The prompt for `req`; facts are rendered as pretty JSON.
    pub fn render(&self, req: &DraftRequest) -> String {
        render(&self.0, &PROMPT_PLACEHOLDERS, |name| match name {
            "brief" => req.brief.clone(),
            "facts" => serde_json::to_string_pretty(&req.facts).unwrap_or_default(),
            _ => req.max_words.to_string(),
        })
    }

    /// The template used for a kind the spec gives no prompt for.
    pub fn fallback() -> Self {
        Self(
            "Write the following. {brief}\n\nUse only these facts; do not invent names, numbers, prices or claims, and \
             leave a [bracketed] gap where a fact is missing:\n{facts}\n\nAt most {max_words} words. Answer with the text only."
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> DraftRequest {
        DraftRequest {
            tenant_id: TenantId::new(),
            instance_id: InstanceId::new(),
            kind: "outreach_email".into(),
            brief: "A first email to Dana Whitfield at Corvid Logistics.".into(),
            facts: serde_json::json!({"company": "Corvid Logistics", "employees": 420}),
            max_words: 120,
        }
    }

    #[test]
    fn renders_placeholders_and_literal_braces() {
        let t = PromptTemplate::parse("Brief: {brief}\nFacts: {facts}\n{{not a slot}} max {max_words}").unwrap();
        let out = t.render(&req());
        assert!(out.starts_with("Brief: A first email to Dana Whitfield"));
        assert!(out.contains("\"employees\": 420"));
        assert!(out.ends_with("{not a slot} max 120"), "{out}");
        assert!(PromptTemplate::fallback().render(&req()).contains("Corvid Logistics"));
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert_eq!(
            PromptTemplate::parse("{brief} for {customer}"),
            Err(TemplateError::Unknown { name: "customer".into(), known: "{brief}, {facts}, {max_words}".into() })
        );
        assert_eq!(PromptTemplate::parse("{brief} {facts"), Err(TemplateError::Unclosed(8)));
        assert_eq!(PromptTemplate::parse("{brief} }"), Err(TemplateError::LoneClose(8)));
        assert_eq!(PromptTemplate::parse("Write something."), Err(TemplateError::NoBrief));
        assert_eq!(PromptTemplate::parse(""), Err(TemplateError::NoBrief));
    }
}
