//! Structured data: JSON-LD blocks that parse, and on a product page a schema.org Product with a
//! name and offers (what search engines need for price and stock rich results).

use serde_json::{Map, Value};

use super::dom::{Document, shorten};
use super::head::is_html;
use super::{Audit, Check, Finding, PageKind, Severity};

pub(super) struct StructuredFacts {
    pub product_page: bool,
    /// `@type`s of valid JSON-LD (and microdata `itemtype`s, marked as such), de-duplicated.
    pub types: Vec<String>,
}

/// One JSON-LD object with a `@type`, and where its block starts.
struct Typed<'a> {
    types: Vec<&'a str>,
    object: &'a Map<String, Value>,
    line: usize,
}

const PRODUCT_SKELETON: &str = "<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\
\"name\":\"...\",\"image\":\"https://...\",\"offers\":{\"@type\":\"Offer\",\"price\":\"89.00\",\"priceCurrency\":\"USD\",\
\"availability\":\"https://schema.org/InStock\"}}</script>";

pub(super) fn check(doc: &Document, kind: PageKind, audit: &mut Audit) -> StructuredFacts {
    let mut blocks: Vec<(usize, Value)> = Vec::new();
    let mut invalid = 0usize;
    for script in doc.by_tag("script").filter(is_html) {
        let is_ld = script
            .value()
            .attr("type")
            .is_some_and(|t| t.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/ld+json"));
        if !is_ld {
            continue;
        }
        let line = doc.line(&script);
        let body: String = script.text().collect();
        match serde_json::from_str::<Value>(&body) {
            Ok(v) => blocks.push((line, v)),
            Err(e) => {
                invalid += 1;
                audit.push(
                    Finding::new(
                        Check::StructuredData,
                        Severity::Error,
                        format!("A JSON-LD block does not parse as JSON: {}", shorten(&e.to_string(), 120)),
                        "Fix the JSON (trailing commas, unescaped quotes and HTML comments are the usual causes) and check it with a \
                     rich-results testing tool; search engines ignore the whole block",
                    )
                    // serde_json counts lines from the block's start, which is on the <script> line.
                    .at(line + e.line().saturating_sub(1), "<script type=\"application/ld+json\">"),
                );
            }
        }
    }
    let mut typed = Vec::new();
    for (line, value) in &blocks {
        collect_typed(value, *line, &mut typed);
    }
    let microdata: Vec<(usize, String)> = doc
        .elements()
        .filter_map(|e| e.value().attr("itemtype").map(|t| (doc.line(&e), t.trim().rsplit('/').next().unwrap_or_default().to_string())))
        .filter(|(_, t)| !t.is_empty())
        .collect();

    let mut types: Vec<String> = typed.iter().flat_map(|t| t.types.iter().map(|s| s.to_string())).collect();
    types.extend(microdata.iter().map(|(_, t)| format!("{t} (microdata)")));
    types.sort();
    types.dedup();

    let products: Vec<&Typed<'_>> = typed.iter().filter(|t| t.types.contains(&"Product") || t.types.contains(&"ProductGroup")).collect();
    let microdata_product = microdata.iter().any(|(_, t)| t == "Product");
    let og_product =
        doc.by_tag("meta").filter(|m| m.value().attr("property").is_some_and(|p| p.trim().eq_ignore_ascii_case("og:type"))).any(|m| {
            m.value()
                .attr("content")
                .is_some_and(|c| matches!(c.trim().to_ascii_lowercase().as_str(), "product" | "og:product" | "product.item"))
        });
    let product_page = match kind {
        PageKind::Product => true,
        PageKind::Category | PageKind::Other => false,
        PageKind::Auto => og_product || microdata_product || !products.is_empty(),
    };

    // A block that does not parse already has its finding; "no structured data" would repeat it.
    if blocks.is_empty() && microdata.is_empty() && invalid == 0 {
        let (severity, fix) = if product_page {
            (Severity::Error, format!("Add a Product JSON-LD block in <head>: {PRODUCT_SKELETON}"))
        } else {
            (
                Severity::Warning,
                "Add JSON-LD describing the page: BreadcrumbList for the category path and ItemList of the products listed \
                 (schema.org), in a <script type=\"application/ld+json\"> block"
                    .to_string(),
            )
        };
        audit.push(Finding::new(Check::StructuredData, severity, "The page has no valid structured data (JSON-LD)", fix));
    } else if product_page && products.is_empty() && !microdata_product {
        audit.push(Finding::new(
            Check::StructuredData,
            Severity::Error,
            format!("This is a product page but its structured data has no Product (found: {})", types.join(", ")),
            format!("Add a Product JSON-LD block: {PRODUCT_SKELETON}"),
        ));
    }
    for product in products {
        product_fields(product, audit);
    }
    StructuredFacts { product_page, types }
}

/// Every object with a `@type`, however nested (`@graph`, `offers`, `mainEntity`...).
fn collect_typed<'a>(value: &'a Value, line: usize, out: &mut Vec<Typed<'a>>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_typed(v, line, out)),
        Value::Object(map) => {
            let types: Vec<&str> = match map.get("@type") {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            // "schema:Product" and "https://schema.org/Product" name the same type.
            let types: Vec<&str> = types.into_iter().map(|t| t.rsplit(['/', ':']).next().unwrap_or(t)).collect();
            if !types.is_empty() {
                out.push(Typed { types, object: map, line });
            }
            map.values().for_each(|v| collect_typed(v, line, out));
        }
        _ => {}
    }
}

fn present(map: &Map<String, Value>, key: &str) -> bool {
    match map.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn product_fields(product: &Typed<'_>, audit: &mut Audit) {
    let element = "<script type=\"application/ld+json\"> Product";
    let p = product.object;
    if !present(p, "name") {
        audit.push(
            Finding::new(
                Check::StructuredData,
                Severity::Error,
                "The Product has no name",
                "Add \"name\": the product name as in the <h1>",
            )
            .at(product.line, element),
        );
    }
    // A ProductGroup carries its offers on its variants.
    if product.types.contains(&"ProductGroup") {
        return;
    }
    if !present(p, "offers") {
        audit.push(
            Finding::new(
                Check::StructuredData,
                Severity::Error,
                "The Product has no offers: no price or availability can show in search results",
                "Add \"offers\": {\"@type\":\"Offer\",\"price\":\"...\",\"priceCurrency\":\"USD\",\"availability\":\"https://schema.org/InStock\"}",
            )
            .at(product.line, element),
        );
        return;
    }
    let offers: Vec<&Map<String, Value>> = match p.get("offers") {
        Some(Value::Object(o)) => vec![o],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    for offer in offers {
        let has_price = present(offer, "price") || present(offer, "lowPrice") || present(offer, "priceSpecification");
        if !has_price || (!present(offer, "priceCurrency") && !present(offer, "priceSpecification")) {
            audit.push(
                Finding::new(
                    Check::StructuredData,
                    Severity::Warning,
                    "A Product offer lacks price or priceCurrency",
                    "Give every offer \"price\" (a number such as \"89.00\") and \"priceCurrency\" (ISO 4217, e.g. \"USD\")",
                )
                .at(product.line, element),
            );
        }
        if !present(offer, "availability") {
            audit.push(
                Finding::new(
                    Check::StructuredData,
                    Severity::Info,
                    "A Product offer has no availability",
                    "Add \"availability\": \"https://schema.org/InStock\" (or OutOfStock) so results show stock",
                )
                .at(product.line, element),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::dom::parse;
    use super::*;

    fn run(html: &str, kind: PageKind) -> (StructuredFacts, Audit) {
        let mut audit = Audit::default();
        let facts = check(&parse(html), kind, &mut audit);
        (facts, audit)
    }

    #[test]
    fn product_in_graph_with_offers_passes() {
        let html = r#"<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
            {"@type":"BreadcrumbList","itemListElement":[]},
            {"@type":["Product"],"name":"Boot","offers":{"@type":"Offer","price":"10","priceCurrency":"EUR","availability":"InStock"}}]}</script>"#;
        let (facts, audit) = run(html, PageKind::Auto);
        assert!(facts.product_page);
        assert_eq!(facts.types, vec!["BreadcrumbList", "Offer", "Product"]);
        assert!(audit.findings.is_empty(), "{:?}", audit.findings);
    }

    #[test]
    fn invalid_json_reported_at_its_line() {
        let html = "<p>x</p>\n<script type=\"application/ld+json\">{\n\"@type\": \"Product\",\n}</script>";
        let (facts, audit) = run(html, PageKind::Auto);
        assert!(!facts.product_page);
        let lines: Vec<Option<usize>> = audit.findings.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![Some(4)], "{:?}", audit.findings);
        assert!(audit.findings[0].message.contains("does not parse"));
    }

    #[test]
    fn declared_product_page_needs_product_name_offers() {
        let html = r#"<meta property="og:type" content="product"><script type="application/ld+json">{"@type":"Organization","name":"Acme"}</script>"#;
        let (facts, audit) = run(html, PageKind::Auto);
        assert!(facts.product_page);
        assert!(audit.findings[0].message.contains("has no Product (found: Organization)"));
        let html = r#"<script type="application/ld+json">{"@type":"Product","offers":[{"@type":"Offer","price":"5"}]}</script>"#;
        let (_, audit) = run(html, PageKind::Product);
        let msgs: Vec<&str> = audit.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec!["The Product has no name", "A Product offer lacks price or priceCurrency", "A Product offer has no availability"]
        );
    }
}
