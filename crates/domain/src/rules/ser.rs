//! Rules serialize back to their source form (as JSON), for listings and the spec API.

use super::eval::{FieldTest, Op};
use super::{Condition, Rule, RuleSet};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

impl Serialize for RuleSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.rules)
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("Rule", 7)?;
        r.serialize_field("id", &self.id)?;
        r.serialize_field("applies_to", &self.applies_to.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        r.serialize_field("outcome", &self.verdict)?;
        r.serialize_field("reason", &self.reason)?;
        r.serialize_field("confidence", &self.confidence)?;
        if self.fields.is_null() {
            r.skip_field("fields")?;
        } else {
            r.serialize_field("fields", &self.fields)?;
        }
        r.serialize_field("when", &self.when)?;
        r.end()
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Self::All(cs) => m.serialize_entry("all", cs)?,
            Self::Any(cs) => m.serialize_entry("any", cs)?,
            Self::Not(c) => m.serialize_entry("not", c)?,
            Self::Test(t) => test_entries::<S>(&mut m, t)?,
        }
        m.end()
    }
}

fn test_entries<S: Serializer>(m: &mut S::SerializeMap, t: &FieldTest) -> Result<(), S::Error> {
    m.serialize_entry("field", &*t.path.source)?;
    let some = |m: &mut S::SerializeMap, key: &str, v: Option<f64>| match v {
        Some(v) => m.serialize_entry(key, &v),
        None => Ok(()),
    };
    match &t.op {
        Op::Equals(v) => m.serialize_entry("equals", v),
        Op::In(vs) => m.serialize_entry("in", vs),
        Op::Regex(re) => m.serialize_entry("regex", re.as_str()),
        Op::Glob(g) => m.serialize_entry("glob", g.glob().glob()),
        Op::Range { gt, gte, lt, lte } => {
            some(m, "gt", *gt)?;
            some(m, "gte", *gte)?;
            some(m, "lt", *lt)?;
            some(m, "lte", *lte)
        }
        Op::ContainsAny(ps) => m.serialize_entry("contains_any", &ps.iter().map(|p| &*p.source).collect::<Vec<_>>()),
        Op::Len { min, max } => {
            if let Some(n) = min {
                m.serialize_entry("min_len", n)?;
            }
            if let Some(n) = max {
                m.serialize_entry("max_len", n)?;
            }
            Ok(())
        }
        Op::Exists(b) => m.serialize_entry("exists", b),
    }
}
