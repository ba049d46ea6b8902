//! Ad copy against each platform's character and count limits.
//!
//! Limits (characters, per item):
//! - Google Responsive Search Ads and Microsoft Ads (same format): headlines ≤ 30, 3 to 15 of
//!   them; descriptions ≤ 90, 2 to 4; display paths ≤ 15, at most 2. Over a limit the ad is
//!   disapproved (`error`). Double-width characters (Chinese, Japanese, Korean) count 2, and
//!   `{KeyWord:Default}` insertion counts as its default text, as Google counts them.
//! - Meta: primary text recommended ≤ 125 (cut off behind "See more" beyond), headline ≤ 40
//!   (cut off beyond; recommended 27), description ≤ 30; up to 5 options each. Meta truncates
//!   rather than rejects, so length findings are `warning` (over the limit) or `info` (over
//!   the recommendation).
//! - LinkedIn: introductory text recommended ≤ 150 (hard 600), headline recommended ≤ 70 (hard
//!   200), description recommended ≤ 100 (hard 300).

use super::super::csv_input::{Severity, md_cell};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdPlatform {
    #[serde(alias = "google", alias = "google_ads")]
    GoogleRsa,
    #[serde(alias = "facebook", alias = "instagram")]
    Meta,
    #[serde(rename = "linkedin", alias = "linked_in")]
    LinkedIn,
    #[serde(alias = "microsoft", alias = "bing", alias = "microsoft_advertising")]
    MicrosoftAds,
}

impl AdPlatform {
    pub fn label(self) -> &'static str {
        match self {
            AdPlatform::GoogleRsa => "Google Ads (responsive search ad)",
            AdPlatform::Meta => "Meta (Facebook/Instagram)",
            AdPlatform::LinkedIn => "LinkedIn (single image ad)",
            AdPlatform::MicrosoftAds => "Microsoft Ads (responsive search ad)",
        }
    }
}

/// The text of one ad. Platforms use different subsets: search ads use headlines, descriptions and
/// paths; Meta and LinkedIn use `primary_text` (Meta's primary text, LinkedIn's introductory text),
/// headlines and descriptions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdCopy {
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
    pub paths: Vec<String>,
    pub primary_text: Vec<String>,
}

/// One problem with one field (or with the number of items of a kind).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyFinding {
    /// `headline 3`, `description 1`, `headlines` (for counts).
    pub field: String,
    pub text: String,
    /// Characters as the platform counts them (or the item count for count findings).
    pub length: usize,
    pub limit: usize,
    /// How far over the limit (or under the minimum) the field is.
    pub overflow: usize,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdCopyReport {
    pub platform: AdPlatform,
    pub findings: Vec<CopyFinding>,
    /// No `error` finding: the platform will accept the ad as written.
    pub passes: bool,
}

#[derive(Clone, Copy)]
enum Kind {
    Headline,
    Description,
    Path,
    PrimaryText,
}

/// Per-field rule: item count bounds, then length limits.
#[derive(Clone, Copy)]
struct Rule {
    kind: Kind,
    name: &'static str,
    min_items: usize,
    max_items: usize,
    /// Over this: `over_severity`.
    limit: usize,
    over_severity: Severity,
    /// Over this (and within `limit`): info.
    recommended: Option<usize>,
}

const fn rule(kind: Kind, name: &'static str, items: (usize, usize), limit: usize, over: Severity, rec: Option<usize>) -> Rule {
    Rule { kind, name, min_items: items.0, max_items: items.1, limit, over_severity: over, recommended: rec }
}

const SEARCH: &[Rule] = &[
    rule(Kind::Headline, "headline", (3, 15), 30, Severity::Error, None),
    rule(Kind::Description, "description", (2, 4), 90, Severity::Error, None),
    rule(Kind::Path, "path", (0, 2), 15, Severity::Error, None),
];
const META: &[Rule] = &[
    rule(Kind::PrimaryText, "primary text", (1, 5), 125, Severity::Warning, None),
    rule(Kind::Headline, "headline", (0, 5), 40, Severity::Warning, Some(27)),
    rule(Kind::Description, "description", (0, 5), 30, Severity::Warning, None),
];
// LinkedIn: the hard limits are checked separately below; these are the recommended lengths.
const LINKEDIN: &[Rule] = &[
    rule(Kind::PrimaryText, "introductory text", (1, 1), 150, Severity::Warning, None),
    rule(Kind::Headline, "headline", (0, 1), 70, Severity::Warning, None),
    rule(Kind::Description, "description", (0, 1), 100, Severity::Warning, None),
];
const LINKEDIN_HARD: [(usize, usize); 3] = [(0, 600), (1, 200), (2, 300)];

/// Checks every field of `ad` against `platform`'s limits.
pub fn check_ad_copy(ad: &AdCopy, platform: AdPlatform) -> AdCopyReport {
    let search = matches!(platform, AdPlatform::GoogleRsa | AdPlatform::MicrosoftAds);
    let rules = match platform {
        AdPlatform::GoogleRsa | AdPlatform::MicrosoftAds => SEARCH,
        AdPlatform::Meta => META,
        AdPlatform::LinkedIn => LINKEDIN,
    };
    let mut findings = Vec::new();
    for (ri, r) in rules.iter().enumerate() {
        let items = items(ad, r.kind);
        check_count(r, items, &mut findings);
        let hard = if platform == AdPlatform::LinkedIn { LINKEDIN_HARD.iter().find(|(i, _)| *i == ri).map(|(_, h)| *h) } else { None };
        for (i, text) in items.iter().enumerate() {
            let field = format!("{} {}", r.name, i + 1);
            let len = if search { search_length(text) } else { text.chars().count() };
            if text.trim().is_empty() {
                findings.push(finding(&field, text, 0, 1, 1, Severity::Error, "is empty", "write the text or remove the empty item"));
                continue;
            }
            if let Some(h) = hard.filter(|h| len > *h) {
                findings.push(over(&field, text, len, h, Severity::Error, "is over the platform's maximum; the ad is rejected"));
            } else if len > r.limit {
                let why = match r.over_severity {
                    Severity::Error => "is over the limit; the ad is disapproved",
                    _ => "is over the recommended length; it is cut off in the feed",
                };
                findings.push(over(&field, text, len, r.limit, r.over_severity, why));
            } else if let Some(rec) = r.recommended.filter(|rec| len > *rec) {
                findings.push(over(&field, text, len, rec, Severity::Info, "is over the recommended length; it may be cut off on mobile"));
            }
        }
        if search && matches!(r.kind, Kind::Headline | Kind::Description) {
            duplicates(r.name, items, &mut findings);
        }
    }
    // Fields the platform does not show are reported so the customer is not surprised.
    let unused: &[(Kind, &str)] = if search { &[(Kind::PrimaryText, "primary text")] } else { &[(Kind::Path, "path")] };
    for (kind, name) in unused {
        let n = items(ad, *kind).len();
        if n > 0 {
            let msg = format!("{n} {name} item(s) given; {} does not use them", platform.label());
            findings.push(finding(name, "", n, 0, n, Severity::Info, &msg, "move the text to a field this platform shows"));
        }
    }
    let passes = !findings.iter().any(|f| f.severity == Severity::Error);
    AdCopyReport { platform, findings, passes }
}

fn items(ad: &AdCopy, kind: Kind) -> &[String] {
    match kind {
        Kind::Headline => &ad.headlines,
        Kind::Description => &ad.descriptions,
        Kind::Path => &ad.paths,
        Kind::PrimaryText => &ad.primary_text,
    }
}

fn check_count(r: &Rule, items: &[String], out: &mut Vec<CopyFinding>) {
    let n = items.len();
    let plural = format!("{}s", r.name);
    if n > r.max_items {
        let msg = format!("{n} {plural}; at most {} are allowed", r.max_items);
        let fix = format!("remove {} {}(s)", n - r.max_items, r.name);
        out.push(finding(&plural, "", n, r.max_items, n - r.max_items, Severity::Error, &msg, &fix));
    }
    if n < r.min_items {
        let msg = format!("{n} {plural}; at least {} are required", r.min_items);
        let fix = format!("add {} more {}(s)", r.min_items - n, r.name);
        out.push(finding(&plural, "", n, r.min_items, r.min_items - n, Severity::Error, &msg, &fix));
    }
}

fn duplicates(name: &str, items: &[String], out: &mut Vec<CopyFinding>) {
    for (i, a) in items.iter().enumerate() {
        let key = a.trim().to_lowercase();
        if let Some(j) = items.iter().take(i).position(|b| b.trim().to_lowercase() == key && !key.is_empty()) {
            let msg = format!("repeats {name} {}; duplicate assets are not served", j + 1);
            out.push(finding(&format!("{name} {}", i + 1), a, 0, 0, 0, Severity::Warning, &msg, "write a different message to test"));
        }
    }
}

fn over(field: &str, text: &str, len: usize, limit: usize, severity: Severity, why: &str) -> CopyFinding {
    let msg = format!("{len} characters {why} ({limit} max, {} over)", len - limit);
    let fix = format!("shorten by {} characters to {limit} or fewer", len - limit);
    finding(field, text, len, limit, len - limit, severity, &msg, &fix)
}

#[allow(clippy::too_many_arguments)]
fn finding(
    field: &str,
    text: &str,
    length: usize,
    limit: usize,
    overflow: usize,
    severity: Severity,
    message: &str,
    fix: &str,
) -> CopyFinding {
    CopyFinding {
        field: field.to_string(),
        text: text.to_string(),
        length,
        limit,
        overflow,
        severity,
        message: message.to_string(),
        fix: fix.to_string(),
    }
}

/// Length as Google and Microsoft count it: keyword insertion counts its default text, and
/// double-width (CJK) characters count 2.
fn search_length(text: &str) -> usize {
    let mut len = 0;
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        len += width(rest.get(..start).unwrap_or(""));
        let after = rest.get(start..).unwrap_or("");
        match after.find('}') {
            Some(end) => {
                let inner = after.get(1..end).unwrap_or("");
                len += match inner.split_once(':') {
                    Some((func, default)) if func.eq_ignore_ascii_case("keyword") => width(default),
                    _ => width(after.get(..=end).unwrap_or("")),
                };
                rest = after.get(end + 1..).unwrap_or("");
            }
            None => {
                len += width(after);
                rest = "";
            }
        }
    }
    len + width(rest)
}

fn width(s: &str) -> usize {
    s.chars().map(|c| if is_double_width(c) { 2 } else { 1 }).sum()
}

fn is_double_width(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

impl AdCopyReport {
    pub fn to_markdown(&self) -> String {
        let mut md = format!("# Ad copy check: {}\n\n", self.platform.label());
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        md.push_str(&format!(
            "**{}** — {} error(s), {} warning(s), {} note(s).\n\n",
            if self.passes { "Accepted as written" } else { "Will be rejected until the errors are fixed" },
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        ));
        if self.findings.is_empty() {
            md.push_str("Every field is within the platform's limits.\n");
            return md;
        }
        md.push_str("| Severity | Field | Text | Length / limit | Problem | Fix |\n|---|---|---|---|---|---|\n");
        for f in &self.findings {
            md.push_str(&format!(
                "| {} | {} | {} | {} / {} | {} | {} |\n",
                f.severity.label(),
                md_cell(&f.field),
                md_cell(&f.text),
                f.length,
                f.limit,
                md_cell(&f.message),
                md_cell(&f.fix)
            ));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn rsa() -> AdCopy {
        AdCopy {
            headlines: s(&["Trail Running Shoes", "Free 30-Day Returns", "Shop the Spring Collection"]),
            descriptions: s(&[
                "Grippy, light and built for mud. Find your fit with our free gait check.",
                "Order by 2pm for next-day delivery.",
            ]),
            paths: s(&["running", "trail"]),
            primary_text: vec![],
        }
    }

    #[test]
    fn valid_rsa_passes_on_google_and_microsoft() {
        for p in [AdPlatform::GoogleRsa, AdPlatform::MicrosoftAds] {
            let r = check_ad_copy(&rsa(), p);
            assert!(r.passes && r.findings.is_empty(), "{:?}", r.findings);
        }
    }

    #[test]
    fn rsa_overflows_are_reported_per_field_with_the_overflow() {
        let mut ad = rsa();
        ad.headlines[1] = "Free Returns On Every Single Order".into(); // 34
        ad.descriptions[0] = "x".repeat(95);
        ad.paths[1] = "trail-running-shoes".into(); // 19
        let r = check_ad_copy(&ad, AdPlatform::GoogleRsa);
        assert!(!r.passes);
        let got: Vec<(&str, usize, usize)> = r.findings.iter().map(|f| (f.field.as_str(), f.length, f.overflow)).collect();
        assert_eq!(got, vec![("headline 2", 34, 4), ("description 1", 95, 5), ("path 2", 19, 4)]);
        assert!(r.findings.iter().all(|f| f.severity == Severity::Error));
        assert_eq!(r.findings[0].fix, "shorten by 4 characters to 30 or fewer");
    }

    #[test]
    fn rsa_counts_and_duplicates() {
        let mut ad = rsa();
        ad.headlines = (0..16).map(|i| format!("Headline {i}")).collect();
        ad.descriptions.truncate(1);
        let r = check_ad_copy(&ad, AdPlatform::GoogleRsa);
        let fields: Vec<&str> = r.findings.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["headlines", "descriptions"]);
        assert_eq!(r.findings[0].overflow, 1);
        let mut ad = rsa();
        ad.headlines.push("trail running shoes ".into());
        let r = check_ad_copy(&ad, AdPlatform::GoogleRsa);
        assert_eq!(r.findings.len(), 1);
        assert_eq!((r.findings[0].field.as_str(), r.findings[0].severity), ("headline 4", Severity::Warning));
    }

    #[test]
    fn keyword_insertion_and_double_width_count_like_google() {
        assert_eq!(search_length("Buy {KeyWord:Trail Shoes} Now"), 19);
        assert_eq!(search_length("{keyword:Shoes}"), 5);
        assert_eq!(search_length("{LOCATION(City)} deals"), 22);
        assert_eq!(search_length("跑鞋特卖"), 8);
        let mut ad = rsa();
        ad.headlines[0] = "越野跑鞋春季新品限时特惠全场包邮七天无理由".into(); // 21 chars, 42 counted
        let r = check_ad_copy(&ad, AdPlatform::GoogleRsa);
        assert_eq!((r.findings[0].length, r.findings[0].overflow), (42, 12));
    }

    #[test]
    fn meta_recommendations_and_truncation() {
        let ad = AdCopy {
            primary_text: vec!["a".repeat(140)],
            headlines: s(&["Spring trail shoes are here", "Spring trail running shoes now 20% off"]),
            descriptions: s(&["Free returns on every order, always"]),
            paths: s(&["running"]),
        };
        let r = check_ad_copy(&ad, AdPlatform::Meta);
        assert!(r.passes, "Meta truncates, it does not reject");
        let got: Vec<(&str, Severity, usize)> = r.findings.iter().map(|f| (f.field.as_str(), f.severity, f.overflow)).collect();
        assert_eq!(
            got,
            vec![
                ("primary text 1", Severity::Warning, 15),
                ("headline 2", Severity::Info, 11),
                ("description 1", Severity::Warning, 5),
                ("path", Severity::Info, 1),
            ]
        );
    }

    #[test]
    fn meta_needs_primary_text_linkedin_hard_limits() {
        let r = check_ad_copy(&AdCopy { headlines: s(&["Hi"]), ..Default::default() }, AdPlatform::Meta);
        assert!(!r.passes);
        assert_eq!(r.findings[0].field, "primary texts");
        let ad = AdCopy { primary_text: vec!["b".repeat(160)], headlines: vec!["h".repeat(210)], ..Default::default() };
        let r = check_ad_copy(&ad, AdPlatform::LinkedIn);
        let got: Vec<(&str, Severity, usize)> = r.findings.iter().map(|f| (f.field.as_str(), f.severity, f.limit)).collect();
        assert_eq!(got, vec![("introductory text 1", Severity::Warning, 150), ("headline 1", Severity::Error, 200)]);
    }

    #[test]
    fn platform_names_deserialize_with_aliases() {
        let p: Vec<AdPlatform> = serde_json::from_str(r#"["google","bing","facebook","linked_in","meta"]"#).unwrap();
        assert_eq!(p, vec![AdPlatform::GoogleRsa, AdPlatform::MicrosoftAds, AdPlatform::Meta, AdPlatform::LinkedIn, AdPlatform::Meta]);
        assert!(check_ad_copy(&rsa(), AdPlatform::GoogleRsa).to_markdown().contains("Accepted as written"));
    }
}
