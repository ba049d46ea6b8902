//! The marketplace agents: each is a [`SkillAgent`] (see `skill_agent.rs`) whose skill reads the
//! uploaded document with the options from its spec's `[settings]` and writes a deliverable.
//! Adding an agent with existing logic is a spec file naming one of these work functions.

mod answers;
mod enablement;
mod marketing;
mod sales;
mod text;

use crate::skill_agent::{Document, SkillAgent};
use crate::skills::SkillError;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use waooaw_domain::NewDeliverable;
use waooaw_runtime::WorkRegistry;

/// Every marketplace agent's work function.
pub fn register(r: &mut WorkRegistry) {
    for agent in sales::AGENTS.iter().chain(marketing::AGENTS).chain(text::AGENTS) {
        r.register(
            agent.name,
            Arc::new(SkillAgent { name: agent.name, accepts: agent.accepts, skill: agent.skill, answers: agent.answers }),
        );
    }
    r.register(enablement::WORK_NAME, Arc::new(enablement::AnswerObjections));
}

/// The options under `[settings.<key>]` of the spec, or the skill's defaults.
pub(crate) fn options<T: DeserializeOwned + Default>(doc: &Document<'_>, key: &str) -> Result<T, SkillError> {
    match doc.settings.get(key) {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| SkillError::Invalid(format!("spec settings `{key}`: {e}"))),
    }
}

pub(crate) fn deliverable(kind: &str, title: String, body_markdown: String) -> crate::skill_agent::SkillOutput {
    NewDeliverable { kind: kind.to_owned(), title, body_markdown }.into()
}

/// A work function's definition, before it is registered.
pub(crate) struct AgentDef {
    pub name: &'static str,
    pub accepts: &'static [&'static str],
    pub skill: crate::skill_agent::SkillFn,
    /// Request actions it answers for other agents.
    pub answers: &'static [(&'static str, crate::consults::AnswerFn)],
}

/// The visible text of a page (for checks that read prose).
pub(crate) fn html_text(page: &str) -> String {
    let doc = scraper::Html::parse_document(page);
    let mut out = String::new();
    for t in doc.root_element().text() {
        let t = t.trim();
        if !t.is_empty() {
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}
