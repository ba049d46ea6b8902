//! Spam-trigger scoring. Each phrase on the list carries a weight in points; an occurrence in the
//! subject or body adds its weight (each phrase counts at most twice). Formatting adds points:
//!
//! | Trigger | Points |
//! |---|---|
//! | ALL-CAPS word (4+ letters, not an allowed acronym) | 1 each, at most 5 |
//! | "!" beyond the third in the email | 1 each, at most 5 |
//! | a run of two or more "$" (`$$`, `$$$`) | 2 each, at most 4 |
//!
//! Phrase weights (whole words, case-insensitive): 3 — "100% free", "you have been selected",
//! "no credit check", "make money fast", "earn extra cash", "double your income", "this is not
//! spam", "million dollars"; 2 — "free!", "act now", "winner", "once in a lifetime", "cash
//! bonus", "free gift", "dear friend", "double your"; 1 — "click here", "buy now", "order now",
//! "call now", "apply now", "limited time", "risk-free", "no obligation", "urgent",
//! "guaranteed", "lowest price", "while supplies last", "special promotion", "exclusive deal",
//! "congratulations". These are the phrases content filters (SpamAssassin rules, mailbox
//! providers' classifiers) most often penalise in marketing mail.

use crate::skills::SkillError;
use crate::skills::content::text::phrase_set;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

pub(super) const PHRASES: &[(&str, u32)] = &[
    ("100% free", 3),
    ("you have been selected", 3),
    ("no credit check", 3),
    ("make money fast", 3),
    ("earn extra cash", 3),
    ("double your income", 3),
    ("this is not spam", 3),
    ("million dollars", 3),
    ("free!", 2),
    ("act now", 2),
    ("winner", 2),
    ("once in a lifetime", 2),
    ("cash bonus", 2),
    ("free gift", 2),
    ("dear friend", 2),
    ("double your", 2),
    ("click here", 1),
    ("buy now", 1),
    ("order now", 1),
    ("call now", 1),
    ("apply now", 1),
    ("limited time", 1),
    ("risk-free", 1),
    ("no obligation", 1),
    ("urgent", 1),
    ("guaranteed", 1),
    ("lowest price", 1),
    ("while supplies last", 1),
    ("special promotion", 1),
    ("exclusive deal", 1),
    ("congratulations", 1),
];

/// Acronyms that are not shouting.
pub(super) const DEFAULT_CAPS_ALLOWED: &[&str] =
    &["HIPAA", "GDPR", "HTML", "HTTP", "HTTPS", "JSON", "NASDAQ", "ISO", "SOC", "CRM", "B2B", "SaaS", "FAQ", "USA"];

const PER_PHRASE_MAX: usize = 2;

/// One phrase or formatting trigger found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpamHit {
    /// The phrase as listed, or `ALL CAPS`, `!`, `$$`.
    pub trigger: String,
    /// Where the first occurrence is: `subject`, `preheader`, `body line N`.
    pub location: String,
    pub count: usize,
    pub points: u32,
}

pub(super) struct Weighted {
    re: Regex,
    weights: BTreeMap<String, u32>,
}

impl Weighted {
    pub(super) fn new(extra: &BTreeMap<String, u32>) -> Result<Self, SkillError> {
        let mut weights: BTreeMap<String, u32> = PHRASES.iter().map(|(p, w)| (p.to_lowercase(), *w)).collect();
        for (p, w) in extra {
            weights.insert(p.trim().to_lowercase(), *w);
        }
        let phrases: Vec<String> = weights.keys().cloned().collect();
        let re = phrase_set(&phrases)?.ok_or_else(|| SkillError::Invalid("no spam phrases configured".into()))?;
        Ok(Self { re, weights })
    }

    /// Phrase hits in the parts, each `(location of part, text, line offset finder)`.
    pub(super) fn scan(&self, parts: &[(&str, &str)], locate: impl Fn(&str, &str) -> String) -> Vec<SpamHit> {
        let mut hits: BTreeMap<String, SpamHit> = BTreeMap::new();
        for (part, text) in parts {
            for m in self.re.find_iter(text) {
                let key = m.as_str().split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
                let Some(&weight) = self.weights.get(&key) else { continue };
                let hit = hits.entry(key.clone()).or_insert_with(|| SpamHit {
                    trigger: key,
                    location: locate(part, m.as_str()),
                    count: 0,
                    points: 0,
                });
                hit.count += 1;
                hit.points = weight * hit.count.min(PER_PHRASE_MAX) as u32;
            }
        }
        hits.into_values().collect()
    }
}

static CAPS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z]{3,}\b").ok());
static DOLLARS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\${2,}").ok());

/// ALL-CAPS words not on the allowed list, in order of appearance.
pub(super) fn caps_words(text: &str, allowed: &[String]) -> Vec<String> {
    CAPS.as_ref().map_or_else(Vec::new, |re| {
        re.find_iter(text).map(|m| m.as_str().to_owned()).filter(|w| !allowed.iter().any(|a| a.eq_ignore_ascii_case(w))).collect()
    })
}

/// Formatting triggers over the whole email text (subject, preheader and visible body).
pub(super) fn formatting(all: &str, allowed: &[String]) -> Vec<SpamHit> {
    let mut out = Vec::new();
    let caps = caps_words(all, allowed);
    if !caps.is_empty() {
        let mut shown: Vec<&str> = caps.iter().map(String::as_str).collect();
        shown.dedup();
        shown.truncate(5);
        out.push(SpamHit { trigger: "ALL CAPS".into(), location: shown.join(", "), count: caps.len(), points: caps.len().min(5) as u32 });
    }
    let bangs = all.matches('!').count();
    if bangs > 3 {
        out.push(SpamHit {
            trigger: "!".into(),
            location: format!("{bangs} in the email"),
            count: bangs,
            points: (bangs - 3).min(5) as u32,
        });
    }
    let dollars = DOLLARS.as_ref().map_or(0, |re| re.find_iter(all).count());
    if dollars > 0 {
        out.push(SpamHit {
            trigger: "$$".into(),
            location: format!("{dollars} run(s)"),
            count: dollars,
            points: (dollars * 2).min(4) as u32,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_weighted_and_capped_per_phrase() {
        let w = Weighted::new(&BTreeMap::new()).unwrap();
        let hits = w.scan(&[("body", "Act now! ACT NOW. act now, a winner. 100% free stuff")], |p, _| p.to_string());
        let got: Vec<(&str, usize, u32)> = hits.iter().map(|h| (h.trigger.as_str(), h.count, h.points)).collect();
        assert_eq!(got, vec![("100% free", 1, 3), ("act now", 3, 4), ("winner", 1, 2)]);
    }

    #[test]
    fn extra_phrases_extend_the_list() {
        let extra = BTreeMap::from([("crypto giveaway".to_string(), 4)]);
        let w = Weighted::new(&extra).unwrap();
        let hits = w.scan(&[("subject", "Our Crypto  Giveaway")], |p, _| p.to_string());
        assert_eq!((hits[0].trigger.as_str(), hits[0].points), ("crypto giveaway", 4));
    }

    #[test]
    fn formatting_triggers() {
        let allowed: Vec<String> = DEFAULT_CAPS_ALLOWED.iter().map(|s| s.to_string()).collect();
        let hits = formatting("HUGE SALE on HIPAA tools!!!!! Save $$$ now", &allowed);
        let got: Vec<(&str, usize, u32)> = hits.iter().map(|h| (h.trigger.as_str(), h.count, h.points)).collect();
        assert_eq!(got, vec![("ALL CAPS", 2, 2), ("!", 5, 2), ("$$", 1, 2)]);
    }
}
