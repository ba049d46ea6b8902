//! SEO audit of an e-commerce page (product or category page) from its HTML.
//!
//! [`audit_page`] parses the page leniently (broken markup still audits; the parser's complaints
//! are listed), runs the checks of [`Check`], and scores the page 0..=100 as the weighted share of
//! applicable checks passed (weights in [`Check::weight`], summing to 100). A check fails when it
//! produced at least one finding of severity warning or error; info findings are notes. Every
//! failed check carries findings with the line, the element and a concrete fix.

mod content;
pub(crate) mod dom;
mod head;
pub(crate) mod keyword;
mod links;
pub(crate) mod report;
mod structured;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::skills::SkillError;
pub use dom::ParseIssue;
pub use keyword::KeywordStats;
pub use links::LinkStats;

/// Audit settings (a spec's `[settings]`); every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeoOptions {
    /// Focus keyword or phrase whose density in the visible text is checked; none skips the check.
    pub keyword: Option<String>,
    /// Title length range in characters (default 30..=60: shorter wastes the result headline,
    /// longer is truncated in search results).
    pub title_min: usize,
    pub title_max: usize,
    /// Meta description length range in characters (default 70..=160).
    pub description_min: usize,
    pub description_max: usize,
    /// Keyword density target in percent of visible words (default 0.5..=2.5).
    pub density_min_pct: f64,
    pub density_max_pct: f64,
    /// What the page is; `auto` treats it as a product page when it says so (`og:type` product,
    /// schema.org Product microdata or JSON-LD).
    pub page_kind: PageKind,
}

impl Default for SeoOptions {
    fn default() -> Self {
        Self {
            keyword: None,
            title_min: 30,
            title_max: 60,
            description_min: 70,
            description_max: 160,
            density_min_pct: 0.5,
            density_max_pct: 2.5,
            page_kind: PageKind::Auto,
        }
    }
}

impl SeoOptions {
    fn validate(&self) -> Result<(), SkillError> {
        if self.title_min > self.title_max {
            return Err(SkillError::Invalid(format!("title_min ({}) is above title_max ({})", self.title_min, self.title_max)));
        }
        if self.description_min > self.description_max {
            return Err(SkillError::Invalid(format!(
                "description_min ({}) is above description_max ({})",
                self.description_min, self.description_max
            )));
        }
        let pct = 0.0..=100.0;
        if !pct.contains(&self.density_min_pct) || !pct.contains(&self.density_max_pct) || self.density_min_pct > self.density_max_pct {
            return Err(SkillError::Invalid(format!(
                "keyword density range {}..={} must be percentages with min <= max",
                self.density_min_pct, self.density_max_pct
            )));
        }
        Ok(())
    }

    /// The keyword when one is set and not blank.
    fn keyword(&self) -> Option<&str> {
        self.keyword.as_deref().map(str::trim).filter(|k| !k.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    Auto,
    Product,
    Category,
    Other,
}

/// The checks, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Title,
    TitleLength,
    MetaDescription,
    MetaDescriptionLength,
    SingleH1,
    HeadingOrder,
    ImageAlt,
    Canonical,
    StructuredData,
    Links,
    KeywordDensity,
    Lang,
    Viewport,
    Markup,
}

impl Check {
    pub const ALL: [Check; 14] = [
        Check::Title,
        Check::TitleLength,
        Check::MetaDescription,
        Check::MetaDescriptionLength,
        Check::SingleH1,
        Check::HeadingOrder,
        Check::ImageAlt,
        Check::Canonical,
        Check::StructuredData,
        Check::Links,
        Check::KeywordDensity,
        Check::Lang,
        Check::Viewport,
        Check::Markup,
    ];

    /// Points of the check in the score; the weights of all checks sum to 100. The heaviest are
    /// what search engines use directly for ranking and the result snippet (title, h1, image alt
    /// on product photos, structured data for rich results, the keyword).
    pub fn weight(self) -> u32 {
        match self {
            Check::Title => 10,
            Check::TitleLength => 5,
            Check::MetaDescription => 8,
            Check::MetaDescriptionLength => 4,
            Check::SingleH1 => 10,
            Check::HeadingOrder => 5,
            Check::ImageAlt => 10,
            Check::Canonical => 8,
            Check::StructuredData => 10,
            Check::Links => 5,
            Check::KeywordDensity => 10,
            Check::Lang => 5,
            Check::Viewport => 5,
            Check::Markup => 5,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Check::Title => "Title present",
            Check::TitleLength => "Title length",
            Check::MetaDescription => "Meta description present",
            Check::MetaDescriptionLength => "Meta description length",
            Check::SingleH1 => "Exactly one h1",
            Check::HeadingOrder => "Heading order",
            Check::ImageAlt => "Image alt text",
            Check::Canonical => "Canonical link",
            Check::StructuredData => "Structured data",
            Check::Links => "Links",
            Check::KeywordDensity => "Keyword density",
            Check::Lang => "Language declared",
            Check::Viewport => "Mobile viewport",
            Check::Markup => "Markup parses cleanly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One problem found: what, where (line and element), how bad, and the fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// Source line (of the end of the element's start tag), when the problem has a place.
    pub line: Option<usize>,
    /// The element at fault, e.g. `<img src="/img/boot.jpg">`.
    pub element: Option<String>,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub(crate) fn new(check: Check, severity: Severity, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, severity, line: None, element: None, message: message.into(), fix: fix.into() }
    }
    pub(crate) fn at(mut self, line: usize, element: impl Into<String>) -> Self {
        self.line = Some(line);
        self.element = Some(element.into());
        self
    }
    pub(crate) fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

/// What the checks found so far.
#[derive(Default)]
pub(crate) struct Audit {
    findings: Vec<Finding>,
    /// Checks that cannot be judged on this page (no keyword set; no title to measure).
    not_applicable: Vec<Check>,
}

impl Audit {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
    fn not_applicable(&mut self, check: Check) {
        self.not_applicable.push(check);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub check: Check,
    pub status: Status,
    pub weight: u32,
}

/// The audit of one page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeoReport {
    pub url: Option<String>,
    /// Weighted share of applicable checks passed, 0..=100.
    pub score: u8,
    pub checks: Vec<CheckOutcome>,
    /// Ordered by severity (errors first), then line.
    pub findings: Vec<Finding>,
    pub title: Option<String>,
    pub meta_description: Option<String>,
    pub h1: Vec<String>,
    /// Whether the page was audited as a product page.
    pub product_page: bool,
    /// `@type`s found in valid JSON-LD blocks.
    pub structured_data_types: Vec<String>,
    pub links: LinkStats,
    pub images: usize,
    pub word_count: usize,
    pub keyword: Option<KeywordStats>,
    /// What the HTML parser complained about (the audit still ran on its best-effort tree).
    pub parse_errors: Vec<ParseIssue>,
}

impl SeoReport {
    pub fn status(&self, check: Check) -> Status {
        self.checks.iter().find(|c| c.check == check).map_or(Status::NotApplicable, |c| c.status)
    }

    pub fn findings_for(&self, check: Check) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.check == check)
    }

    pub fn to_markdown(&self) -> String {
        report::markdown(self)
    }
}

/// Audits one HTML page. `url` is the page's address: it decides which links are internal (same
/// host, `www.` ignored) and resolves relative links; without it the canonical URL's host is used.
///
/// Errors: empty input, more than 5 MiB, bytes that are not UTF-8 text, thousands of unclosed
/// nested tags (`SkillError::Line`: too slow to parse), an invalid `url` or contradictory options.
/// Otherwise malformed HTML is not an error: it is audited and its parse errors listed.
pub fn audit_page(html: &[u8], url: Option<&str>, opts: &SeoOptions) -> Result<SeoReport, SkillError> {
    opts.validate()?;
    let text = dom::text_input(html, dom::MAX_BYTES)?;
    let page_url = url
        .map(|u| Url::parse(u.trim()).map_err(|e| SkillError::Invalid(format!("page URL {u:?} is not an absolute URL: {e}"))))
        .transpose()?;
    dom::check_nesting(text)?;
    let doc = dom::parse(text);
    let mut audit = Audit::default();

    let head = head::check(&doc, opts, &mut audit);
    let content = content::check(&doc, &mut audit);
    let structured = structured::check(&doc, opts.page_kind, &mut audit);
    let base = page_url.clone().or_else(|| head.canonical.clone());
    let links = links::check(&doc, base.as_ref(), page_url.is_some(), &mut audit);
    let keyword = keyword::check(&doc, opts, &head, &content, &mut audit);
    markup_findings(&doc, &mut audit);

    let Audit { mut findings, not_applicable } = audit;
    let checks: Vec<CheckOutcome> = Check::ALL
        .iter()
        .map(|&check| {
            let applicable = !not_applicable.contains(&check);
            let failed = findings.iter().any(|f| f.check == check && f.severity >= Severity::Warning);
            let status = match (applicable, failed) {
                (false, _) => Status::NotApplicable,
                (true, true) => Status::Failed,
                (true, false) => Status::Passed,
            };
            CheckOutcome { check, status, weight: check.weight() }
        })
        .collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.line.cmp(&b.line)));

    Ok(SeoReport {
        url: page_url.map(|u| u.to_string()),
        score: score(&checks),
        checks,
        findings,
        title: head.title,
        meta_description: head.description,
        h1: content.h1,
        product_page: structured.product_page,
        structured_data_types: structured.types,
        links,
        images: content.images,
        word_count: keyword.words,
        keyword: keyword.stats,
        parse_errors: doc.errors,
    })
}

/// `round(100 * passed weight / applicable weight)`; 100 when nothing applies.
fn score(checks: &[CheckOutcome]) -> u8 {
    let applicable: u32 = checks.iter().filter(|c| c.status != Status::NotApplicable).map(|c| c.weight).sum();
    let passed: u32 = checks.iter().filter(|c| c.status == Status::Passed).map(|c| c.weight).sum();
    if applicable == 0 {
        return 100;
    }
    u8::try_from((passed * 100 + applicable / 2) / applicable).unwrap_or(100)
}

/// One finding for the parser's complaints, naming the first few.
fn markup_findings(doc: &dom::Document, audit: &mut Audit) {
    let Some(first) = doc.errors.first() else { return };
    let shown: Vec<String> = doc.errors.iter().take(5).map(|e| format!("line {}: {}", e.line, e.message)).collect();
    let more = doc.errors.len().saturating_sub(shown.len());
    let mut message = format!("The HTML parser reported {} error(s): {}", doc.errors.len(), shown.join("; "));
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    audit.push(
        Finding::new(
            Check::Markup,
            Severity::Warning,
            message,
            "Fix the markup at the lines named (close open elements, remove stray end tags, start with <!DOCTYPE html>) and \
             re-validate; crawlers rebuild broken markup the way browsers do, which can move content out of the element you meant",
        )
        .line(first.line),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_100() {
        assert_eq!(Check::ALL.iter().map(|c| c.weight()).sum::<u32>(), 100);
    }

    #[test]
    fn score_is_share_of_applicable_weight() {
        let out = |check: Check, status| CheckOutcome { check, status, weight: check.weight() };
        let checks = vec![
            out(Check::Title, Status::Passed),
            out(Check::SingleH1, Status::Failed),
            out(Check::KeywordDensity, Status::NotApplicable),
        ];
        assert_eq!(score(&checks), 50);
        assert_eq!(score(&[]), 100);
    }

    #[test]
    fn options_validated() {
        let bad = SeoOptions { title_min: 70, ..Default::default() };
        assert!(matches!(audit_page(b"<p>x</p>", None, &bad), Err(SkillError::Invalid(_))));
        let bad = SeoOptions { density_min_pct: 3.0, ..Default::default() };
        assert!(matches!(audit_page(b"<p>x</p>", None, &bad), Err(SkillError::Invalid(_))));
        assert!(matches!(audit_page(b"<p>x</p>", Some("/relative"), &SeoOptions::default()), Err(SkillError::Invalid(_))));
    }

    #[test]
    fn options_from_toml_and_json() {
        let o: SeoOptions = serde_json::from_str(r#"{"keyword":"trail shoes","title_max":65}"#).unwrap();
        assert_eq!(o.title_max, 65);
        assert_eq!(o.title_min, 30);
        assert!(serde_json::from_str::<SeoOptions>(r#"{"keywrd":"x"}"#).is_err());
        let o: SeoOptions = toml::from_str("page_kind = \"product\"\ndensity_max_pct = 3.0").unwrap();
        assert_eq!(o.page_kind, PageKind::Product);
    }

    #[test]
    fn blank_keyword_is_no_keyword() {
        let o = SeoOptions { keyword: Some("  ".into()), ..Default::default() };
        let r = audit_page(b"<!DOCTYPE html><html><body><p>hello</p></body></html>", None, &o).unwrap();
        assert_eq!(r.status(Check::KeywordDensity), Status::NotApplicable);
    }
}
