//! What the email's bodies contain: visible text, links, images, the unsubscribe link and the
//! postal address. HTML goes through the crate's conformant parser (`skills::html::dom`), so a
//! broken email is read as a mail client would read it and its parse errors are reported.

use crate::skills::html::dom;
use regex::Regex;
use std::sync::LazyLock;

/// An `<a>` or a URL in the text body.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Link {
    pub href: String,
    pub text: String,
    /// `html line N` or `text line N`.
    pub location: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Image {
    pub src: String,
    pub alt: Option<String>,
    pub location: String,
}

#[derive(Debug, Default)]
pub(super) struct Body {
    /// Visible text of the HTML body (or the text body when there is no HTML), whitespace collapsed.
    pub visible: String,
    /// Visible text of both bodies, for address and phrase checks.
    pub all_text: String,
    pub links: Vec<Link>,
    pub images: Vec<Image>,
    pub parse_errors: Vec<dom::ParseIssue>,
}

static URL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r#"(?i)\b(?:https?://|mailto:)[^\s<>"')\]]+"#).ok());

pub(super) fn read(html: Option<&str>, text: Option<&str>) -> Body {
    let mut body = Body::default();
    if let Some(html) = html {
        let doc = dom::parse(html);
        // Email HTML is often a fragment without a doctype; mail clients render it all the same.
        body.parse_errors = doc.errors.iter().filter(|e| !e.message.to_lowercase().contains("doctype")).cloned().collect();
        for a in doc.by_tag("a") {
            if let Some(href) = a.value().attr("href") {
                body.links.push(Link {
                    href: href.trim().to_owned(),
                    text: dom::text_of(&a),
                    location: format!("html line {}", doc.line(&a)),
                });
            }
        }
        for img in doc.by_tag("img") {
            body.images.push(Image {
                src: img.value().attr("src").unwrap_or("").to_owned(),
                alt: img.value().attr("alt").map(str::to_owned),
                location: format!("html line {}", doc.line(&img)),
            });
        }
        body.visible = dom::collapse_ws(&dom::visible_text(doc.html.root_element()).join(" "));
    }
    if let Some(text) = text {
        if let Some(re) = URL.as_ref() {
            for (i, line) in text.lines().enumerate() {
                for m in re.find_iter(line) {
                    let href = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']).to_owned();
                    body.links.push(Link { href, text: line.trim().to_owned(), location: format!("text line {}", i + 1) });
                }
            }
        }
        if html.is_none() {
            body.visible = dom::collapse_ws(text);
        }
    }
    body.all_text = match (html.is_some(), text) {
        (true, Some(t)) => format!("{} {}", body.visible, dom::collapse_ws(t)),
        _ => body.visible.clone(),
    };
    body
}

/// Links that let the recipient opt out: an href or link text mentioning unsubscribe, opt-out or
/// email preferences, or an ESP unsubscribe merge tag (`*|UNSUB|*`, `{{unsubscribe_url}}`).
pub(super) fn unsubscribe_link(links: &[Link]) -> Option<&Link> {
    const HREF: &[&str] = &["unsub", "optout", "opt-out", "opt_out", "preferences", "manage-subscription"];
    const TEXT: &[&str] = &["unsubscribe", "opt out", "opt-out", "email preferences", "manage preferences", "manage your subscription"];
    links.iter().find(|l| {
        let href = l.href.to_lowercase();
        let text = l.text.to_lowercase();
        HREF.iter().any(|k| href.contains(k)) || (l.location.starts_with("html") && TEXT.iter().any(|k| text.contains(k)))
    })
}

static STREET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b\d{1,6}\s+(?:[A-Za-z0-9.'-]+\s+){0,4}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|parkway|pkwy|highway|hwy|square|sq|terrace|circle|cir)\b\.?",
    )
    .ok()
});
static PO_BOX: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?i)\bP\.?\s?O\.?\s+Box\s+\d+").ok());
/// "City, ST 12345(-6789)" or a UK postcode.
static LOCALITY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[A-Z][A-Za-z .'-]*,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b").ok());
static ADDRESS_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\*\|LIST:ADDRESS(?:LINE)?\|\*|\{\{[^}]*address[^}]*\}\}|%%?[A-Z_]*ADDRESS[A-Z_]*%%?").ok());

pub(super) enum Address {
    Found(String),
    MergeTag(String),
    /// Only one half (street/PO box or city+ZIP) was found; says which.
    Partial(String),
    Missing,
}

/// The sender's postal address (CAN-SPAM): a street line or PO box plus a "City, ST ZIP" (or UK
/// postcode), or an ESP merge tag that inserts the address.
pub(super) fn postal_address(text: &str, raw_html: Option<&str>) -> Address {
    let find = |re: &LazyLock<Option<Regex>>, t: &str| re.as_ref().and_then(|re| re.find(t)).map(|m| m.as_str().to_owned());
    for t in [Some(text), raw_html].into_iter().flatten() {
        if let Some(tag) = find(&ADDRESS_TAG, t) {
            return Address::MergeTag(tag);
        }
    }
    let street = find(&STREET, text).or_else(|| find(&PO_BOX, text));
    let locality = find(&LOCALITY, text);
    match (street, locality) {
        (Some(s), Some(l)) => Address::Found(format!("{s} … {l}")),
        (Some(s), None) => Address::Partial(format!("found the street line \"{s}\" but no city, state and ZIP")),
        (None, Some(l)) => Address::Partial(format!("found \"{l}\" but no street address or PO box")),
        (None, None) => Address::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_links_images_and_text_are_read() {
        let html = "<html><head><style>p{}</style></head><body>\n<p>Hello <b>there</b></p>\n<a href=\"https://x.io/u?unsubscribe=1\">Leave</a>\n<img src=\"a.png\">\n</body></html>";
        let b = read(Some(html), Some("Plain https://x.io/p."));
        assert_eq!(b.visible, "Hello there Leave");
        assert_eq!(b.links.len(), 2);
        assert_eq!(b.links[0].location, "html line 3");
        assert_eq!(b.links[1].href, "https://x.io/p");
        assert_eq!(b.images[0].alt, None);
        assert_eq!(unsubscribe_link(&b.links).map(|l| l.text.as_str()), Some("Leave"));
    }

    #[test]
    fn addresses_us_uk_po_box_and_merge_tags() {
        assert!(matches!(postal_address("Acme Health, 1200 Market Street, Suite 300, Philadelphia, PA 19107", None), Address::Found(_)));
        assert!(matches!(postal_address("PO Box 4410, Austin, TX 78765-4410", None), Address::Found(_)));
        assert!(matches!(postal_address("12 Bridge Road, London SW1A 2AA", None), Address::Found(_)));
        assert!(matches!(postal_address("Visit us at 55 Elm St.", None), Address::Partial(_)));
        assert!(matches!(postal_address("nothing", Some("<p>*|LIST:ADDRESSLINE|*</p>")), Address::MergeTag(_)));
        assert!(matches!(postal_address("We have 3 plans to choose from.", None), Address::Missing));
    }
}
