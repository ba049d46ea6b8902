//! Rules: the deterministic tier of the decision engine, declared as `[[rules]]` in a spec file.
//!
//! ```toml
//! [[rules]]
//! id = "reject-cure-claims"            # unique in the file, a-z 0-9 -
//! applies_to = ["content.compliance"]   # request types: exact, `prefix.*` or `*`; default all
//! outcome = "reject"                    # approve | reject | act | escalate
//! reason = "Health claims such as 'cure' need substantiation"
//! confidence = 0.98                     # 0..=1
//! fields = { fix = "remove the claim" } # optional, handed on as JSON
//! [rules.when]
//! field = "text"
//! contains_any = ["cure", "guaranteed", "miracle"]
//! ```
//!
//! A condition table holds `field` and one operator, or one combinator:
//!
//! | Operator | Holds when the field's value |
//! |---|---|
//! | `equals = v` | equals `v` (numbers compare by value: `1 == 1.0`) |
//! | `in = [v, ...]` | equals one of the values |
//! | `regex = "..."` | is a string the regex matches (anywhere; anchor with `^`/`$`) |
//! | `glob = "docs/**"` | is a string, or an array with a string element, the glob matches (`*` stops at `/`, `**` crosses it) |
//! | `gt`/`gte`/`lt`/`lte = n` | is a number within every bound given in the table |
//! | `contains_any = ["word", "two words"]` | is a string, or an array with a string element, containing one of the phrases as whole words, ignoring case |
//! | `min_len`/`max_len = n` | is a string (chars) or an array (elements) of a length within the bounds given |
//! | `exists = true/false` | is present (`true`) or missing (`false`) |
//!
//! Combinators: `{ all = [c, ...] }` (true when empty), `{ any = [c, ...] }` (false when empty),
//! `{ not = c }`.
//!
//! `field` is a dotted path into the request's `context` (`files.0.path`: numeric segments index
//! arrays), except the path `request_type`, which is the request's type. A **missing** field (no
//! such key or index, or a JSON `null`, which TOML cannot express) makes every operator false
//! except `exists = false`; `not` inverts that like anything else.
//!
//! "Whole words" means the match is neither preceded nor followed by a letter, digit or `_`; the
//! spaces of a phrase match any run of whitespace.

mod eval;
mod parse;
mod ser;
mod words;

#[cfg(test)]
mod tests;

use crate::decision::{Citation, Decision, Method, Verdict};
use crate::pattern::Pattern;
use crate::spec::SpecError;
use serde::Serialize;

pub(crate) use parse::{RawRule, compile};

pub use eval::FieldTest;

/// A compiled condition over a request.
#[derive(Debug, Clone)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Test(FieldTest),
}

impl Condition {
    /// Compiles one condition written as a TOML document, e.g. `field = "n"\ngt = 3` or
    /// `any = [{ field = "a", exists = true }]`. Errors name `file`, line and column.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, SpecError> {
        parse::condition_from_toml(file, text)
    }
}

/// One rule of a spec, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    id: String,
    /// Never empty: an omitted `applies_to` is `["*"]`.
    applies_to: Vec<Pattern>,
    verdict: Verdict,
    reason: String,
    confidence: f64,
    /// `null` when the rule declares no `fields`.
    fields: serde_json::Value,
    when: Condition,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn applies_to(&self) -> &[Pattern] {
        &self.applies_to
    }

    /// Whether the rule is considered for requests of this type.
    pub fn applies(&self, request_type: &str) -> bool {
        self.applies_to.iter().any(|p| p.matches(request_type))
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    pub fn fields(&self) -> &serde_json::Value {
        &self.fields
    }

    pub fn when(&self) -> &Condition {
        &self.when
    }
}

/// The rules of one spec, in file order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// What the first matching rule says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleMatch<'a> {
    pub rule_id: &'a str,
    pub verdict: Verdict,
    pub reason: &'a str,
    pub confidence: f64,
    pub fields: &'a serde_json::Value,
}

impl RuleSet {
    /// Compiles a TOML document holding only `[[rules]]` (the spec loader compiles the rules of
    /// a whole spec file itself).
    pub fn from_toml(file: &str, text: &str) -> Result<Self, SpecError> {
        parse::rules_from_toml(file, text)
    }

    /// The first rule, in file order, that applies to `request_type` and whose condition holds.
    /// Allocates nothing.
    pub fn evaluate(&self, request_type: &str, context: &serde_json::Value) -> Option<RuleMatch<'_>> {
        self.rules.iter().find(|r| r.applies(request_type) && r.when.evaluate(request_type, context)).map(|r| RuleMatch {
            rule_id: &r.id,
            verdict: r.verdict,
            reason: &r.reason,
            confidence: r.confidence,
            fields: &r.fields,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Rule> {
        self.rules.iter()
    }
}

impl<'a> IntoIterator for &'a RuleSet {
    type Item = &'a Rule;
    type IntoIter = std::slice::Iter<'a, Rule>;
    fn into_iter(self) -> Self::IntoIter {
        self.rules.iter()
    }
}

impl RuleMatch<'_> {
    /// The decision this match stands for, citing the rule.
    pub fn to_decision(&self) -> Decision {
        let mut d = Decision::free(self.verdict, self.reason, self.confidence, Method::Rules);
        d.fields = self.fields.clone();
        d.citations.push(Citation { kind: "rule".into(), id: self.rule_id.to_owned(), excerpt: self.reason.to_owned() });
        d
    }
}
