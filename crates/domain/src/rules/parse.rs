//! From TOML to compiled rules. Every value keeps its span, so each refusal names the line and
//! column of the offending item.

use super::eval::{FieldPath, FieldTest, MAX_DEPTH, Op, Segment};
use super::words::Phrase;
use super::{Condition, Rule, RuleSet};
use crate::decision::Verdict;
use crate::pattern::Pattern;
use crate::spec::{Source, SpecError};
use globset::GlobBuilder;
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    id: Spanned<String>,
    #[serde(default)]
    applies_to: Option<Spanned<Vec<Spanned<String>>>>,
    outcome: Spanned<String>,
    reason: Spanned<String>,
    confidence: Spanned<f64>,
    #[serde(default)]
    fields: Option<Spanned<toml::Table>>,
    when: Spanned<RawCondition>,
}

type Sp<T> = Option<Spanned<T>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: Sp<String>,
    equals: Sp<toml::Value>,
    #[serde(rename = "in")]
    in_: Sp<Vec<toml::Value>>,
    regex: Sp<String>,
    glob: Sp<String>,
    gt: Sp<f64>,
    gte: Sp<f64>,
    lt: Sp<f64>,
    lte: Sp<f64>,
    contains_any: Sp<Vec<Spanned<String>>>,
    min_len: Sp<usize>,
    max_len: Sp<usize>,
    exists: Sp<bool>,
    all: Sp<Vec<Spanned<RawCondition>>>,
    any: Sp<Vec<Spanned<RawCondition>>>,
    not: Option<Box<Spanned<RawCondition>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    rules: Vec<RawRule>,
}

pub(crate) fn rules_from_toml(file: &str, text: &str) -> Result<RuleSet, SpecError> {
    let src = Source { file, text };
    compile(src, src.parse::<RawRules>()?.rules)
}

pub(crate) fn condition_from_toml(file: &str, text: &str) -> Result<Condition, SpecError> {
    let src = Source { file, text };
    condition(src, src.parse()?, 0)
}

pub(crate) fn compile(src: Source<'_>, raw: Vec<RawRule>) -> Result<RuleSet, SpecError> {
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(raw.len());
    for r in raw {
        let id_ok = (1..=64).contains(&r.id.get_ref().len())
            && r.id.get_ref().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(src.error(r.id.span(), "rule id must be 1..=64 characters of a-z, 0-9 and -"));
        }
        if !seen.insert(r.id.get_ref().clone()) {
            return Err(src.error(r.id.span(), format!("rule id `{}` is already used by an earlier rule", r.id.get_ref())));
        }
        let applies_to = match r.applies_to {
            None => vec![Pattern::All],
            Some(list) if list.get_ref().is_empty() => {
                return Err(src.error(list.span(), "applies_to is empty, so the rule would never apply; omit it to apply to every request"));
            }
            Some(list) => list
                .into_inner()
                .iter()
                .map(|p| {
                    Pattern::parse(p.get_ref()).map_err(|_| {
                        let reason = format!("applies_to `{}` is not a request type (`pr.review`), a prefix (`pr.*`) or `*`", p.get_ref());
                        src.error(p.span(), reason)
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let verdict = Verdict::parse(r.outcome.get_ref()).ok_or_else(|| {
            src.error(r.outcome.span(), format!("outcome `{}` is not one of approve, reject, act, escalate", r.outcome.get_ref()))
        })?;
        if r.reason.get_ref().trim().is_empty() {
            return Err(src.error(r.reason.span(), "reason must say why, it is shown with every decision the rule makes"));
        }
        let confidence = *r.confidence.get_ref();
        if !(0.0..=1.0).contains(&confidence) {
            return Err(src.error(r.confidence.span(), format!("confidence {confidence} is outside 0..=1")));
        }
        let fields = match r.fields {
            Some(t) => {
                let span = t.span();
                to_json(toml::Value::Table(t.into_inner())).map_err(|e| src.error(span, format!("fields: {e}")))?
            }
            None => serde_json::Value::Null,
        };
        let when = condition(src, r.when, 0)?;
        rules.push(Rule { id: r.id.into_inner(), applies_to, verdict, reason: r.reason.into_inner(), confidence, fields, when });
    }
    Ok(RuleSet { rules })
}

/// Which operator (or combinator) a key belongs to; `gt`..`lte` and `min_len`/`max_len` each
/// make one operator together.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Equals,
    In,
    Regex,
    Glob,
    Range,
    ContainsAny,
    Len,
    Exists,
    All,
    Any,
    Not,
}

fn condition(src: Source<'_>, raw: Spanned<RawCondition>, depth: usize) -> Result<Condition, SpecError> {
    let table = raw.span();
    let mut c = raw.into_inner();
    if depth >= MAX_DEPTH {
        return Err(src.error(table, format!("conditions nest deeper than {MAX_DEPTH} levels")));
    }
    let mut keys: Vec<(Kind, &'static str, Range<usize>)> = Vec::new();
    let mut key = |kind, name, span: Option<Range<usize>>| {
        if let Some(span) = span {
            keys.push((kind, name, span));
        }
    };
    key(Kind::Equals, "equals", c.equals.as_ref().map(Spanned::span));
    key(Kind::In, "in", c.in_.as_ref().map(Spanned::span));
    key(Kind::Regex, "regex", c.regex.as_ref().map(Spanned::span));
    key(Kind::Glob, "glob", c.glob.as_ref().map(Spanned::span));
    key(Kind::Range, "gt", c.gt.as_ref().map(Spanned::span));
    key(Kind::Range, "gte", c.gte.as_ref().map(Spanned::span));
    key(Kind::Range, "lt", c.lt.as_ref().map(Spanned::span));
    key(Kind::Range, "lte", c.lte.as_ref().map(Spanned::span));
    key(Kind::ContainsAny, "contains_any", c.contains_any.as_ref().map(Spanned::span));
    key(Kind::Len, "min_len", c.min_len.as_ref().map(Spanned::span));
    key(Kind::Len, "max_len", c.max_len.as_ref().map(Spanned::span));
    key(Kind::Exists, "exists", c.exists.as_ref().map(Spanned::span));
    key(Kind::All, "all", c.all.as_ref().map(Spanned::span));
    key(Kind::Any, "any", c.any.as_ref().map(Spanned::span));
    key(Kind::Not, "not", c.not.as_ref().map(|n| n.span()));
    keys.sort_by_key(|(_, _, span)| span.start);
    let Some((kind, name, _)) = keys.first().cloned() else {
        return Err(src.error(
            table,
            "condition has no operator: give `field` and one of equals, in, regex, glob, gt/gte/lt/lte, contains_any, \
             min_len/max_len, exists; or use all, any, not",
        ));
    };
    if let Some((_, second, span)) = keys.iter().find(|(k, _, _)| *k != kind) {
        let reason = format!("condition has two operators, `{name}` and `{second}`: a table holds one; combine them with `all = [...]`");
        return Err(src.error(span.clone(), reason));
    }

    if matches!(kind, Kind::All | Kind::Any | Kind::Not) {
        if let Some(f) = &c.field {
            return Err(src.error(f.span(), format!("`field` does not belong beside `{name}`; put it in the inner conditions")));
        }
        let list = |l: Spanned<Vec<Spanned<RawCondition>>>| -> Result<Vec<Condition>, SpecError> {
            l.into_inner().into_iter().map(|c| condition(src, c, depth + 1)).collect()
        };
        return match (c.all, c.any, c.not) {
            (Some(l), _, _) => Ok(Condition::All(list(l)?)),
            (_, Some(l), _) => Ok(Condition::Any(list(l)?)),
            (_, _, Some(inner)) => Ok(Condition::Not(Box::new(condition(src, *inner, depth + 1)?))),
            (None, None, None) => Err(src.error(table, "condition has no operator")),
        };
    }

    let Some(field) = c.field.take() else {
        return Err(src.error(table, format!("condition with `{name}` needs a `field` to test")));
    };
    let path = parse_path(field.get_ref()).map_err(|e| src.error(field.span(), e))?;
    let op = leaf_op(src, c, table)?;
    Ok(Condition::Test(FieldTest { path, op }))
}

/// The operator of a leaf table already checked to hold exactly one.
fn leaf_op(src: Source<'_>, c: RawCondition, table: Range<usize>) -> Result<Op, SpecError> {
    if let Some(v) = c.equals {
        let span = v.span();
        return Ok(Op::Equals(to_json(v.into_inner()).map_err(|e| src.error(span, e))?));
    }
    if let Some(v) = c.in_ {
        let span = v.span();
        if v.get_ref().is_empty() {
            return Err(src.error(span, "in = [] never matches; list at least one value"));
        }
        return Ok(Op::In(v.into_inner().into_iter().map(to_json).collect::<Result<_, _>>().map_err(|e| src.error(span, e))?));
    }
    if let Some(re) = c.regex {
        return Ok(Op::Regex(regex::Regex::new(re.get_ref()).map_err(|e| src.error(re.span(), regex_reason(re.get_ref(), &e)))?));
    }
    if let Some(g) = c.glob {
        // `*` stops at `/` so that `vision/*` means the folder's own files; `**` crosses folders.
        let glob = GlobBuilder::new(g.get_ref()).literal_separator(true).build();
        return Ok(Op::Glob(glob.map_err(|e| src.error(g.span(), format!("invalid glob: {e}")))?.compile_matcher()));
    }
    if c.gt.is_some() || c.gte.is_some() || c.lt.is_some() || c.lte.is_some() {
        let bound = |b: Sp<f64>| match b {
            Some(b) if !b.get_ref().is_finite() => Err(src.error(b.span(), "a bound must be a finite number")),
            b => Ok(b.map(Spanned::into_inner)),
        };
        return Ok(Op::Range { gt: bound(c.gt)?, gte: bound(c.gte)?, lt: bound(c.lt)?, lte: bound(c.lte)? });
    }
    if let Some(list) = c.contains_any {
        if list.get_ref().is_empty() {
            return Err(src.error(list.span(), "contains_any = [] never matches; list at least one word"));
        }
        let phrases =
            list.into_inner().into_iter().map(|w| Phrase::new(w.get_ref()).ok_or_else(|| src.error(w.span(), "a phrase needs a word")));
        return Ok(Op::ContainsAny(phrases.collect::<Result<_, _>>()?));
    }
    if c.min_len.is_some() || c.max_len.is_some() {
        if let (Some(min), Some(max)) = (&c.min_len, &c.max_len)
            && min.get_ref() > max.get_ref()
        {
            return Err(src.error(max.span(), format!("max_len {} is below min_len {}", max.get_ref(), min.get_ref())));
        }
        return Ok(Op::Len { min: c.min_len.map(Spanned::into_inner), max: c.max_len.map(Spanned::into_inner) });
    }
    match c.exists {
        Some(e) => Ok(Op::Exists(e.into_inner())),
        None => Err(src.error(table, "condition has no operator")),
    }
}

/// A regex error on one line: its syntax errors draw a caret diagram over several.
fn regex_reason(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default().trim_start_matches("error: ");
    format!("invalid regex `{pattern}`: {last}")
}

/// `request_type`, or a dotted path into the context whose numeric segments also index arrays.
fn parse_path(s: &str) -> Result<FieldPath, String> {
    if s == "request_type" {
        return Ok(FieldPath { source: s.into(), segments: None });
    }
    if s.split('.').any(str::is_empty) {
        return Err(format!("field `{s}` is not a dotted path like `files.0.path` (empty segment)"));
    }
    let segments = s
        .split('.')
        .map(|seg| Segment {
            key: seg.into(),
            // Digits only: `usize::from_str` would also take `+1`.
            index: if seg.bytes().all(|b| b.is_ascii_digit()) { seg.parse().ok() } else { None },
        })
        .collect();
    Ok(FieldPath { source: s.into(), segments: Some(segments) })
}

/// TOML to JSON, keeping datetimes as their TOML text.
fn to_json(v: toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map(J::Number).ok_or_else(|| format!("{f} has no JSON form"))?,
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(to_json).collect::<Result<_, _>>()?),
        toml::Value::Table(t) => J::Object(t.into_iter().map(|(k, v)| Ok((k, to_json(v)?))).collect::<Result<_, String>>()?),
    })
}
