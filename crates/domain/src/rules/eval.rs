//! Evaluating compiled conditions against a request. Nothing here allocates: paths, regexes,
//! globs and phrases were all prepared at load.

use super::Condition;
use super::words::Phrase;
use globset::GlobMatcher;
use regex::Regex;
use serde_json::{Number, Value};

/// Conditions nest at most this deep, so evaluation's recursion is bounded.
pub(crate) const MAX_DEPTH: usize = 32;

/// `field` plus one operator.
#[derive(Debug, Clone)]
pub struct FieldTest {
    pub(crate) path: FieldPath,
    pub(crate) op: Op,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldPath {
    pub(crate) source: Box<str>,
    /// `None`: the request type.
    pub(crate) segments: Option<Box<[Segment]>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) key: Box<str>,
    /// Set when the segment is a number, to index arrays.
    pub(crate) index: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Equals(Value),
    In(Vec<Value>),
    Regex(Regex),
    Glob(GlobMatcher),
    Range { gt: Option<f64>, gte: Option<f64>, lt: Option<f64>, lte: Option<f64> },
    ContainsAny(Vec<Phrase>),
    Len { min: Option<usize>, max: Option<usize> },
    Exists(bool),
}

/// A resolved field: the request type is a plain `&str`, not a JSON value.
#[derive(Clone, Copy)]
enum Field<'a> {
    Json(&'a Value),
    Str(&'a str),
}

impl<'a> Field<'a> {
    fn as_str(self) -> Option<&'a str> {
        match self {
            Self::Str(s) => Some(s),
            Self::Json(v) => v.as_str(),
        }
    }

    /// The strings a string-or-array-of-strings operator looks at.
    fn any_str(self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            Self::Str(s) => f(s),
            Self::Json(Value::String(s)) => f(s),
            Self::Json(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(f),
            Self::Json(_) => false,
        }
    }

    fn equals(self, want: &Value) -> bool {
        match self {
            Self::Str(s) => want.as_str() == Some(s),
            Self::Json(v) => json_eq(v, want),
        }
    }
}

impl Condition {
    /// Whether the condition holds for a request of `request_type` with this `context`.
    pub fn evaluate(&self, request_type: &str, context: &Value) -> bool {
        match self {
            Self::All(cs) => cs.iter().all(|c| c.evaluate(request_type, context)),
            Self::Any(cs) => cs.iter().any(|c| c.evaluate(request_type, context)),
            Self::Not(c) => !c.evaluate(request_type, context),
            Self::Test(t) => t.evaluate(request_type, context),
        }
    }
}

impl FieldTest {
    fn evaluate(&self, request_type: &str, context: &Value) -> bool {
        let Some(field) = self.path.resolve(request_type, context) else {
            return matches!(self.op, Op::Exists(false));
        };
        match &self.op {
            Op::Exists(want) => *want,
            Op::Equals(v) => field.equals(v),
            Op::In(vs) => vs.iter().any(|v| field.equals(v)),
            Op::Regex(re) => field.as_str().is_some_and(|s| re.is_match(s)),
            Op::Glob(g) => field.any_str(|s| g.is_match(s)),
            Op::ContainsAny(phrases) => field.any_str(|s| super::words::contains_any(s, phrases)),
            Op::Range { gt, gte, lt, lte } => {
                let Field::Json(Value::Number(n)) = field else { return false };
                let Some(x) = n.as_f64() else { return false };
                gt.is_none_or(|b| x > b) && gte.is_none_or(|b| x >= b) && lt.is_none_or(|b| x < b) && lte.is_none_or(|b| x <= b)
            }
            Op::Len { min, max } => {
                let len = match field {
                    Field::Str(s) => s.chars().count(),
                    Field::Json(Value::String(s)) => s.chars().count(),
                    Field::Json(Value::Array(a)) => a.len(),
                    Field::Json(_) => return false,
                };
                min.is_none_or(|m| len >= m) && max.is_none_or(|m| len <= m)
            }
        }
    }
}

impl FieldPath {
    /// `None` when the field is missing or `null`.
    fn resolve<'a>(&self, request_type: &'a str, context: &'a Value) -> Option<Field<'a>> {
        let Some(segments) = &self.segments else { return Some(Field::Str(request_type)) };
        let mut cur = context;
        for seg in segments.iter() {
            cur = match cur {
                Value::Object(m) => m.get(&*seg.key)?,
                Value::Array(a) => a.get(seg.index?)?,
                _ => return None,
            };
        }
        (!cur.is_null()).then_some(Field::Json(cur))
    }
}

/// JSON equality where numbers compare by value, so a TOML `1` equals a JSON `1.0`.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => a == b,
    }
}

fn num_eq(x: &Number, y: &Number) -> bool {
    // Integers compare exactly; only when a float is involved do both go through f64.
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a == b;
    }
    if x.is_f64() || y.is_f64() {
        return x.as_f64().zip(y.as_f64()).is_some_and(|(a, b)| a == b);
    }
    // One negative i64 and one u64 above i64::MAX.
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_and_integers_exactly() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!([1, {"a": 2.0}]), &json!([1.0, {"a": 2}])));
        assert!(!json_eq(&json!(u64::MAX), &json!(-1)));
        assert!(!json_eq(&json!(9_007_199_254_740_993u64), &json!(9_007_199_254_740_992u64)));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }
}
