//! Links: internal versus external by host, and links that lead nowhere.

use scraper::ElementRef;
use serde::Serialize;
use url::Url;

use super::dom::{Document, describe, shorten, text_of};
use super::head::is_html;
use super::{Audit, Check, Finding, Severity};

/// Counts of the page's `<a href>` links.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Same host as the page (`www.` ignored), relative links and same-page `#section` anchors.
    pub internal: usize,
    /// Another host.
    pub external: usize,
    /// mailto:, tel: and other non-web schemes.
    pub other: usize,
    /// Empty, bare `#`, `javascript:` or malformed hrefs.
    pub dead: usize,
    /// Whether hosts could be compared (a page URL or an absolute canonical was known).
    pub host_known: bool,
}

enum Kind {
    Internal,
    External,
    Other,
    Dead(&'static str),
}

/// `base` is the page URL (or the canonical when no URL was given); `from_url` says which.
pub(super) fn check(doc: &Document, base: Option<&Url>, from_url: bool, audit: &mut Audit) -> LinkStats {
    // A <base href> changes what relative links resolve against.
    let base_tag = doc.by_tag("base").filter(is_html).find_map(|b| b.value().attr("href").map(str::trim).map(str::to_owned));
    // The site is the page's own host even when <base> points elsewhere (a CDN).
    let site = base.and_then(|b| b.host_str()).map(site_host);
    let base: Option<Url> = match (base, base_tag) {
        (Some(b), Some(tag)) => b.join(&tag).ok().or(Some(b.clone())),
        (None, Some(tag)) => Url::parse(&tag).ok(),
        (b, None) => b.cloned(),
    };
    let mut stats = LinkStats { host_known: site.is_some(), ..LinkStats::default() };
    let mut absolute_unknown = 0usize;

    for a in doc.by_tag("a").filter(is_html) {
        // An <a> without href is a placeholder, not a link.
        let Some(href) = a.value().attr("href") else { continue };
        let kind = classify(href.trim(), base.as_ref(), site.as_deref());
        match kind {
            Kind::Internal => stats.internal += 1,
            Kind::External => {
                stats.external += 1;
                if site.is_none() {
                    absolute_unknown += 1;
                }
            }
            Kind::Other => stats.other += 1,
            Kind::Dead(why) => {
                stats.dead += 1;
                audit.push(dead_link(doc, &a, href, why));
            }
        }
    }
    if stats.internal == 0 {
        audit.push(Finding::new(
            Check::Links,
            Severity::Warning,
            format!("No internal links ({} external): the page passes no authority to the rest of the shop", stats.external),
            "Link to the parent category (breadcrumbs), related or complementary products and the main navigation with \
             relative or same-host URLs",
        ));
    }
    if absolute_unknown > 0 {
        let hint = if from_url { "" } else { "; give the page URL to the audit or add an absolute canonical" };
        audit.push(Finding::new(
            Check::Links,
            Severity::Info,
            format!("The page's host is unknown, so {absolute_unknown} absolute link(s) were counted as external"),
            format!("Use relative URLs for links within the shop{hint}"),
        ));
    }
    stats
}

fn dead_link(doc: &Document, a: &ElementRef<'_>, href: &str, why: &str) -> Finding {
    let text = text_of(a);
    let label = if text.is_empty() { "(no text)".to_string() } else { format!("\"{}\"", shorten(&text, 40)) };
    Finding::new(
        Check::Links,
        Severity::Warning,
        format!("Link {label} {why} (href=\"{}\")", shorten(href, 60)),
        "Point the href at the real page URL; crawlers cannot follow empty, '#' or script links. Use a <button> for actions \
         that do not navigate",
    )
    .at(doc.line(a), describe(a, "href"))
}

/// Host without a leading `www.`, lower-cased (hosts are parsed lower-case already).
fn site_host(host: &str) -> String {
    host.strip_prefix("www.").unwrap_or(host).to_string()
}

fn classify(href: &str, base: Option<&Url>, site: Option<&str>) -> Kind {
    if href.is_empty() {
        return Kind::Dead("has an empty href");
    }
    if href == "#" || href == "#!" {
        return Kind::Dead("goes nowhere");
    }
    let lower = href.to_ascii_lowercase();
    if lower.starts_with("javascript:") {
        return Kind::Dead("runs script instead of linking");
    }
    if href.starts_with('#') {
        return Kind::Internal;
    }
    let resolved = match base {
        Some(b) => b.join(href),
        None => Url::parse(href),
    };
    let url = match resolved {
        Ok(u) => u,
        // Without a base, a relative href cannot parse on its own and stays on this site.
        Err(url::ParseError::RelativeUrlWithoutBase) if !href.starts_with("//") => return Kind::Internal,
        Err(url::ParseError::RelativeUrlWithoutBase) => return Kind::External,
        Err(_) => return Kind::Dead("has a malformed URL"),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Kind::Other;
    }
    match (url.host_str(), site) {
        (Some(host), Some(site)) if site_host(host) == site => Kind::Internal,
        (Some(_), _) => Kind::External,
        (None, _) => Kind::Dead("has no host"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::dom::parse;
    use super::*;

    fn run(html: &str, base: Option<&str>) -> (LinkStats, Audit) {
        let mut audit = Audit::default();
        let base = base.map(|b| Url::parse(b).unwrap());
        let stats = check(&parse(html), base.as_ref(), true, &mut audit);
        (stats, audit)
    }

    const LINKS: &str = r##"<a href="/boots">Boots</a>
<a href="https://www.shop.example/sale">Sale</a>
<a href="https://shop.example/help">Help</a>
<a href="https://instagram.com/shop">IG</a>
<a href="mailto:hi@shop.example">Mail</a>
<a href="#reviews">Reviews</a>
<a href="#">Size guide</a>
<a href="">Empty</a>
<a href="javascript:void(0)">Wishlist</a>
<a name="top">no href</a>
<a href="http://[bad">bad</a>"##;

    #[test]
    fn classified_by_host() {
        let (stats, audit) = run(LINKS, Some("https://shop.example/boots/chelsea"));
        assert_eq!(stats, LinkStats { internal: 4, external: 1, other: 1, dead: 4, host_known: true });
        let dead: Vec<(Option<usize>, String)> = audit.findings.iter().map(|f| (f.line, f.message.clone())).collect();
        assert_eq!(dead.len(), 4);
        assert_eq!(dead[0], (Some(7), "Link \"Size guide\" goes nowhere (href=\"#\")".to_string()));
        assert_eq!(dead[2].0, Some(9));
        assert_eq!(dead[3].0, Some(11));
    }

    #[test]
    fn without_base_absolute_links_are_external() {
        let (stats, audit) = run(LINKS, None);
        assert_eq!((stats.internal, stats.external, stats.host_known), (2, 3, false));
        assert!(audit.findings.iter().any(|f| f.severity == Severity::Info && f.message.contains("3 absolute link(s)")));
    }

    #[test]
    fn base_tag_and_no_internal_links() {
        let (stats, audit) = run("<base href=\"https://cdn.example/\"><a href=\"x\">x</a>", Some("https://shop.example/"));
        assert_eq!((stats.internal, stats.external), (0, 1));
        assert!(audit.findings.iter().any(|f| f.check == Check::Links && f.message.starts_with("No internal links")));
    }
}
