//! Live memory counts per kind and per instance, to estimate how many memories a filter admits:
//! the graph search sizes its oversampling from it, and skips the graph for rare filters.

use std::collections::HashMap;
use waooaw_domain::InstanceId;

#[derive(Debug, Default)]
pub(crate) struct Census {
    live: usize,
    /// Indexed by interned kind id.
    by_kind: Vec<usize>,
    /// `None`: the tenant's shared memories.
    by_instance: HashMap<Option<InstanceId>, usize>,
}

impl Census {
    pub(crate) fn add(&mut self, kind: u32, instance_id: Option<InstanceId>) {
        self.live += 1;
        let kind = kind as usize;
        if self.by_kind.len() <= kind {
            self.by_kind.resize(kind + 1, 0);
        }
        if let Some(n) = self.by_kind.get_mut(kind) {
            *n += 1;
        }
        *self.by_instance.entry(instance_id).or_default() += 1;
    }

    pub(crate) fn remove(&mut self, kind: u32, instance_id: Option<InstanceId>) {
        self.live = self.live.saturating_sub(1);
        if let Some(n) = self.by_kind.get_mut(kind as usize) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = self.by_instance.get_mut(&instance_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_instance.remove(&instance_id);
            }
        }
    }

    /// Expected number of live memories admitted by an instance filter and a kind filter,
    /// assuming kind and instance are independent.
    pub(crate) fn expected_matches(&self, instance_id: Option<InstanceId>, kinds: Option<&[u32]>) -> f64 {
        if self.live == 0 {
            return 0.0;
        }
        let live = self.live as f64;
        let kind_share = kinds.map_or(1.0, |kinds| kinds.iter().filter_map(|&k| self.by_kind.get(k as usize)).sum::<usize>() as f64 / live);
        let instance_share = instance_id.map_or(1.0, |i| {
            let own = self.by_instance.get(&Some(i)).copied().unwrap_or(0);
            let shared = self.by_instance.get(&None).copied().unwrap_or(0);
            (own + shared) as f64 / live
        });
        live * kind_share * instance_share
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_follow_adds_and_removes() {
        let (x, y) = (InstanceId::new(), InstanceId::new());
        let mut census = Census::default();
        for i in 0..100u32 {
            let instance = match i % 4 {
                0 => None,
                1 => Some(x),
                _ => Some(y),
            };
            census.add(i % 5, instance);
        }
        assert_eq!(census.expected_matches(None, None), 100.0);
        assert_eq!(census.expected_matches(Some(x), None), 50.0); // 25 own + 25 shared
        assert_eq!(census.expected_matches(None, Some(&[0, 1])), 40.0);
        assert_eq!(census.expected_matches(Some(x), Some(&[0])), 10.0);
        assert_eq!(census.expected_matches(None, Some(&[])), 0.0);
        census.remove(0, None);
        assert_eq!(census.expected_matches(None, Some(&[0])), 19.0);
        assert_eq!(Census::default().expected_matches(Some(x), None), 0.0);
    }
}
