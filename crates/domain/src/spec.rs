//! Specializations: the platform's immutable agent templates, parsed from TOML spec files.
//!
//! Parsing keeps source spans so that every error, syntactic or semantic, names the file, line
//! and column it comes from.

use crate::event::EventType;
use crate::pattern::Pattern;
use crate::rules::{self, RawRule, RuleSet};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use toml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecType {
    Guardian,
    Specialist,
    Advisory,
}

impl SpecType {
    /// Defaults from the seed's research: guardians watch more, advisors spend least.
    pub fn default_budget(self) -> Budget {
        let (tokens_per_day, requests_per_minute) = match self {
            Self::Guardian => (100_000, 60),
            Self::Specialist => (50_000, 30),
            Self::Advisory => (10_000, 10),
        };
        let concurrent_llm_calls = Some(match self {
            Self::Guardian => 4,
            Self::Specialist => 2,
            Self::Advisory => 1,
        });
        Budget { tokens_per_day, requests_per_minute, usd_per_day: None, usd_per_month: None, concurrent_llm_calls }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub tokens_per_day: u64,
    pub requests_per_minute: u32,
    #[serde(default)]
    pub usd_per_day: Option<f64>,
    #[serde(default)]
    pub usd_per_month: Option<f64>,
    #[serde(default)]
    pub concurrent_llm_calls: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// The action the agent must never take, e.g. `merge_pull_request`.
    pub action: String,
    pub reason: String,
    /// What a decision proposing the action becomes: rejected (default) or sent to a human.
    #[serde(default)]
    pub on_violation: ConstraintResponse,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConstraintResponse {
    #[default]
    Reject,
    Escalate,
}

impl ConstraintResponse {
    pub fn verdict(self) -> crate::Verdict {
        match self {
            Self::Reject => crate::Verdict::Reject,
            Self::Escalate => crate::Verdict::Escalate,
        }
    }
}

impl Specialization {
    /// The constraint forbidding `action`, if any.
    pub fn forbids(&self, action: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.action == action)
    }
}

/// Which events that match a subscription actually concern the instance.
#[derive(Debug, Clone, Default)]
pub struct WakeFilter {
    /// Glob patterns over the paths an event carries (`payload.path`, `payload.files[]`).
    /// Events that carry no path pass; events whose paths all miss do not wake the agent.
    pub paths: Vec<String>,
    path_set: Option<GlobSet>,
}

impl WakeFilter {
    pub fn should_wake(&self, payload: &serde_json::Value) -> bool {
        let Some(set) = &self.path_set else { return true };
        let mut saw_path = false;
        let mut hit = false;
        let mut check = |v: &serde_json::Value| {
            if let Some(p) = v.as_str() {
                saw_path = true;
                hit = hit || set.is_match(p);
            }
        };
        if let Some(p) = payload.get("path") {
            check(p);
        }
        if let Some(files) = payload.get("files").and_then(|f| f.as_array()) {
            files.iter().for_each(&mut check);
        }
        !saw_path || hit
    }
}

impl Serialize for WakeFilter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            paths: &'a [String],
        }
        Out { paths: &self.paths }.serialize(s)
    }
}

/// The platform template of an agent type. Immutable once loaded.
#[derive(Debug, Clone, Serialize)]
pub struct Specialization {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub spec_type: SpecType,
    pub domain: String,
    pub version: String,
    pub expertise: Vec<String>,
    pub responsibilities: Vec<String>,
    pub capabilities: Vec<String>,
    pub constraints: Vec<Constraint>,
    #[serde(serialize_with = "ser_patterns")]
    pub subscriptions: Vec<Pattern>,
    pub wake_filter: WakeFilter,
    /// Cron expression (seconds first) for `schedule.tick` events.
    pub schedule: Option<String>,
    pub budget: Budget,
    /// Name of the work function the runtime runs on a wake.
    pub work: String,
    /// Agent-specific settings handed to the work function.
    pub settings: serde_json::Value,
    pub marketplace: Marketplace,
    /// The `[[rules]]` the rules tier of the decision engine applies, in file order.
    pub rules: RuleSet,
    /// Prompt templates for drafts, by kind (`[prompts]`; see [`crate::draft`]).
    pub prompts: std::collections::BTreeMap<String, crate::PromptTemplate>,
    /// How its outputs read (`[outputs]`; see [`crate::output_template`]).
    pub outputs: crate::OutputTemplates,
    /// The message actions it accepts from other agents, with their payload schemas
    /// (`[messages."<action>"]`; see [`crate::message`]).
    pub accepts: std::collections::BTreeMap<String, crate::AcceptedAction>,
    /// A coordinator's RACI matrix (`[[raci]]`): who does each task type, who answers for it,
    /// who is consulted and who is told.
    pub raci: Vec<Raci>,
}

/// One row of a RACI matrix: specialization ids for a task type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raci {
    pub task: String,
    pub responsible: String,
    pub accountable: String,
    #[serde(default)]
    pub consulted: Vec<String>,
    #[serde(default)]
    pub informed: Vec<String>,
}

fn ser_patterns<S: serde::Serializer>(p: &[Pattern], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.iter().map(|p| p.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    id: Spanned<String>,
    name: String,
    #[serde(rename = "type")]
    spec_type: SpecType,
    domain: String,
    version: Spanned<String>,
    #[serde(default)]
    expertise: Vec<String>,
    responsibilities: Vec<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    constraints: Vec<Constraint>,
    wake: Spanned<RawWake>,
    #[serde(default)]
    budget: Option<Spanned<Budget>>,
    work: Spanned<String>,
    #[serde(default)]
    settings: Option<toml::Table>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    marketplace: Marketplace,
    #[serde(default)]
    prompts: std::collections::BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    outputs: std::collections::BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    messages: std::collections::BTreeMap<String, Spanned<RawMessage>>,
    #[serde(default)]
    raci: Vec<Spanned<Raci>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    description: String,
    schema: toml::Table,
}

/// How the agent is offered in the marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Marketplace {
    pub vertical: Vertical,
    pub price_usd_per_month: f64,
    /// Length of the free trial.
    pub trial_days: u32,
    /// One line for the catalog page.
    pub tagline: String,
}

impl Default for Marketplace {
    fn default() -> Self {
        Self { vertical: Vertical::Platform, price_usd_per_month: 0.0, trial_days: 7, tagline: String::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vertical {
    Platform,
    Marketing,
    Sales,
    Support,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWake {
    subscriptions: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    schedule: Option<Spanned<String>>,
}

impl Specialization {
    /// Parses and validates one spec file. `known_work` lists the work functions that exist, so
    /// a spec naming a missing one fails at load rather than at its first wake.
    pub fn from_toml(file: &str, text: &str, known_work: &[&str]) -> Result<Self, SpecError> {
        let src = Source { file, text };
        let at = |span: std::ops::Range<usize>, reason: String| src.error(span, reason);
        let raw: RawSpec = src.parse()?;

        let id_ok = !raw.id.get_ref().is_empty()
            && raw.id.get_ref().len() <= 64
            && raw.id.get_ref().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(at(raw.id.span(), "id must be 1..=64 characters of a-z, 0-9 and -".into()));
        }
        if raw.version.get_ref().split('.').count() != 3 || raw.version.get_ref().split('.').any(|p| p.parse::<u32>().is_err()) {
            return Err(at(raw.version.span(), format!("version `{}` is not MAJOR.MINOR.PATCH", raw.version.get_ref())));
        }
        if !known_work.contains(&raw.work.get_ref().as_str()) {
            return Err(at(
                raw.work.span(),
                format!("work function `{}` does not exist (known: {})", raw.work.get_ref(), known_work.join(", ")),
            ));
        }
        let wake_span = raw.wake.span();
        let wake = raw.wake.into_inner();
        if wake.subscriptions.is_empty() {
            return Err(at(wake_span, "wake.subscriptions must list at least one event pattern".into()));
        }
        let mut subscriptions = Vec::with_capacity(wake.subscriptions.len());
        for s in &wake.subscriptions {
            subscriptions.push(Pattern::parse(s.get_ref()).map_err(|e| at(s.span(), e.to_string()))?);
        }
        let mut builder = GlobSetBuilder::new();
        for p in &wake.paths {
            builder.add(Glob::new(p.get_ref()).map_err(|e| at(p.span(), format!("path glob: {e}")))?);
        }
        let path_set = if wake.paths.is_empty() {
            None
        } else {
            Some(builder.build().map_err(|e| at(wake_span.clone(), format!("path globs: {e}")))?)
        };
        let schedule = match wake.schedule {
            Some(s) => {
                cron::Schedule::from_str(s.get_ref()).map_err(|e| {
                    at(s.span(), format!("schedule `{}` is not a cron expression (sec min hour day month weekday): {e}", s.get_ref()))
                })?;
                if !subscriptions.iter().any(|p| p.matches("schedule.tick")) {
                    return Err(at(s.span(), "a schedule needs a subscription matching `schedule.tick`".into()));
                }
                Some(s.into_inner())
            }
            None => None,
        };
        let settings = match raw.settings {
            Some(t) => serde_json::to_value(t).map_err(|e| at(0..0, format!("settings: {e}")))?,
            None => serde_json::json!({}),
        };
        let rules = rules::compile(src, raw.rules)?;
        if let Some(b) = &raw.budget {
            crate::BudgetLimits::from(*b.get_ref()).validate().map_err(|e| at(b.span(), e.to_string()))?;
        }
        let mut prompts = std::collections::BTreeMap::new();
        for (kind, text) in raw.prompts {
            let template = crate::PromptTemplate::parse(text.get_ref()).map_err(|e| at(text.span(), format!("prompts.{kind}: {e}")))?;
            prompts.insert(kind, template);
        }
        let mut outputs = crate::OutputTemplates::default();
        for (kind, text) in raw.outputs {
            outputs.insert(&kind, text.get_ref()).map_err(|e| at(text.span(), e))?;
        }
        let mut accepts = std::collections::BTreeMap::new();
        for (action, m) in raw.messages {
            let span = m.span();
            if EventType::parse(&action).is_err() {
                return Err(at(span, format!("messages.{action}: an action is dotted lowercase words, like `brand.check_copy`")));
            }
            let m = m.into_inner();
            let schema = serde_json::to_value(m.schema).map_err(|e| at(span.clone(), format!("messages.{action}.schema: {e}")))?;
            let accepted =
                crate::AcceptedAction::new(m.description, schema).map_err(|e| at(span, format!("messages.{action}.schema: {e}")))?;
            accepts.insert(action, accepted);
        }
        let mut raci: Vec<Raci> = Vec::with_capacity(raw.raci.len());
        for row in raw.raci {
            let span = row.span();
            let row = row.into_inner();
            if EventType::parse(&row.task).is_err() {
                return Err(at(span, format!("raci: task `{}` must be dotted lowercase words, like `content.review`", row.task)));
            }
            if raci.iter().any(|r| r.task == row.task) {
                return Err(at(span, format!("raci: task `{}` is routed twice", row.task)));
            }
            if row.responsible.is_empty() || row.accountable.is_empty() {
                return Err(at(span, format!("raci: task `{}` needs a responsible and an accountable specialization", row.task)));
            }
            raci.push(row);
        }
        Ok(Self {
            prompts,
            outputs,
            accepts,
            raci,
            id: raw.id.into_inner(),
            name: raw.name,
            budget: raw.budget.map(Spanned::into_inner).unwrap_or_else(|| raw.spec_type.default_budget()),
            spec_type: raw.spec_type,
            domain: raw.domain,
            version: raw.version.into_inner(),
            expertise: raw.expertise,
            responsibilities: raw.responsibilities,
            capabilities: raw.capabilities,
            constraints: raw.constraints,
            subscriptions,
            wake_filter: WakeFilter { paths: wake.paths.into_iter().map(Spanned::into_inner).collect(), path_set },
            schedule,
            work: raw.work.into_inner(),
            settings,
            marketplace: raw.marketplace,
            rules,
        })
    }

    /// A coordinator routes tasks by its RACI matrix; it is part of the platform, never hired.
    pub fn is_coordinator(&self) -> bool {
        !self.raci.is_empty()
    }

    /// Whether an event of this type and payload concerns an instance of this specialization.
    pub fn wakes_on(&self, event_type: &EventType, payload: &serde_json::Value) -> bool {
        self.subscriptions.iter().any(|p| p.matches(event_type.as_str())) && self.wake_filter.should_wake(payload)
    }
}

impl fmt::Display for SpecType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Guardian => "guardian",
            Self::Specialist => "specialist",
            Self::Advisory => "advisory",
        })
    }
}

/// A spec file's name and text, to turn byte spans into located errors.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    pub(crate) fn error(&self, span: std::ops::Range<usize>, reason: impl Into<String>) -> SpecError {
        let (line, column) = line_col(self.text, span.start);
        SpecError { file: self.file.to_owned(), line, column, reason: reason.into() }
    }

    /// Deserializes the whole text, locating syntax and shape errors.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, SpecError> {
        toml::from_str(self.text).map_err(|e| self.error(e.span().unwrap_or(0..0), e.message()))
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "wowvision-prime"
name = "WowVision Prime"
type = "guardian"
domain = "platform"
version = "1.0.0"
responsibilities = ["guard the vision"]
work = "wowvision.watch"

[wake]
subscriptions = ["file.*", "pull_request.opened", "schedule.tick"]
paths = ["docs/**", "**/*.md"]
schedule = "0 0 9 * * *"
"#;

    #[test]
    fn parses_a_good_spec_with_type_defaults() {
        let s = Specialization::from_toml("w.toml", GOOD, &["wowvision.watch"]).unwrap();
        assert_eq!(s.budget.tokens_per_day, 100_000);
        assert_eq!(s.budget.requests_per_minute, 60);
        let t = EventType::parse("file.created").unwrap();
        assert!(s.wakes_on(&t, &serde_json::json!({"path": "docs/a.txt"})));
        assert!(!s.wakes_on(&t, &serde_json::json!({"path": "src/main.rs"})));
        assert!(s.wakes_on(&t, &serde_json::json!({"files": ["src/x.rs", "README.md"]})));
        assert!(!s.wakes_on(&EventType::parse("issue.opened").unwrap(), &serde_json::json!({})));
    }

    #[test]
    fn prompt_templates_load_and_bad_ones_name_their_line() {
        let good = format!("{GOOD}\n[prompts]\noutreach_email = \"Write to the lead. {{brief}} Facts: {{facts}}\"\n");
        let s = Specialization::from_toml("w.toml", &good, &["wowvision.watch"]).unwrap();
        assert!(s.prompts.contains_key("outreach_email"));
        let lines = GOOD.lines().count();
        let bad = format!("{GOOD}\n[prompts]\noutreach_email = \"Write to {{lead_name}}. {{brief}}\"\n");
        let e = Specialization::from_toml("w.toml", &bad, &["wowvision.watch"]).unwrap_err();
        assert_eq!(e.line, lines + 3, "{e}");
        assert!(e.reason.contains("prompts.outreach_email") && e.reason.contains("lead_name"), "{e}");
    }

    #[test]
    fn output_templates_load_and_bad_ones_name_their_line() {
        let good = format!("{GOOD}\n[outputs]\ndeliverable_footer = \"Prepared by {{agent}} on {{date}}.\"\n");
        let s = Specialization::from_toml("w.toml", &good, &["wowvision.watch"]).unwrap();
        let footer = s.outputs.render(crate::OutputKind::DeliverableFooter, &[("agent", "Vera"), ("date", "2026-12-07")]);
        assert_eq!(footer, "Prepared by Vera on 2026-12-07.");
        let lines = GOOD.lines().count();
        for (bad, want) in [
            ("deliverable_footer = \"By {customer}\"", "`{customer}`"),
            ("pr_comment = \"x\"", "unknown output `pr_comment`"),
            ("daily_report_title = \"\"", "empty"),
        ] {
            let text = format!("{GOOD}\n[outputs]\n{bad}\n");
            let e = Specialization::from_toml("w.toml", &text, &["wowvision.watch"]).unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("w.toml", lines + 3), "{e}");
            assert!(e.reason.contains(want), "{e}");
        }
    }

    #[test]
    fn errors_name_file_line_and_reason() {
        let bad = GOOD.replace("\"file.*\"", "\"file*\"");
        let e = Specialization::from_toml("w.toml", &bad, &["wowvision.watch"]).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("w.toml", 11), "{e}");
        assert!(e.reason.contains("file*"), "{e}");

        let typo = GOOD.replace("domain =", "domian =");
        let e = Specialization::from_toml("w.toml", &typo, &["wowvision.watch"]).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.reason.contains("domian"), "{e}");

        let e = Specialization::from_toml("w.toml", GOOD, &["other"]).unwrap_err();
        assert_eq!(e.line, 8, "{e}");

        let e = Specialization::from_toml("w.toml", &GOOD.replace("0 0 9 * * *", "every day"), &["wowvision.watch"]).unwrap_err();
        assert_eq!(e.line, 13, "{e}");

        let e = Specialization::from_toml("w.toml", "id = ", &[]).unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn rules_load_with_the_spec_and_locate_errors_in_the_whole_file() {
        let with_rules =
            format!("{GOOD}\n[[rules]]\nid = \"r\"\noutcome = \"approve\"\nreason = \"ok\"\nconfidence = 1\nwhen = {{ all = [] }}\n");
        let s = Specialization::from_toml("w.toml", &with_rules, &["wowvision.watch"]).unwrap();
        assert_eq!(s.rules.len(), 1);
        assert_eq!(serde_json::to_value(&s).unwrap()["rules"][0]["id"], "r");
        assert!(Specialization::from_toml("w.toml", GOOD, &["wowvision.watch"]).unwrap().rules.is_empty());

        let bad = with_rules.replace("all = []", "field = \"x\", regex = \"[\"");
        let e = Specialization::from_toml("w.toml", &bad, &["wowvision.watch"]).unwrap_err();
        assert_eq!((e.file.as_str(), e.line, e.column), ("w.toml", 20, 31), "{e}");
        assert!(e.reason.contains("unclosed character class"), "{e}");
    }

    #[test]
    fn the_catalog_guardian_rules_decide_typical_changes() {
        use crate::decision::Verdict::{Approve, Escalate, Reject};
        use serde_json::json;
        let text = include_str!("../../../catalog/wowvision-prime.toml");
        let s = Specialization::from_toml("wowvision-prime.toml", text, &["wowvision.watch"]).unwrap();
        let decide = |ty: &str, ctx: serde_json::Value| s.rules.evaluate(ty, &ctx).map(|m| (m.rule_id, m.verdict));
        let fm = json!({"title": "Onboarding", "owner": "docs-team"});
        let cases = [
            (
                "file.change",
                json!({"path": "vision/layer1/principles.md", "change": "modified"}),
                Some(("escalate-layer1-change", Escalate)),
            ),
            (
                "pr.review",
                json!({"title": "docs: x", "files": ["docs/a.md", "vision/layer1/p.md"]}),
                Some(("escalate-layer1-change", Escalate)),
            ),
            ("pr.review", json!({"title": "chore", "files": ["config/prod.pem"]}), Some(("reject-secret-files", Reject))),
            ("file.change", json!({"path": ".env", "change": "created"}), Some(("reject-secret-files", Reject))),
            (
                "file.change",
                json!({"path": "docs/guide/setup.md", "change": "created"}),
                Some(("reject-docs-without-front-matter", Reject)),
            ),
            (
                "file.change",
                json!({"path": "docs/setup.md", "change": "modified", "front_matter": {"title": "Setup"}}),
                Some(("reject-docs-without-front-matter", Reject)),
            ),
            (
                "file.change",
                json!({"path": "docs/guide/setup.md", "change": "modified", "front_matter": fm}),
                Some(("approve-docs-with-front-matter", Approve)),
            ),
            ("file.change", json!({"path": "README.md", "change": "modified"}), None),
            ("pr.review", json!({"title": "feat: big", "files": vec!["docs/a.md"; 60]}), Some(("escalate-large-pull-request", Escalate))),
            ("pr.review", json!({"title": "docs(guide): typo", "files": ["docs/a.md"]}), Some(("approve-docs-fix-pull-request", Approve))),
            ("pr.review", json!({"title": "docs: policy", "files": ["docs/a.md", "policies/p.md"]}), None),
            ("pr.review", json!({"title": "feat: x", "files": ["docs/a.md"]}), None),
            ("issue.triage", json!({"path": "vision/layer1/p.md"}), None),
        ];
        for (ty, ctx, want) in cases {
            assert_eq!(decide(ty, ctx.clone()), want, "{ty} {ctx}");
        }
    }
}
