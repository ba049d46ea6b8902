//! Keyword density in the visible text.
//!
//! Words are runs of letters and digits, compared case-insensitively; the keyword is split the
//! same way, so "men's boots" matches "Men’s boots". Density = occurrences × words in the keyword
//! ÷ visible words × 100 (the share of the text the phrase takes up).

use serde::Serialize;

use super::content::ContentFacts;
use super::dom::{Document, visible_text};
use super::head::HeadFacts;
use super::{Audit, Check, Finding, SeoOptions, Severity};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeywordStats {
    pub keyword: String,
    pub occurrences: usize,
    /// Percent of visible words, rounded to two decimals.
    pub density_pct: f64,
    pub target_min_pct: f64,
    pub target_max_pct: f64,
    pub in_title: bool,
    pub in_h1: bool,
    pub in_meta_description: bool,
}

/// Below this many visible words a page is thin content.
const THIN_PAGE_WORDS: usize = 150;

pub(super) struct KeywordFacts {
    pub words: usize,
    pub stats: Option<KeywordStats>,
}

pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Non-overlapping occurrences of `phrase` in `words`.
fn count_phrase(words: &[String], phrase: &[String]) -> usize {
    if phrase.is_empty() {
        return 0;
    }
    let (mut i, mut count) = (0, 0);
    while i + phrase.len() <= words.len() {
        if words.get(i..i + phrase.len()) == Some(phrase) {
            count += 1;
            i += phrase.len();
        } else {
            i += 1;
        }
    }
    count
}

fn contains(text: &str, phrase: &[String]) -> bool {
    count_phrase(&words(text), phrase) > 0
}

pub(super) fn check(doc: &Document, opts: &SeoOptions, head: &HeadFacts, content: &ContentFacts, audit: &mut Audit) -> KeywordFacts {
    let body = doc.by_tag("body").next().unwrap_or_else(|| doc.html.root_element());
    // Each text node is split on its own: adjacent nodes are separate words in every layout that
    // matters (blocks, table cells), and a word split by inline markup is rare.
    let text_words: Vec<String> = visible_text(body).into_iter().flat_map(words).collect();
    let total = text_words.len();
    let Some(keyword) = opts.keyword() else {
        audit.not_applicable(Check::KeywordDensity);
        return KeywordFacts { words: total, stats: None };
    };
    let phrase = words(keyword);
    let occurrences = count_phrase(&text_words, &phrase);
    let density = if total == 0 { 0.0 } else { (occurrences * phrase.len()) as f64 * 100.0 / total as f64 };
    let density = (density * 100.0).round() / 100.0;
    let stats = KeywordStats {
        keyword: keyword.to_string(),
        occurrences,
        density_pct: density,
        target_min_pct: opts.density_min_pct,
        target_max_pct: opts.density_max_pct,
        in_title: head.title.as_deref().is_some_and(|t| contains(t, &phrase)),
        in_h1: content.h1.iter().any(|h| contains(h, &phrase)),
        in_meta_description: head.description.as_deref().is_some_and(|d| contains(d, &phrase)),
    };
    let (min, max) = (opts.density_min_pct, opts.density_max_pct);
    if total == 0 {
        audit.push(Finding::new(
            Check::KeywordDensity,
            Severity::Warning,
            "The page has no visible text to measure the keyword in",
            "Add a product description of at least 150 words that uses the keyword naturally",
        ));
    } else if density < min {
        audit.push(Finding::new(
            Check::KeywordDensity,
            Severity::Warning,
            format!("\"{keyword}\" appears {occurrences} time(s) in {total} visible words ({density}%), below the {min}–{max}% target"),
            "Use the phrase in the h1, the first paragraph of the description and one subheading; write it out rather than a \
             pronoun where it reads naturally",
        ));
    } else if density > max {
        audit.push(Finding::new(
            Check::KeywordDensity,
            Severity::Warning,
            format!("\"{keyword}\" appears {occurrences} time(s) in {total} visible words ({density}%), above the {min}–{max}% target: keyword stuffing"),
            "Replace some repetitions with synonyms or the product's attributes (material, fit, use); search engines demote \
             stuffed pages",
        ));
    }
    if total > 0 && total < THIN_PAGE_WORDS {
        audit.push(Finding::new(
            Check::KeywordDensity,
            Severity::Info,
            format!("Only {total} visible words: on a page this thin one use more or less swings the density widely"),
            format!("Write at least {THIN_PAGE_WORDS} words of useful copy (materials, sizing, care, delivery)"),
        ));
    }
    for (missing, place, fix) in [
        (!stats.in_title, "the title", "Put the keyword near the start of the <title>"),
        (!stats.in_h1, "the h1", "Use the keyword in the <h1>"),
    ] {
        if missing && total > 0 {
            audit.push(Finding::new(Check::KeywordDensity, Severity::Info, format!("\"{keyword}\" is not in {place}"), fix));
        }
    }
    KeywordFacts { words: total, stats: Some(stats) }
}

#[cfg(test)]
mod tests {
    use super::super::dom::parse;
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
    }

    #[test]
    fn phrase_counting() {
        assert_eq!(w("Men’s Chelsea-boots, 2024!"), vec!["men", "s", "chelsea", "boots", "2024"]);
        assert_eq!(count_phrase(&w("boot boot boot"), &w("boot boot")), 1);
        assert_eq!(count_phrase(&w("Leather boots. leather  BOOTS"), &w("leather boots")), 2);
        assert_eq!(count_phrase(&w("a b"), &[]), 0);
    }

    #[test]
    fn density_of_visible_text_only() {
        // 20 visible words, "trail shoe" twice = 4 words = 20%; the script and title don't count.
        let html = "<html><head><title>trail shoe</title><script>var trail_shoe = 'trail shoe trail shoe';</script></head>\
            <body><h1>Trail shoe</h1><p>one two three four five six seven eight nine ten eleven twelve thirteen fourteen</p>\
            <p>a trail shoe x</p></body></html>";
        let doc = parse(html);
        let opts = SeoOptions { keyword: Some("Trail Shoe".into()), ..Default::default() };
        let head = HeadFacts { title: Some("trail shoe".into()), description: None, canonical: None };
        let content = ContentFacts { h1: vec!["Trail shoe".into()], images: 0 };
        let mut audit = Audit::default();
        let facts = check(&doc, &opts, &head, &content, &mut audit);
        assert_eq!(facts.words, 20);
        let s = facts.stats.unwrap();
        assert_eq!((s.occurrences, s.density_pct, s.in_title, s.in_h1, s.in_meta_description), (2, 20.0, true, true, false));
        let warnings: Vec<&Finding> = audit.findings.iter().filter(|f| f.severity == Severity::Warning).collect();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("keyword stuffing"));
        assert!(audit.findings.iter().any(|f| f.severity == Severity::Info && f.message.starts_with("Only 20 visible words")));
    }
}
