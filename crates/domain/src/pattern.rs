//! Subscription patterns (`file.*`, `pull_request.opened`, `*`) and the index that finds the
//! subscribers of an event type without scanning every instance.

use crate::event::EventType;
use crate::ids::TenantId;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("subscription pattern `{0}` is invalid: use an event type (`file.created`), a prefix ending in `.*` (`file.*`), or `*`")]
pub struct PatternError(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `*`: every event of the tenant.
    All,
    /// `a.b.*`: every type whose leading segments are `a.b`; holds `a.b`.
    Prefix(Box<str>),
    Exact(Box<str>),
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Self, PatternError> {
        if s == "*" {
            return Ok(Self::All);
        }
        if let Some(prefix) = s.strip_suffix(".*") {
            // A prefix is valid if it would be a valid type's leading segments.
            return EventType::parse(&format!("{prefix}.x")).map(|_| Self::Prefix(prefix.into())).map_err(|_| PatternError(s.to_owned()));
        }
        EventType::parse(s).map(|_| Self::Exact(s.into())).map_err(|_| PatternError(s.to_owned()))
    }

    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Self::All => true,
            Self::Exact(t) => &**t == event_type,
            Self::Prefix(p) => event_type.len() > p.len() + 1 && event_type.starts_with(&**p) && event_type.as_bytes()[p.len()] == b'.',
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Prefix(p) => write!(f, "{p}.*"),
            Self::Exact(t) => f.write_str(t),
        }
    }
}

#[derive(Debug)]
struct TenantSubscriptions<K> {
    exact: HashMap<Box<str>, Vec<K>>,
    prefix: HashMap<Box<str>, Vec<K>>,
    all: Vec<K>,
}

impl<K> Default for TenantSubscriptions<K> {
    fn default() -> Self {
        Self { exact: HashMap::new(), prefix: HashMap::new(), all: Vec::new() }
    }
}

impl<K> TenantSubscriptions<K> {
    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.all.is_empty()
    }
}

/// Subscribers by tenant, then by pattern. A lookup costs one hash probe per segment of the
/// event type, whatever the number of instances.
#[derive(Debug)]
pub struct SubscriptionIndex<K> {
    tenants: HashMap<TenantId, TenantSubscriptions<K>>,
}

impl<K> Default for SubscriptionIndex<K> {
    fn default() -> Self {
        Self { tenants: HashMap::new() }
    }
}

impl<K: Copy + Eq + Ord> SubscriptionIndex<K> {
    pub fn insert(&mut self, tenant: TenantId, key: K, patterns: &[Pattern]) {
        let subs = self.tenants.entry(tenant).or_default();
        for p in patterns {
            let list = match p {
                Pattern::All => &mut subs.all,
                Pattern::Prefix(pre) => subs.prefix.entry(pre.clone()).or_default(),
                Pattern::Exact(t) => subs.exact.entry(t.clone()).or_default(),
            };
            if !list.contains(&key) {
                list.push(key);
            }
        }
    }

    pub fn remove(&mut self, tenant: TenantId, key: K, patterns: &[Pattern]) {
        let Some(subs) = self.tenants.get_mut(&tenant) else { return };
        for p in patterns {
            match p {
                Pattern::All => subs.all.retain(|k| *k != key),
                Pattern::Prefix(pre) => remove_from(&mut subs.prefix, pre, key),
                Pattern::Exact(t) => remove_from(&mut subs.exact, t, key),
            }
        }
        if subs.is_empty() {
            self.tenants.remove(&tenant);
        }
    }

    /// Every subscriber of `event_type` within `tenant`, each once, in key order.
    pub fn matches(&self, tenant: TenantId, event_type: &str) -> Vec<K> {
        let Some(subs) = self.tenants.get(&tenant) else { return Vec::new() };
        let mut out: Vec<K> = subs.all.clone();
        if let Some(list) = subs.exact.get(event_type) {
            out.extend_from_slice(list);
        }
        for (i, b) in event_type.bytes().enumerate() {
            if b == b'.'
                && let Some(list) = subs.prefix.get(&event_type[..i])
            {
                out.extend_from_slice(list);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn remove_from<K: Eq>(map: &mut HashMap<Box<str>, Vec<K>>, pattern: &str, key: K) {
    if let Some(list) = map.get_mut(pattern) {
        list.retain(|k| *k != key);
        if list.is_empty() {
            map.remove(pattern);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(Pattern::parse("*").unwrap(), Pattern::All);
        assert_eq!(Pattern::parse("file.*").unwrap(), Pattern::Prefix("file".into()));
        assert_eq!(Pattern::parse("a.b.*").unwrap(), Pattern::Prefix("a.b".into()));
        assert_eq!(Pattern::parse("file.created").unwrap(), Pattern::Exact("file.created".into()));
        for bad in ["", "**", "file*", "*.created", "File.*", ".*", "file.*.x"] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefix_matches_whole_segments_only() {
        let p = Pattern::parse("file.*").unwrap();
        assert!(p.matches("file.created"));
        assert!(p.matches("file.x.y"));
        assert!(!p.matches("files.created"));
        assert!(!p.matches("file"));
    }

    #[test]
    fn index_is_scoped_by_tenant() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let mut idx = SubscriptionIndex::default();
        idx.insert(a, 1u32, &[Pattern::parse("file.*").unwrap()]);
        idx.insert(b, 2u32, &[Pattern::All]);
        assert_eq!(idx.matches(a, "file.created"), vec![1]);
        assert_eq!(idx.matches(b, "file.created"), vec![2]);
        idx.remove(a, 1, &[Pattern::parse("file.*").unwrap()]);
        assert!(idx.matches(a, "file.created").is_empty());
    }
}
