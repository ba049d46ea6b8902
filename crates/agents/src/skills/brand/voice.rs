//! Brand voice of a piece of copy: banned and required words, the tagline, headline case and
//! exclamation marks.
//!
//! Score: 100 minus, per rule, a penalty per breach up to a cap — banned word use 10 each (cap
//! 40), missing required phrase 10 each (cap 30), tagline missing 20 or misquoted 10, headline
//! in the wrong case 5 each (cap 15), exclamation mark over the limit 5 each (cap 15); floor 0.

use std::fmt::Write;

use regex::Regex;
use serde::Serialize;

use super::{BrandGuide, HeadlineCase};
use crate::skills::html::Severity;
use crate::skills::html::report::md;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Empty,
    Banned,
    Required,
    Tagline,
    HeadlineCase,
    Exclamation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceFinding {
    pub rule: Rule,
    pub severity: Severity,
    pub line: Option<usize>,
    /// The text at fault as written.
    pub found: Option<String>,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaglineStatus {
    /// The guide sets no tagline.
    NotSet,
    Exact {
        line: usize,
    },
    /// Only near-misses were found (other case or punctuation).
    Variant {
        line: usize,
        found: String,
    },
    Missing,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrandReport {
    pub brand: Option<String>,
    /// 0..=100, see the module docs for the penalties.
    pub score: u8,
    pub words: usize,
    pub exclamations: usize,
    pub tagline: TaglineStatus,
    pub required_missing: Vec<String>,
    /// In order of line.
    pub findings: Vec<VoiceFinding>,
}

impl BrandReport {
    pub fn count(&self, rule: Rule) -> usize {
        self.findings.iter().filter(|f| f.rule == rule).count()
    }

    pub fn to_markdown(&self) -> String {
        markdown(self)
    }
}

/// Checks copy (plain text or Markdown) against the guide. Never fails: empty copy is itself a
/// finding.
pub fn check_voice(text: &str, guide: &BrandGuide) -> BrandReport {
    let lines = LineIndex::new(text);
    let mut findings = Vec::new();
    let words = text.split_whitespace().count();
    if text.trim().is_empty() {
        findings.push(VoiceFinding {
            rule: Rule::Empty,
            severity: Severity::Error,
            line: None,
            found: None,
            message: "The copy is empty".into(),
            fix: "Upload the draft text to check".into(),
        });
        return BrandReport {
            brand: guide.brand.clone(),
            score: 0,
            words: 0,
            exclamations: 0,
            tagline: if guide.tagline.is_some() { TaglineStatus::Missing } else { TaglineStatus::NotSet },
            required_missing: guide.required.clone(),
            findings,
        };
    }
    banned(text, guide, &lines, &mut findings);
    let required_missing = required(text, guide, &mut findings);
    let tagline = tagline(text, guide, &lines, &mut findings);
    if let Some(case) = guide.headline_case {
        headlines(text, case, guide, &mut findings);
    }
    let exclamations = exclamations(text, guide, &lines, &mut findings);
    findings.sort_by_key(|f| f.line.unwrap_or(0));
    BrandReport { brand: guide.brand.clone(), score: score(&findings), words, exclamations, tagline, required_missing, findings }
}

fn score(findings: &[VoiceFinding]) -> u8 {
    let penalty = |rule: Rule, each: u32, cap: u32| {
        let n = u32::try_from(findings.iter().filter(|f| f.rule == rule && f.severity >= Severity::Warning).count()).unwrap_or(u32::MAX);
        n.saturating_mul(each).min(cap)
    };
    let tagline =
        findings.iter().filter(|f| f.rule == Rule::Tagline).map(|f| if f.severity == Severity::Error { 20 } else { 10 }).max().unwrap_or(0);
    let total = penalty(Rule::Banned, 10, 40)
        + penalty(Rule::Required, 10, 30)
        + tagline
        + penalty(Rule::HeadlineCase, 5, 15)
        + penalty(Rule::Exclamation, 5, 15);
    u8::try_from(100u32.saturating_sub(total)).unwrap_or(0)
}

/// Byte offset to 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// A case-insensitive regex for a word or phrase: whole words, any run of whitespace between
/// words, and a straight apostrophe also matching a curly one.
fn phrase_regex(phrase: &str) -> Option<Regex> {
    let words: Vec<String> = phrase.split_whitespace().map(|w| regex::escape(w).replace('\'', "['’]")).collect();
    let first = phrase.trim().chars().next()?;
    let last = phrase.trim().chars().last()?;
    let start = if first.is_alphanumeric() { r"\b" } else { "" };
    let end = if last.is_alphanumeric() { r"\b" } else { "" };
    Regex::new(&format!("(?i){start}{}{end}", words.join(r"\s+"))).ok()
}

/// Capitalises the replacement when the banned word was capitalised (start of a sentence).
fn match_case(found: &str, replacement: &str) -> String {
    let starts_upper = found.chars().next().is_some_and(char::is_uppercase);
    let mut chars = replacement.chars();
    match chars.next() {
        Some(c) if starts_upper => c.to_uppercase().chain(chars).collect(),
        _ => replacement.to_string(),
    }
}

/// A guide entry that cannot be searched for (blank, or too long for a regex) is reported, not
/// silently dropped.
fn unusable_entry(rule: Rule, entry: &str) -> VoiceFinding {
    VoiceFinding {
        rule,
        severity: Severity::Info,
        line: None,
        found: None,
        message: format!("The brand guide entry {:?} could not be checked", entry.chars().take(60).collect::<String>()),
        fix: "Fix the entry in the brand guide: a word or short phrase".into(),
    }
}

fn banned(text: &str, guide: &BrandGuide, lines: &LineIndex, findings: &mut Vec<VoiceFinding>) {
    for (word, replacement) in &guide.banned {
        let Some(re) = phrase_regex(word) else {
            findings.push(unusable_entry(Rule::Banned, word));
            continue;
        };
        for m in re.find_iter(text) {
            let found = m.as_str();
            let fix = if replacement.trim().is_empty() {
                format!("Remove \"{found}\"")
            } else {
                format!("Replace \"{found}\" with \"{}\"", match_case(found, replacement.trim()))
            };
            findings.push(VoiceFinding {
                rule: Rule::Banned,
                severity: Severity::Warning,
                line: Some(lines.line(m.start())),
                found: Some(found.to_string()),
                message: format!("\"{found}\" is on the brand's banned list"),
                fix,
            });
        }
    }
}

fn required(text: &str, guide: &BrandGuide, findings: &mut Vec<VoiceFinding>) -> Vec<String> {
    let mut missing = Vec::new();
    for phrase in &guide.required {
        let Some(re) = phrase_regex(phrase) else {
            findings.push(unusable_entry(Rule::Required, phrase));
            continue;
        };
        if !re.is_match(text) {
            missing.push(phrase.clone());
            findings.push(VoiceFinding {
                rule: Rule::Required,
                severity: Severity::Warning,
                line: None,
                found: None,
                message: format!("The required phrase \"{phrase}\" does not appear"),
                fix: format!("Work \"{phrase}\" into the copy, ideally in the opening or closing lines"),
            });
        }
    }
    missing
}

fn letters(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn tagline(text: &str, guide: &BrandGuide, lines: &LineIndex, findings: &mut Vec<VoiceFinding>) -> TaglineStatus {
    let Some(tagline) = guide.tagline.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return TaglineStatus::NotSet;
    };
    // The tagline's words with any punctuation or spacing between them, plus trailing sentence
    // punctuation, finds both the exact tagline and its near-misses.
    let words: Vec<String> = tagline.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(regex::escape).collect();
    let pattern = format!(r"(?i)\b{}\b[.!?…]*", words.join(r"[^\p{L}\p{N}]+"));
    let Some(re) = Regex::new(&pattern).ok().filter(|_| !words.is_empty()) else {
        return TaglineStatus::Missing;
    };
    let mut exact = None;
    let mut variant = None;
    for m in re.find_iter(text) {
        let line = lines.line(m.start());
        let found = m.as_str();
        if found == tagline {
            exact.get_or_insert(line);
            continue;
        }
        let case = letters(found) != letters(tagline);
        let punct = found.chars().filter(|c| !c.is_alphanumeric()).collect::<String>()
            != tagline.chars().filter(|c| !c.is_alphanumeric()).collect::<String>();
        let how = match (case, punct) {
            (true, true) => "case and punctuation differ",
            (true, false) => "case differs",
            _ => "punctuation differs",
        };
        variant.get_or_insert((line, found.to_string()));
        findings.push(VoiceFinding {
            rule: Rule::Tagline,
            severity: Severity::Warning,
            line: Some(line),
            found: Some(found.to_string()),
            message: format!("The tagline is misquoted as \"{found}\" ({how})"),
            fix: format!("Write it exactly: \"{tagline}\""),
        });
    }
    match (exact, variant) {
        (Some(line), _) => TaglineStatus::Exact { line },
        (None, Some((line, found))) => TaglineStatus::Variant { line, found },
        (None, None) => {
            findings.push(VoiceFinding {
                rule: Rule::Tagline,
                severity: Severity::Error,
                line: None,
                found: None,
                message: "The tagline does not appear".into(),
                fix: format!("Add the tagline exactly as \"{tagline}\", usually as the sign-off"),
            });
            TaglineStatus::Missing
        }
    }
}

/// Markdown ATX headings; without any, a short first line (at most 12 words, no final period)
/// is taken as the headline.
fn headline_lines(text: &str) -> Vec<(usize, String)> {
    let headings: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start();
            let rest = t.trim_start_matches('#');
            let level = t.len() - rest.len();
            ((1..=6).contains(&level) && rest.starts_with(' ')).then(|| (i + 1, rest.trim().trim_end_matches('#').trim().to_string()))
        })
        .filter(|(_, h)| !h.is_empty())
        .collect();
    if !headings.is_empty() {
        return headings;
    }
    text.lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .filter(|(_, l)| l.split_whitespace().count() <= 12 && !l.trim_end().ends_with('.'))
        .map(|(i, l)| vec![(i + 1, l.trim().to_string())])
        .unwrap_or_default()
}

/// Short words title case leaves lower-case (articles, conjunctions, short prepositions).
const MINOR: [&str; 19] =
    ["a", "an", "the", "and", "but", "or", "nor", "for", "so", "yet", "as", "at", "by", "in", "of", "off", "on", "to", "up"];

fn headlines(text: &str, case: HeadlineCase, guide: &BrandGuide, findings: &mut Vec<VoiceFinding>) {
    let is_proper = |w: &str| {
        let core = letters(w);
        guide.proper_nouns.iter().chain(guide.brand.iter()).any(|p| p.split_whitespace().any(|pw| letters(pw) == core))
    };
    for (line, headline) in headline_lines(text) {
        let words: Vec<&str> = headline.split_whitespace().collect();
        let mut fixed = Vec::with_capacity(words.len());
        let mut wrong = Vec::new();
        let mut after_break = false;
        for (i, word) in words.iter().enumerate() {
            let core = letters(word);
            let first_alpha = word.chars().find(|c| c.is_alphabetic());
            let acronym = core.chars().filter(|c| c.is_alphabetic()).count() > 1 && !core.chars().any(char::is_lowercase);
            let exempt = first_alpha.is_none() || acronym || is_proper(word) || core.chars().any(|c| c.is_ascii_digit()) || core == "I";
            let upper = first_alpha.is_some_and(char::is_uppercase);
            // After a colon or a sentence end inside a headline either case is accepted.
            let want_upper = match case {
                HeadlineCase::Sentence if i == 0 => Some(true),
                HeadlineCase::Sentence if after_break => None,
                HeadlineCase::Sentence => Some(false),
                HeadlineCase::Title => Some(i == 0 || i + 1 == words.len() || !MINOR.contains(&core.to_lowercase().as_str())),
            };
            match want_upper {
                Some(want) if !exempt && upper != want => {
                    wrong.push(*word);
                    fixed.push(set_first_case(word, want));
                }
                _ => fixed.push((*word).to_string()),
            }
            // After a colon or sentence end, sentence case starts a new capitalised phrase.
            after_break = word.ends_with([':', '.', '?', '!']);
        }
        if wrong.is_empty() {
            continue;
        }
        let style = if case == HeadlineCase::Sentence { "sentence case" } else { "title case" };
        findings.push(VoiceFinding {
            rule: Rule::HeadlineCase,
            severity: Severity::Warning,
            line: Some(line),
            found: Some(headline.clone()),
            message: format!("Headline \"{headline}\" is not in {style} ({})", wrong.join(", ")),
            fix: format!("Write it as \"{}\"", fixed.join(" ")),
        });
    }
}

fn set_first_case(word: &str, upper: bool) -> String {
    let mut done = false;
    word.chars()
        .flat_map(|c| {
            if !done && c.is_alphabetic() {
                done = true;
                if upper { c.to_uppercase().collect::<Vec<_>>() } else { c.to_lowercase().collect() }
            } else {
                vec![c]
            }
        })
        .collect()
}

fn exclamations(text: &str, guide: &BrandGuide, lines: &LineIndex, findings: &mut Vec<VoiceFinding>) -> usize {
    let marks: Vec<usize> = text.match_indices('!').map(|(i, _)| i).collect();
    for &offset in marks.iter().skip(guide.max_exclamations) {
        findings.push(VoiceFinding {
            rule: Rule::Exclamation,
            severity: Severity::Warning,
            line: Some(lines.line(offset)),
            found: Some("!".into()),
            message: format!("Exclamation mark over the limit of {} ({} in the copy)", guide.max_exclamations, marks.len()),
            fix: "End the sentence with a full stop; let the words carry the energy".into(),
        });
    }
    marks.len()
}

fn markdown(r: &BrandReport) -> String {
    let mut out = String::new();
    let brand = r.brand.as_deref().map(|b| format!(" for {b}")).unwrap_or_default();
    let _ = writeln!(out, "# Brand voice check{}\n", md(&brand));
    let _ = writeln!(out, "**Score: {}/100** — {} finding(s) in {} words.\n", r.score, r.findings.len(), r.words);
    let tagline = match &r.tagline {
        TaglineStatus::NotSet => "not set in the guide".to_string(),
        TaglineStatus::Exact { line } => format!("present, exact (line {line})"),
        TaglineStatus::Variant { line, found } => format!("misquoted as \"{}\" (line {line})", md(found)),
        TaglineStatus::Missing => "missing".to_string(),
    };
    let _ = writeln!(out, "- Tagline: {tagline}");
    let missing = if r.required_missing.is_empty() { "none".to_string() } else { md(&r.required_missing.join(", ")) };
    let _ = writeln!(out, "- Required phrases missing: {missing}");
    let _ = writeln!(out, "- Exclamation marks: {}", r.exclamations);
    if r.findings.is_empty() {
        out.push_str("\nThe copy is on brand.\n");
        return out;
    }
    let _ = writeln!(out, "\n## Findings\n\n| Line | Rule | Problem | Fix |\n|---:|---|---|---|");
    for f in &r.findings {
        let line = f.line.map(|l| l.to_string()).unwrap_or_else(|| "–".into());
        let rule = match f.rule {
            Rule::Empty => "empty",
            Rule::Banned => "banned word",
            Rule::Required => "required phrase",
            Rule::Tagline => "tagline",
            Rule::HeadlineCase => "headline case",
            Rule::Exclamation => "exclamation",
        };
        let _ = writeln!(out, "| {line} | {rule} | {} | {} |", md(&f.message), md(&f.fix));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide() -> BrandGuide {
        let mut g = BrandGuide {
            brand: Some("Northfield".into()),
            tagline: Some("Made to be mended.".into()),
            required: vec!["Northfield".into(), "free UK delivery".into()],
            proper_nouns: vec!["Chelsea".into(), "UK".into()],
            ..Default::default()
        };
        g.banned.insert("cheap".into(), "great value".into());
        g.banned.insert("world-class".into(), "well made".into());
        g.banned.insert("best in the world".into(), String::new());
        g
    }

    #[test]
    fn banned_words_whole_word_any_case() {
        let r = check_voice("Cheap boots.\nNot cheapest, just cheap!\nBest in\nthe world? World-class.", &guide());
        let got: Vec<(Option<usize>, Option<&str>, &str)> =
            r.findings.iter().filter(|f| f.rule == Rule::Banned).map(|f| (f.line, f.found.as_deref(), f.fix.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(1), Some("Cheap"), "Replace \"Cheap\" with \"Great value\""),
                (Some(2), Some("cheap"), "Replace \"cheap\" with \"great value\""),
                (Some(3), Some("Best in\nthe world"), "Remove \"Best in\nthe world\""),
                (Some(4), Some("World-class"), "Replace \"World-class\" with \"Well made\""),
            ]
        );
    }

    #[test]
    fn tagline_exact_variant_missing() {
        let g = guide();
        assert_eq!(check_voice("Boots. Made to be mended.", &g).tagline, TaglineStatus::Exact { line: 1 });
        let r = check_voice("Boots.\nmade to be mended!", &g);
        assert_eq!(r.tagline, TaglineStatus::Variant { line: 2, found: "made to be mended!".into() });
        assert!(r.findings.iter().any(|f| f.message.contains("case and punctuation differ")));
        let r = check_voice("Boots.\nMade To Be Mended.", &g);
        assert!(r.findings.iter().any(|f| f.message.contains("(case differs)")));
        let r = check_voice("Boots, made to last.", &g);
        assert_eq!(r.tagline, TaglineStatus::Missing);
    }

    #[test]
    fn required_and_exclamations_and_score() {
        let r = check_voice("Wow! New boots! Cheap!\nMade to be mended.", &guide());
        assert_eq!(r.required_missing, vec!["Northfield", "free UK delivery"]);
        assert_eq!(r.exclamations, 3);
        assert_eq!(r.count(Rule::Exclamation), 2);
        // banned 10 + required 2×10 + exclamations 2×5 = 40.
        assert_eq!(r.score, 60);
    }

    #[test]
    fn sentence_and_title_case() {
        let g = BrandGuide { headline_case: Some(HeadlineCase::Sentence), ..guide() };
        let r = check_voice("# Our New Chelsea Boot: Built For UK winters\n\nBody.", &g);
        let f = r.findings.iter().find(|f| f.rule == Rule::HeadlineCase).unwrap();
        assert_eq!(f.fix, "Write it as \"Our new Chelsea boot: Built for UK winters\"");
        let ok = check_voice("# Why a Chelsea boot lasts\n\nBody.", &g);
        assert_eq!(ok.count(Rule::HeadlineCase), 0);
        let g = BrandGuide { headline_case: Some(HeadlineCase::Title), ..guide() };
        let r = check_voice("Boots for the long walk home\n\nBody text here.", &g);
        let f = r.findings.iter().find(|f| f.rule == Rule::HeadlineCase).unwrap();
        assert_eq!(f.fix, "Write it as \"Boots for the Long Walk Home\"");
    }

    #[test]
    fn blank_guide_entries_reported() {
        let mut g = guide();
        g.banned.insert("  ".into(), "x".into());
        let r = check_voice("Northfield, free UK delivery. Made to be mended.", &g);
        assert_eq!(r.findings.len(), 1);
        assert_eq!((r.findings[0].severity, r.score), (Severity::Info, 100));
    }

    #[test]
    fn empty_copy() {
        let r = check_voice(" \n", &guide());
        assert_eq!((r.score, r.count(Rule::Empty)), (0, 1));
    }
}
