//! Checks on the document head and root: title, meta description, canonical, lang, viewport.

use scraper::ElementRef;
use url::Url;

use super::dom::{Document, collapse_ws, describe, shorten};
use super::{Audit, Check, Finding, SeoOptions, Severity};

/// What the head says, for the report and later checks.
pub(super) struct HeadFacts {
    pub title: Option<String>,
    pub description: Option<String>,
    /// The canonical URL when it is present and absolute.
    pub canonical: Option<Url>,
}

pub(super) fn check(doc: &Document, opts: &SeoOptions, audit: &mut Audit) -> HeadFacts {
    let title = title(doc, opts, audit);
    let description = description(doc, opts, audit);
    let canonical = canonical(doc, audit);
    lang(doc, audit);
    viewport(doc, audit);
    HeadFacts { title, description, canonical }
}

const XHTML: &str = "http://www.w3.org/1999/xhtml";

/// True for elements of the HTML namespace (an SVG `<title>` is not the page title).
pub(super) fn is_html(el: &ElementRef<'_>) -> bool {
    &*el.value().name.ns == XHTML
}

fn html_tag<'a>(doc: &'a Document, tag: &'a str) -> impl Iterator<Item = ElementRef<'a>> + 'a {
    doc.by_tag(tag).filter(is_html)
}

/// `<meta name=...>` elements, the name matched case-insensitively as browsers do.
fn meta_named<'a>(doc: &'a Document, name: &'a str) -> impl Iterator<Item = ElementRef<'a>> + 'a {
    html_tag(doc, "meta").filter(move |m| m.value().attr("name").is_some_and(|n| n.trim().eq_ignore_ascii_case(name)))
}

fn title(doc: &Document, opts: &SeoOptions, audit: &mut Audit) -> Option<String> {
    let titles: Vec<ElementRef<'_>> = html_tag(doc, "title").collect();
    let Some(first) = titles.first() else {
        audit.push(Finding::new(
            Check::Title,
            Severity::Error,
            "The page has no <title>",
            format!("Add <title>Product name – key attribute | Brand</title> in <head>, {}–{} characters", opts.title_min, opts.title_max),
        ));
        audit.not_applicable(Check::TitleLength);
        return None;
    };
    let line = doc.line(first);
    if titles.len() > 1 {
        let lines: Vec<String> = titles.iter().map(|t| doc.line(t).to_string()).collect();
        audit.push(
            Finding::new(
                Check::Title,
                Severity::Warning,
                format!("{} <title> elements (lines {}); search engines use the first", titles.len(), lines.join(", ")),
                "Keep one <title> in <head> and delete the others",
            )
            .at(line, "<title>"),
        );
    }
    let text = collapse_ws(&first.text().collect::<String>());
    if text.is_empty() {
        audit.push(
            Finding::new(
                Check::Title,
                Severity::Error,
                "The <title> is empty",
                "Write a title naming the product (or category) and the brand, e.g. \"Men's Trail Running Shoe – Waterproof | Brand\"",
            )
            .at(line, "<title>"),
        );
        audit.not_applicable(Check::TitleLength);
        return None;
    }
    length_check(
        audit,
        Check::TitleLength,
        &text,
        (opts.title_min, opts.title_max),
        line,
        "<title>",
        (
            "Lengthen it with the product type, a distinguishing attribute and the brand",
            "Shorten it: product name and key attribute first, brand last, drop filler words",
        ),
    );
    Some(text)
}

fn description(doc: &Document, opts: &SeoOptions, audit: &mut Audit) -> Option<String> {
    let metas: Vec<ElementRef<'_>> = meta_named(doc, "description").collect();
    let content = metas.first().map(|m| collapse_ws(m.value().attr("content").unwrap_or_default()));
    let (Some(first), Some(text)) = (metas.first(), content.filter(|c| !c.is_empty())) else {
        let mut f = Finding::new(
            Check::MetaDescription,
            Severity::Error,
            if metas.is_empty() { "The page has no meta description" } else { "The meta description is empty" },
            format!(
                "Add <meta name=\"description\" content=\"...\"> in <head>: {}–{} characters saying what the product is, \
                 its key benefit and a reason to click (price, free delivery)",
                opts.description_min, opts.description_max
            ),
        );
        if let Some(m) = metas.first() {
            f = f.at(doc.line(m), "<meta name=\"description\">");
        }
        audit.push(f);
        audit.not_applicable(Check::MetaDescriptionLength);
        return None;
    };
    let line = doc.line(first);
    if metas.len() > 1 {
        audit.push(
            Finding::new(
                Check::MetaDescription,
                Severity::Warning,
                format!("{} meta descriptions; search engines may pick either", metas.len()),
                "Keep one <meta name=\"description\"> and delete the others",
            )
            .at(line, "<meta name=\"description\">"),
        );
    }
    length_check(
        audit,
        Check::MetaDescriptionLength,
        &text,
        (opts.description_min, opts.description_max),
        line,
        "<meta name=\"description\">",
        (
            "Expand it with the key benefit, a differentiator and a call to action",
            "Shorten it so the call to action is not cut off in results",
        ),
    );
    Some(text)
}

/// Flags text whose character count is outside `range`, with the fix for too short / too long.
fn length_check(
    audit: &mut Audit,
    check: Check,
    text: &str,
    (min, max): (usize, usize),
    line: usize,
    element: &str,
    (short_fix, long_fix): (&str, &str),
) {
    let len = text.chars().count();
    let (verdict, fix) = if len < min {
        ("too short", short_fix)
    } else if len > max {
        ("too long; search results cut it off", long_fix)
    } else {
        return;
    };
    audit.push(
        Finding::new(
            check,
            Severity::Warning,
            format!(
                "{} is {len} characters, {verdict} (target {min}–{max}): \"{}\"",
                check.label().replace(" length", ""),
                shorten(text, 90)
            ),
            format!("{fix}; aim for {min}–{max} characters"),
        )
        .at(line, element),
    );
}

fn canonical(doc: &Document, audit: &mut Audit) -> Option<Url> {
    let links: Vec<ElementRef<'_>> = html_tag(doc, "link")
        .filter(|l| l.value().attr("rel").is_some_and(|r| r.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("canonical"))))
        .collect();
    let Some(first) = links.first() else {
        audit.push(Finding::new(
            Check::Canonical,
            Severity::Error,
            "No <link rel=\"canonical\">: filtered, sorted and tracking-parameter variants of this URL compete as duplicates",
            "Add <link rel=\"canonical\" href=\"https://your-shop.example/the-clean-url\"> in <head>, pointing at this page's \
             preferred absolute URL",
        ));
        return None;
    };
    let line = doc.line(first);
    let element = describe(first, "href");
    if links.len() > 1 {
        audit.push(
            Finding::new(
                Check::Canonical,
                Severity::Error,
                format!("{} canonical links; search engines ignore conflicting canonicals", links.len()),
                "Keep exactly one <link rel=\"canonical\">",
            )
            .at(line, element.clone()),
        );
    }
    if !first.ancestors().filter_map(ElementRef::wrap).any(|a| a.value().name() == "head") {
        audit.push(
            Finding::new(
                Check::Canonical,
                Severity::Warning,
                "The canonical link is outside <head>, where it is ignored",
                "Move it into <head>",
            )
            .at(line, element.clone()),
        );
    }
    let href = first.value().attr("href").map(str::trim).unwrap_or_default();
    if href.is_empty() {
        audit.push(
            Finding::new(Check::Canonical, Severity::Error, "The canonical link has no href", "Set href to this page's absolute URL")
                .at(line, element),
        );
        return None;
    }
    match Url::parse(href) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        _ => {
            audit.push(
                Finding::new(
                    Check::Canonical,
                    Severity::Warning,
                    format!("The canonical URL \"{}\" is not absolute", shorten(href, 80)),
                    "Use the full URL with scheme and host (https://your-shop.example/...): relative canonicals break when the \
                     page is reached through another host or a proxy",
                )
                .at(line, element),
            );
            None
        }
    }
}

fn lang(doc: &Document, audit: &mut Audit) {
    let root = doc.html.root_element();
    let line = doc.line(&root);
    match root.value().attr("lang").map(str::trim) {
        None | Some("") => audit.push(
            Finding::new(
                Check::Lang,
                Severity::Warning,
                "<html> has no lang attribute",
                "Declare the page language, e.g. <html lang=\"en\"> (or en-GB, de-DE): search engines and screen readers use it",
            )
            .at(line, "<html>"),
        ),
        Some(tag) if !is_language_tag(tag) => audit.push(
            Finding::new(
                Check::Lang,
                Severity::Warning,
                format!("lang=\"{}\" is not a BCP 47 language tag", shorten(tag, 40)),
                "Use a language code such as \"en\", \"en-US\" or \"fr-CA\"",
            )
            .at(line, "<html>"),
        ),
        Some(_) => {}
    }
}

/// A primary subtag of 2–3 letters and subtags of 1–8 letters or digits (the shape of BCP 47).
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn viewport(doc: &Document, audit: &mut Audit) {
    const FIX: &str = "Add <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"> in <head>";
    let Some(meta) = meta_named(doc, "viewport").next() else {
        audit.push(Finding::new(
            Check::Viewport,
            Severity::Error,
            "No viewport meta tag: phones render the desktop layout zoomed out, and search engines index the mobile version",
            FIX,
        ));
        return;
    };
    let content = meta.value().attr("content").unwrap_or_default().to_ascii_lowercase();
    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("width=device-width") {
        audit.push(
            Finding::new(
                Check::Viewport,
                Severity::Warning,
                format!("The viewport is \"{}\", not device width", shorten(&content, 60)),
                FIX,
            )
            .at(doc.line(&meta), "<meta name=\"viewport\">"),
        );
    }
    if compact.contains("user-scalable=no")
        || compact.contains("user-scalable=0")
        || compact.contains("maximum-scale=1,")
        || compact.ends_with("maximum-scale=1")
    {
        audit.push(
            Finding::new(
                Check::Viewport,
                Severity::Info,
                "The viewport blocks zooming",
                "Remove user-scalable=no / maximum-scale=1 so shoppers can zoom into product details",
            )
            .at(doc.line(&meta), "<meta name=\"viewport\">"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::dom::parse;
    use super::*;

    fn run(html: &str) -> (HeadFacts, Audit) {
        let mut audit = Audit::default();
        let facts = check(&parse(html), &SeoOptions::default(), &mut audit);
        (facts, audit)
    }

    fn checks(audit: &Audit) -> Vec<Check> {
        audit.findings.iter().filter(|f| f.severity >= Severity::Warning).map(|f| f.check).collect()
    }

    #[test]
    fn missing_head_items_each_flagged() {
        let (facts, audit) = run("<html><body><svg><title>icon</title></svg><p>x</p></body></html>");
        assert_eq!(facts.title, None, "an svg title is not the page title");
        assert_eq!(checks(&audit), vec![Check::Title, Check::MetaDescription, Check::Canonical, Check::Lang, Check::Viewport]);
        assert!(audit.not_applicable.contains(&Check::TitleLength));
    }

    #[test]
    fn lengths_are_in_characters() {
        // 30 characters, several of them multi-byte: in range although more than 30 bytes.
        let title = "Bottes en cuir – été éternel ü";
        assert_eq!(title.chars().count(), 30);
        let (facts, audit) = run(&format!("<html lang=fr><head><title>{title}</title></head></html>"));
        assert_eq!(facts.title.as_deref(), Some(title));
        assert!(!checks(&audit).contains(&Check::TitleLength));
        let (_, audit) = run("<html><head><title>Boots</title></head></html>");
        let f = audit.findings.iter().find(|f| f.check == Check::TitleLength).unwrap();
        assert!(f.message.contains("5 characters"), "{}", f.message);
    }

    #[test]
    fn canonical_must_be_absolute_and_single() {
        let (facts, audit) = run("<html><head><link rel=canonical href=/boots></head></html>");
        assert_eq!(facts.canonical, None);
        assert!(audit.findings.iter().any(|f| f.check == Check::Canonical && f.message.contains("not absolute")));
        let (facts, audit) = run("<html><head><link rel=\"Canonical\" href=\"https://shop.example/boots\"></head></html>");
        assert_eq!(facts.canonical.unwrap().as_str(), "https://shop.example/boots");
        assert!(!checks(&audit).contains(&Check::Canonical));
        let (_, audit) =
            run("<html><head><link rel=canonical href=https://a.example/><link rel=canonical href=https://b.example/></head></html>");
        assert!(audit.findings.iter().any(|f| f.check == Check::Canonical && f.message.contains("2 canonical")));
    }

    #[test]
    fn language_tags() {
        assert!(is_language_tag("en"));
        assert!(is_language_tag("en-GB"));
        assert!(is_language_tag("zh-Hant-TW"));
        assert!(!is_language_tag("english"));
        assert!(!is_language_tag("en_GB"));
    }

    #[test]
    fn viewport_variants() {
        let (_, audit) = run("<html><head><meta name=viewport content=\"width=1024\"></head></html>");
        assert!(audit.findings.iter().any(|f| f.check == Check::Viewport && f.severity == Severity::Warning));
        let (_, audit) =
            run("<html><head><meta name=\"Viewport\" content=\"width=device-width, initial-scale=1, maximum-scale=1\"></head></html>");
        let v: Vec<Severity> = audit.findings.iter().filter(|f| f.check == Check::Viewport).map(|f| f.severity).collect();
        assert_eq!(v, vec![Severity::Info]);
    }
}
