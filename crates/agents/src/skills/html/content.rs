//! Checks on the body: one h1, heading order, image alt text.

use scraper::ElementRef;

use super::dom::{Document, describe, shorten, text_of};
use super::head::is_html;
use super::{Audit, Check, Finding, Severity};

pub(super) struct ContentFacts {
    /// Text of every h1, in order.
    pub h1: Vec<String>,
    pub images: usize,
}

pub(super) fn check(doc: &Document, audit: &mut Audit) -> ContentFacts {
    let h1 = single_h1(doc, audit);
    heading_order(doc, audit);
    let images = image_alt(doc, audit);
    ContentFacts { h1, images }
}

/// Heading level of h1..h6 elements.
fn heading_level(el: &ElementRef<'_>) -> Option<u8> {
    match el.value().name() {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Text a heading presents, counting the alt of a logo image inside it.
fn heading_text(el: &ElementRef<'_>) -> String {
    let text = text_of(el);
    if !text.is_empty() {
        return text;
    }
    el.descendent_elements().filter_map(|e| e.value().attr("alt")).map(str::trim).find(|a| !a.is_empty()).unwrap_or_default().to_string()
}

/// Block elements that never belong inside a heading.
const BLOCKS: [&str; 10] = ["p", "div", "table", "ul", "ol", "section", "article", "form", "h2", "h3"];

fn single_h1(doc: &Document, audit: &mut Audit) -> Vec<String> {
    let h1s: Vec<ElementRef<'_>> = doc.by_tag("h1").filter(is_html).collect();
    let texts: Vec<String> = h1s.iter().map(heading_text).collect();
    match h1s.as_slice() {
        [] => audit.push(Finding::new(
            Check::SingleH1,
            Severity::Error,
            "The page has no <h1>",
            "Add one <h1> at the top of the main content with the product name (the category name on a category page)",
        )),
        [_] => {}
        [first, ..] => {
            let listed: Vec<String> = h1s.iter().zip(&texts).map(|(h, t)| format!("line {} \"{}\"", doc.line(h), shorten(t, 40))).collect();
            audit.push(
                Finding::new(
                    Check::SingleH1,
                    Severity::Error,
                    format!("{} <h1> elements: {}", h1s.len(), listed.join(", ")),
                    "Keep one <h1> for the product or category name and make the others <h2> (or plain text for logos and \
                     banners)",
                )
                .at(doc.line(first), "<h1>"),
            );
        }
    }
    for (h, text) in h1s.iter().zip(&texts) {
        // An unclosed <h1> swallows what follows; browsers show it as one giant heading.
        if let Some(block) = h.descendent_elements().find(|e| BLOCKS.contains(&e.value().name())) {
            audit.push(
                Finding::new(
                    Check::SingleH1,
                    Severity::Warning,
                    format!(
                        "The <h1> contains a <{}> ({} characters of text): it is probably not closed",
                        block.value().name(),
                        text.chars().count()
                    ),
                    "Close the heading right after the product name: <h1>Product name</h1>",
                )
                .at(doc.line(h), "<h1>"),
            );
        }
        if text.is_empty() {
            audit.push(
                Finding::new(Check::SingleH1, Severity::Error, "An <h1> is empty", "Put the product or category name in the <h1>")
                    .at(doc.line(h), "<h1>"),
            );
        }
    }
    texts
}

/// A heading may go deeper by one level at a time (h2 -> h3), never skip one (h2 -> h4). The page
/// is taken to start at level 1, so a first heading of h3 is also a skip.
fn heading_order(doc: &Document, audit: &mut Audit) {
    let mut previous = 1u8;
    for el in doc.elements().filter(is_html) {
        let Some(level) = heading_level(&el) else { continue };
        if level > previous + 1 {
            let missing = previous + 1;
            audit.push(
                Finding::new(
                    Check::HeadingOrder,
                    Severity::Warning,
                    format!("<h{level}> \"{}\" follows <h{previous}>, skipping <h{missing}>", shorten(&heading_text(&el), 50)),
                    format!(
                        "Make it an <h{missing}> (style it with CSS if it must look smaller), or add the missing <h{missing}> \
                         section heading above it"
                    ),
                )
                .at(doc.line(&el), format!("<h{level}>")),
            );
        }
        previous = level;
    }
}

/// Every image needs descriptive alt text: product photos rank in image search by it.
fn image_alt(doc: &Document, audit: &mut Audit) -> usize {
    let images: Vec<ElementRef<'_>> = doc.by_tag("img").filter(is_html).collect();
    for img in &images {
        // Lazy-loading scripts keep the real address in data-src.
        let src_attr = if img.value().attr("src").is_none() && img.value().attr("data-src").is_some() { "data-src" } else { "src" };
        let src = img.value().attr(src_attr).unwrap_or("(no src)");
        let (severity, message, fix) = match img.value().attr("alt").map(str::trim) {
            None => (
                Severity::Error,
                format!("Image {} has no alt attribute", shorten(src, 80)),
                "Add alt text saying what the image shows as a shopper would describe it: product, colour or variant, view \
                 (e.g. alt=\"Walnut leather boot, side view\")",
            ),
            Some("") => (
                Severity::Warning,
                format!("Image {} has an empty alt", shorten(src, 80)),
                "Describe the image in its alt; keep alt=\"\" only for purely decorative images (spacers, background flourishes)",
            ),
            Some(_) => continue,
        };
        audit.push(Finding::new(Check::ImageAlt, severity, message, fix).at(doc.line(img), describe(img, src_attr)));
    }
    images.len()
}

#[cfg(test)]
mod tests {
    use super::super::dom::parse;
    use super::*;

    fn run(html: &str) -> (ContentFacts, Audit) {
        let mut audit = Audit::default();
        let facts = check(&parse(html), &mut audit);
        (facts, audit)
    }

    #[test]
    fn h1_count() {
        let (facts, audit) = run("<h1>Boots</h1><h2>Details</h2>");
        assert_eq!(facts.h1, vec!["Boots"]);
        assert!(audit.findings.is_empty(), "{:?}", audit.findings);
        let (_, audit) = run("<p>x</p>");
        assert_eq!(audit.findings[0].message, "The page has no <h1>");
        let (facts, audit) = run("<h1><img src=logo.png alt=\"Acme\"></h1>\n<h1>Boots</h1>");
        assert_eq!(facts.h1, vec!["Acme", "Boots"]);
        assert_eq!(audit.findings.len(), 1);
        assert!(audit.findings[0].message.contains("line 1 \"Acme\", line 2 \"Boots\""), "{}", audit.findings[0].message);
    }

    #[test]
    fn skipped_heading_levels() {
        let (_, audit) = run("<h1>A</h1>\n<h2>B</h2>\n<h4>C</h4>\n<h2>D</h2>\n<h3>E</h3>\n<h6>F</h6>");
        let msgs: Vec<(Option<usize>, &str)> = audit.findings.iter().map(|f| (f.line, f.message.as_str())).collect();
        assert_eq!(msgs, vec![(Some(3), "<h4> \"C\" follows <h2>, skipping <h3>"), (Some(6), "<h6> \"F\" follows <h3>, skipping <h4>"),]);
    }

    #[test]
    fn images_without_alt_listed_by_src() {
        let (facts, audit) = run("<img src=a.jpg alt=\"A boot\">\n<img src=b.jpg>\n<img data-src=c.jpg alt=\" \">");
        assert_eq!(facts.images, 3);
        let found: Vec<(Severity, Option<&str>, Option<usize>)> =
            audit.findings.iter().filter(|f| f.check == Check::ImageAlt).map(|f| (f.severity, f.element.as_deref(), f.line)).collect();
        assert_eq!(
            found,
            vec![(Severity::Error, Some("<img src=\"b.jpg\">"), Some(2)), (Severity::Warning, Some("<img data-src=\"c.jpg\">"), Some(3)),]
        );
    }
}
