//! Audience fit of a candidate to the brief: countries, age band, topics.
//!
//! - Countries (weight 40): with shares (`US 62%; GB 15%`), the share of the audience in target
//!   countries, 50% or more counting fully; without shares, the top listed country in the targets
//!   scores 1, another listed one 0.5.
//! - Age (weight 30): the part of the candidate's age band inside the brief's band (share-weighted
//!   like countries when shares are given; otherwise the first band listed counts).
//! - Topics (weight 30): the fraction of the brief's topics the creator's niche covers (a topic
//!   matches when one contains the other as a word: `fitness` ~ `home fitness`).

use super::{CampaignBrief, Candidate};
use crate::skills::leads::country_code;

const W_COUNTRY: f64 = 40.0;
const W_AGE: f64 = 30.0;
const W_TOPIC: f64 = 30.0;
/// A criterion the brief sets but the CSV does not fill: neither a match nor a miss.
const UNKNOWN: f64 = 0.5;

pub(super) struct BriefFit {
    countries: Vec<String>,
    age: Option<(u32, u32)>,
    age_raw: String,
    topics: Vec<String>,
}

impl BriefFit {
    pub(super) fn new(brief: &CampaignBrief) -> Self {
        let age = brief.age_band.as_deref().and_then(parse_band);
        Self {
            countries: brief.target_countries.iter().map(|c| country_code(c)).filter(|c| !c.is_empty()).collect(),
            age,
            age_raw: brief.age_band.clone().unwrap_or_default(),
            topics: brief.topics.iter().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()).collect(),
        }
    }

    /// Fit 0-100 and one reason per criterion.
    pub(super) fn score(&self, c: &Candidate) -> (f64, Vec<String>) {
        let mut parts: Vec<(f64, f64)> = Vec::new();
        let mut reasons = Vec::new();
        if !self.countries.is_empty() {
            let (s, why) = self.country_score(c.countries.as_deref());
            parts.push((W_COUNTRY, s));
            reasons.push(why);
        }
        if let Some(band) = self.age {
            let (s, why) = self.age_score(band, c.ages.as_deref());
            parts.push((W_AGE, s));
            reasons.push(why);
        }
        if !self.topics.is_empty() {
            let (s, why) = self.topic_score(c.niche.as_deref());
            parts.push((W_TOPIC, s));
            reasons.push(why);
        }
        let weight: f64 = parts.iter().map(|(w, _)| w).sum();
        if weight == 0.0 {
            return (100.0, vec!["the brief sets no audience criteria: fit not scored".into()]);
        }
        let fit = parts.iter().map(|(w, s)| w * s).sum::<f64>() / weight * 100.0;
        (fit, reasons)
    }

    fn country_score(&self, raw: Option<&str>) -> (f64, String) {
        let Some(raw) = raw else { return (UNKNOWN, "audience country unknown (scored half)".into()) };
        let entries = shares(raw, |s| Some(country_code(s)).filter(|c| !c.is_empty()));
        let targets = self.countries.join("/");
        if entries.iter().any(|(_, share)| share.is_some()) {
            let matched: f64 = entries.iter().filter(|(c, _)| self.countries.contains(c)).filter_map(|(_, s)| *s).sum();
            let s = (matched / 50.0).min(1.0);
            return (s, format!("{matched:.0}% of the audience in {targets} → {:.0}/100", s * 100.0));
        }
        let pos = entries.iter().position(|(c, _)| self.countries.contains(c));
        let (s, why) = match pos {
            Some(0) => (1.0, "top audience country is a target"),
            Some(_) => (0.5, "a target country is in the audience, not on top"),
            None => (0.0, "no target country in the audience"),
        };
        (s, format!("{why} ({raw} vs {targets}) → {:.0}/100", s * 100.0))
    }

    fn age_score(&self, band: (u32, u32), raw: Option<&str>) -> (f64, String) {
        let Some(raw) = raw else { return (UNKNOWN, "audience age unknown (scored half)".into()) };
        let entries = shares(raw, parse_band);
        if entries.is_empty() {
            return (UNKNOWN, format!("audience age `{raw}` not understood (scored half)"));
        }
        let s = if entries.iter().any(|(_, s)| s.is_some()) {
            let inside: f64 = entries.iter().filter_map(|(b, s)| Some(overlap(*b, band) * (*s)?)).sum();
            (inside / 50.0).min(1.0)
        } else {
            entries.first().map_or(0.0, |(b, _)| overlap(*b, band))
        };
        (s, format!("audience age {raw} vs brief {} → {:.0}/100", self.age_raw, s * 100.0))
    }

    fn topic_score(&self, raw: Option<&str>) -> (f64, String) {
        let Some(raw) = raw else { return (UNKNOWN, "niche unknown (scored half)".into()) };
        let niche: Vec<String> = raw.split([';', '|', ',', '/']).map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()).collect();
        let matched: Vec<&String> = self.topics.iter().filter(|t| niche.iter().any(|n| topic_match(t, n))).collect();
        let s = matched.len() as f64 / self.topics.len() as f64;
        let which = if matched.is_empty() { "none".to_string() } else { matched.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ") };
        (s, format!("topics matched: {which} of {} → {:.0}/100", self.topics.len(), s * 100.0))
    }
}

/// `US 62%; GB 15%` -> [(US, Some(62)), (GB, Some(15))]; entries whose name does not parse are skipped.
fn shares<T>(raw: &str, parse: impl Fn(&str) -> Option<T>) -> Vec<(T, Option<f64>)> {
    raw.split([';', '|', ','])
        .filter_map(|entry| {
            let entry = entry.trim();
            let (name, share) = match entry.rsplit_once(|c: char| c.is_whitespace() || c == '(' || c == ':') {
                Some((n, s)) if s.trim_end_matches(')').ends_with('%') => {
                    (n.trim().trim_end_matches(['(', ':']).trim(), s.trim_end_matches(')').trim_end_matches('%').trim().parse::<f64>().ok())
                }
                _ => (entry, None),
            };
            Some((parse(name)?, share))
        })
        .collect()
}

/// `25-34`, `25–34`, `25 to 34`, `45+` (to 65), `18` -> inclusive range.
fn parse_band(raw: &str) -> Option<(u32, u32)> {
    let s = raw.trim().replace(['–', '—'], "-").replace(" to ", "-");
    if let Some(lo) = s.strip_suffix('+') {
        let lo: u32 = lo.trim().parse().ok()?;
        return Some((lo, lo.max(65)));
    }
    let (lo, hi) = s.split_once('-').unwrap_or((&s, &s));
    let (lo, hi): (u32, u32) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
    (lo <= hi).then_some((lo, hi))
}

/// Fraction of band `a` inside band `b`.
fn overlap(a: (u32, u32), b: (u32, u32)) -> f64 {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    if hi < lo {
        return 0.0;
    }
    f64::from(hi - lo + 1) / f64::from(a.1 - a.0 + 1)
}

fn topic_match(a: &str, b: &str) -> bool {
    let words = |s: &str| s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect::<Vec<_>>();
    let (wa, wb) = (words(a), words(b));
    a == b || (!wa.is_empty() && wa.iter().all(|w| wb.contains(w))) || (!wb.is_empty() && wb.iter().all(|w| wa.contains(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_overlap() {
        assert_eq!(parse_band("25-34"), Some((25, 34)));
        assert_eq!(parse_band("25 – 34"), Some((25, 34)));
        assert_eq!(parse_band("45+"), Some((45, 65)));
        assert_eq!(parse_band("young"), None);
        assert_eq!(overlap((25, 34), (25, 44)), 1.0);
        assert_eq!(overlap((18, 24), (25, 44)), 0.0);
        assert!((overlap((18, 27), (25, 44)) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn shares_and_countries() {
        let s = shares("US 62%; United Kingdom 15%, CA", |x| Some(country_code(x)));
        assert_eq!(s, vec![("US".into(), Some(62.0)), ("GB".into(), Some(15.0)), ("CA".into(), None)]);
        let s = shares("18-24 (40%) | 25-34 (35%)", parse_band);
        assert_eq!(s, vec![((18, 24), Some(40.0)), ((25, 34), Some(35.0))]);
    }

    #[test]
    fn topics_match_on_whole_words() {
        assert!(topic_match("fitness", "home fitness"));
        assert!(topic_match("running", "trail running"));
        assert!(!topic_match("run", "trail running"));
        assert!(!topic_match("fitness", "fashion"));
    }
}
