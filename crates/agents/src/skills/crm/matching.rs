//! Duplicate detection: candidate pairs from shared keys (blocking), a score per pair, groups by
//! union-find over pairs at or above the merge threshold.
//!
//! Blocks: same email, same phone key, same company key, same name initials (first letter of the
//! first and last word). Only pairs sharing a block are compared, so the work stays near linear
//! for real contact lists; a block larger than [`MAX_BLOCK`] is skipped and reported.

use super::normalize::{company_key, domain, name_key, phone_key};
use super::{Conflict, Contact, DedupeOptions, FIELDS, FieldPick, MergeProposal};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use strsim::jaro_winkler;

pub const MAX_BLOCK: usize = 5000;

/// A pair close enough to look at, not close enough to merge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewPair {
    pub lines: (usize, usize),
    pub score: f64,
    pub evidence: Vec<String>,
}

struct Keys {
    name: String,
    company: String,
    phone: String,
}

/// Score and evidence for one pair, `None` below every rule.
fn score_pair(a: &Contact, ka: &Keys, b: &Contact, kb: &Keys, o: &DedupeOptions) -> Option<(f64, Vec<String>)> {
    let name_sim = (!ka.name.is_empty() && !kb.name.is_empty()).then(|| jaro_winkler(&ka.name, &kb.name));
    let company_sim = (!ka.company.is_empty() && !kb.company.is_empty()).then(|| jaro_winkler(&ka.company, &kb.company));
    let mut best: Option<(f64, Vec<String>)> = None;
    let mut consider = |score: f64, evidence: Vec<String>| {
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, evidence));
        }
    };
    let names = |s: f64| format!("names {s:.2} similar");
    if let (Some(ea), Some(eb)) = (&a.email, &b.email)
        && ea == eb
    {
        match name_sim {
            Some(s) if s < 0.80 => consider(0.85, vec![format!("same email {ea}"), format!("but names differ ({s:.2}): shared mailbox?")]),
            _ => consider(1.0, vec![format!("same email {ea}")]),
        }
    }
    if let Some(ns) = name_sim {
        if !ka.phone.is_empty() && ka.phone == kb.phone && ns >= 0.85 {
            consider(0.95, vec!["same phone".into(), names(ns)]);
        }
        if ns >= o.name_threshold {
            match company_sim {
                Some(cs) if cs >= o.company_threshold => consider((ns + cs) / 2.0, vec![names(ns), format!("companies {cs:.2} similar")]),
                Some(_) => {}
                None => {
                    let same_domain = match (a.email.as_deref().and_then(domain), b.email.as_deref().and_then(domain)) {
                        (Some(da), Some(db)) if da == db && !super::super::leads::is_free_mail(da) => Some(da),
                        _ => None,
                    };
                    match same_domain {
                        Some(d) => consider((ns + 1.0) / 2.0 * 0.95, vec![names(ns), format!("same company domain {d}")]),
                        None => consider(0.85 * ns, vec![names(ns), "no company to compare".into()]),
                    }
                }
            }
        }
    }
    best
}

/// Merge proposals, review pairs, and the number of blocks too large to compare.
pub(super) fn find_duplicates(contacts: &[Contact], o: &DedupeOptions) -> (Vec<MergeProposal>, Vec<ReviewPair>, usize) {
    let keys: Vec<Keys> = contacts
        .iter()
        .map(|c| Keys {
            name: c.name.as_deref().map(name_key).unwrap_or_default(),
            company: c.company.as_deref().map(company_key).unwrap_or_default(),
            phone: c.phone.as_deref().map(phone_key).unwrap_or_default(),
        })
        .collect();
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (c, k)) in contacts.iter().zip(&keys).enumerate() {
        let mut add = |key: String| blocks.entry(key).or_default().push(i);
        if let Some(e) = &c.email {
            add(format!("e:{e}"));
        }
        if !k.phone.is_empty() {
            add(format!("p:{}", k.phone));
        }
        if !k.company.is_empty() {
            add(format!("c:{}", k.company));
        }
        let words: Vec<&str> = k.name.split(' ').filter(|w| !w.is_empty()).collect();
        if let (Some(f), Some(l)) = (words.first().and_then(|w| w.chars().next()), words.last().and_then(|w| w.chars().next())) {
            add(format!("n:{f}{l}"));
        }
    }
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut pairs: Vec<(usize, usize, f64, Vec<String>)> = Vec::new();
    let mut skipped = 0;
    let mut block_list: Vec<&Vec<usize>> = blocks.values().collect();
    block_list.sort();
    for members in block_list {
        if members.len() > MAX_BLOCK {
            skipped += 1;
            continue;
        }
        for (x, &i) in members.iter().enumerate() {
            for &j in members.iter().skip(x + 1) {
                if !seen.insert((i.min(j), i.max(j))) {
                    continue;
                }
                let (Some(a), Some(b), Some(ka), Some(kb)) = (contacts.get(i), contacts.get(j), keys.get(i), keys.get(j)) else { continue };
                if let Some((s, ev)) = score_pair(a, ka, b, kb, o).filter(|(s, _)| *s >= o.review_threshold) {
                    pairs.push((i.min(j), i.max(j), s, ev));
                }
            }
        }
    }
    pairs.sort_by_key(|p| (p.0, p.1));

    let mut parent: Vec<usize> = (0..contacts.len()).collect();
    for (i, j, s, _) in &pairs {
        if *s >= o.merge_threshold {
            let (ri, rj) = (find(&mut parent, *i), find(&mut parent, *j));
            if let Some(slot) = parent.get_mut(ri.max(rj)) {
                *slot = ri.min(rj);
            }
        }
    }
    let roots: Vec<usize> = (0..contacts.len()).map(|i| find(&mut parent, i)).collect();
    let line = |k: usize| contacts.get(k).map_or(0, |c| c.line);
    // A pair below the merge threshold whose records are grouped anyway (through a third
    // record) needs no second look.
    let reviews = pairs
        .iter()
        .filter(|(i, j, s, _)| *s < o.merge_threshold && roots.get(*i) != roots.get(*j))
        .map(|(i, j, s, ev)| ReviewPair { lines: (line(*i), line(*j)), score: *s, evidence: ev.clone() })
        .collect();
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, root) in roots.iter().enumerate() {
        groups.entry(*root).or_default().push(i);
    }
    let proposals = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let inside: Vec<&(usize, usize, f64, Vec<String>)> =
                pairs.iter().filter(|p| p.2 >= o.merge_threshold && g.contains(&p.0) && g.contains(&p.1)).collect();
            let score = inside.iter().map(|p| p.2).fold(1.0, f64::min);
            let evidence: Vec<String> =
                inside.iter().map(|p| format!("lines {} and {}: {}", line(p.0), line(p.1), p.3.join(", "))).collect();
            let members: Vec<&Contact> = g.iter().filter_map(|&i| contacts.get(i)).collect();
            propose(&members, score, evidence)
        })
        .collect();
    (proposals, reviews, skipped)
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while let Some(&p) = parent.get(i) {
        if p == i {
            break;
        }
        let grand = parent.get(p).copied().unwrap_or(p);
        if let Some(slot) = parent.get_mut(i) {
            *slot = grand;
        }
        i = p;
    }
    i
}

/// Keep the most complete record; fill its gaps from the others in line order; list conflicts.
fn propose(members: &[&Contact], score: f64, evidence: Vec<String>) -> MergeProposal {
    let keep = members.iter().copied().max_by(|a, b| a.filled().cmp(&b.filled()).then(b.line.cmp(&a.line)));
    let keep_line = keep.map_or(0, |k| k.line);
    let mut fields = Vec::new();
    let mut conflicts = Vec::new();
    for f in FIELDS {
        let source = keep.filter(|k| k.field(f).is_some()).or_else(|| members.iter().copied().find(|m| m.field(f).is_some()));
        if let Some((value, from)) = source.and_then(|s| Some((s.field(f)?, s.line))) {
            fields.push(FieldPick { field: f, value: value.to_string(), from_line: from });
        }
        let mut distinct: Vec<(usize, String)> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for m in members {
            if let Some(v) = m.field(f) {
                let k = compare_key(f, v);
                if !keys.contains(&k) {
                    keys.push(k);
                    distinct.push((m.line, v.to_string()));
                }
            }
        }
        if distinct.len() > 1 {
            conflicts.push(Conflict { field: f, values: distinct });
        }
    }
    MergeProposal {
        keep_line,
        keep_id: keep.and_then(|k| k.id.clone()),
        lines: members.iter().map(|m| m.line).collect(),
        fields,
        conflicts,
        score,
        evidence,
    }
}

/// Values that differ only in formatting are not conflicts.
fn compare_key(field: &str, v: &str) -> String {
    match field {
        "phone" => phone_key(v),
        "company" => company_key(v),
        "name" => name_key(v),
        _ => v.to_lowercase(),
    }
}
