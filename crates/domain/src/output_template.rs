//! Output templates: how an agent's outputs read, declared in its spec file's `[outputs]`
//! table. Each kind of output has its own placeholders, checked at load (an unknown kind or
//! placeholder is an error naming the file and line); a kind the spec leaves out uses the
//! platform's default text.
//!
//! ```toml
//! [outputs]
//! deliverable_footer = "Prepared by {agent}, your {specialization}, on {date}."
//! daily_report_title = "{agent}'s day: {date}"
//! escalation_issue_title = "[{agent}] needs a decision: {request_type}"
//! ```

use crate::template::{TemplateError, pieces, render};
use serde::Serialize;
use std::collections::BTreeMap;

/// A kind of output a spec may template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Markdown appended to every deliverable the agent produces (empty by default).
    DeliverableFooter,
    /// The daily report's title, as a deliverable and as a GitHub issue.
    DailyReportTitle,
    /// The title of the GitHub issue that asks a human to answer an escalation.
    EscalationIssueTitle,
    /// The title of the GitHub issue filed for a vision-policy violation (WowVision Prime).
    ViolationIssueTitle,
}

impl OutputKind {
    pub const ALL: [OutputKind; 4] =
        [Self::DeliverableFooter, Self::DailyReportTitle, Self::EscalationIssueTitle, Self::ViolationIssueTitle];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeliverableFooter => "deliverable_footer",
            Self::DailyReportTitle => "daily_report_title",
            Self::EscalationIssueTitle => "escalation_issue_title",
            Self::ViolationIssueTitle => "violation_issue_title",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The placeholders the kind offers.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Self::DeliverableFooter => &["agent", "specialization", "date"],
            Self::DailyReportTitle => &["agent", "specialization", "date"],
            Self::EscalationIssueTitle => &["agent", "specialization", "request_type"],
            Self::ViolationIssueTitle => &["layer", "rule", "path"],
        }
    }

    /// The platform's text when the spec gives none.
    pub fn default_template(self) -> &'static str {
        match self {
            Self::DeliverableFooter => "",
            Self::DailyReportTitle => "Daily report: {agent} ({specialization}), {date}",
            Self::EscalationIssueTitle => "Needs a decision: {request_type} from {agent} ({specialization})",
            Self::ViolationIssueTitle => "Vision policy (layer {layer}): {rule} in {path}",
        }
    }
}

/// A spec's output templates, checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutputTemplates(BTreeMap<OutputKind, String>);

impl OutputTemplates {
    /// Adds the template for the kind named `kind`; the error names what is wrong.
    pub fn insert(&mut self, kind: &str, text: &str) -> Result<(), String> {
        let k = OutputKind::parse(kind).ok_or_else(|| {
            let known = OutputKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
            format!("unknown output `{kind}` (known: {known})")
        })?;
        pieces(text, k.placeholders()).map_err(|e| format!("outputs.{kind}: {e}"))?;
        if text.trim().is_empty() && k != OutputKind::DeliverableFooter {
            return Err(format!("outputs.{kind}: {}", TemplateError::Empty));
        }
        self.0.insert(k, text.to_owned());
        Ok(())
    }

    /// The output of `kind`: the spec's template or the default, with each placeholder's value
    /// from `vars` (a placeholder missing there renders empty).
    pub fn render(&self, kind: OutputKind, vars: &[(&str, &str)]) -> String {
        let t = self.0.get(&kind).map_or(kind.default_template(), String::as_str);
        render(t, kind.placeholders(), |name| vars.iter().find(|(k, _)| *k == name).map_or_else(String::new, |(_, v)| (*v).to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_with_their_placeholders_and_fall_back_to_defaults() {
        let mut t = OutputTemplates::default();
        t.insert("daily_report_title", "{agent}'s day ({{{date}}})").unwrap();
        let vars = [("agent", "Sage"), ("specialization", "SEO"), ("date", "2026-12-07")];
        assert_eq!(t.render(OutputKind::DailyReportTitle, &vars), "Sage's day ({2026-12-07})");
        assert_eq!(
            t.render(OutputKind::EscalationIssueTitle, &[("agent", "Sage"), ("request_type", "x.y")]),
            "Needs a decision: x.y from Sage ()"
        );
        assert_eq!(t.render(OutputKind::DeliverableFooter, &vars), "");
    }

    #[test]
    fn bad_templates_name_the_kind_and_the_problem() {
        let mut t = OutputTemplates::default();
        let e = t.insert("deliverable_footnote", "x").unwrap_err();
        assert!(e.contains("unknown output `deliverable_footnote`") && e.contains("deliverable_footer"), "{e}");
        let e = t.insert("violation_issue_title", "{rule} by {agent}").unwrap_err();
        assert!(e.contains("outputs.violation_issue_title") && e.contains("`{agent}`") && e.contains("{layer}, {rule}, {path}"), "{e}");
        let e = t.insert("daily_report_title", "  ").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        assert!(t.insert("daily_report_title", "Report {date").unwrap_err().contains("unclosed"));
    }
}
