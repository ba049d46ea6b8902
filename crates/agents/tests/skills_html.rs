//! SEO page audit and brand consistency skills on realistic pages, copy and stylesheets, plus
//! adversarial input (empty, binary, wrongly encoded, oversized, malformed).

use std::path::PathBuf;

use proptest::prelude::*;
use waooaw_agents::skills::SkillError;
use waooaw_agents::skills::brand::{BrandGuide, Rule, SourceKind, TaglineStatus, check_colours, check_voice};
use waooaw_agents::skills::html::{Check, SeoOptions, SeoReport, Severity, Status, audit_page};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/html").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keyword(k: &str) -> SeoOptions {
    SeoOptions { keyword: Some(k.into()), ..SeoOptions::default() }
}

fn failed(r: &SeoReport) -> Vec<Check> {
    r.checks.iter().filter(|c| c.status == Status::Failed).map(|c| c.check).collect()
}

/// (line, element) of the findings of one check with a severity.
fn located(r: &SeoReport, check: Check, severity: Severity) -> Vec<(Option<usize>, Option<String>)> {
    r.findings_for(check).filter(|f| f.severity == severity).map(|f| (f.line, f.element.clone())).collect()
}

const GOOD_URL: &str = "https://www.northfield-outfitters.co.uk/men/boots/walnut-leather-chelsea-boot";

#[test]
fn good_product_page_scores_full_marks() {
    let r = audit_page(&fixture("product_good.html"), Some(GOOD_URL), &keyword("chelsea boot")).unwrap();
    assert_eq!(r.score, 100, "{}", r.to_markdown());
    assert!(failed(&r).is_empty());
    assert!(r.findings.iter().all(|f| f.severity == Severity::Info), "{:?}", r.findings);
    assert!(r.parse_errors.is_empty(), "{:?}", r.parse_errors);
    assert!(r.product_page);
    assert_eq!(r.title.as_deref(), Some("Walnut Leather Chelsea Boot for Men | Northfield"));
    assert_eq!(r.h1, vec!["Walnut Leather Chelsea Boot"]);
    for t in ["Product", "Offer", "BreadcrumbList", "AggregateRating"] {
        assert!(r.structured_data_types.iter().any(|s| s == t), "{t} missing from {:?}", r.structured_data_types);
    }
    // 14 same-site links (nav, breadcrumbs, help, reviews, related products), Instagram, a mailto.
    assert_eq!((r.links.internal, r.links.external, r.links.other, r.links.dead), (14, 1, 1, 0));
    assert_eq!(r.images, 7);
    // Cross-checked with an independent HTML-to-text count: 359 words, 4 × "chelsea boot".
    let k = r.keyword.as_ref().unwrap();
    assert_eq!((r.word_count, k.occurrences), (359, 4));
    assert!((k.density_pct - 2.23).abs() < 0.01, "{}", k.density_pct);
    assert!(k.in_title && k.in_h1 && k.in_meta_description);
}

#[test]
fn without_url_the_canonical_host_decides_internal_links() {
    let with = audit_page(&fixture("product_good.html"), Some(GOOD_URL), &SeoOptions::default()).unwrap();
    let without = audit_page(&fixture("product_good.html"), None, &SeoOptions::default()).unwrap();
    assert_eq!(with.links, without.links);
    assert_eq!(without.status(Check::KeywordDensity), Status::NotApplicable);
    assert_eq!(without.score, 100);
}

#[test]
fn bad_category_page_lists_each_problem() {
    let r = audit_page(&fixture("category_bad.html"), Some("https://www.stridehub.com/women/running-shoes"), &keyword("running shoes"))
        .unwrap();
    assert_eq!(
        failed(&r),
        vec![
            Check::TitleLength,
            Check::MetaDescription,
            Check::SingleH1,
            Check::HeadingOrder,
            Check::ImageAlt,
            Check::Canonical,
            Check::StructuredData,
            Check::Links,
            Check::KeywordDensity,
            Check::Lang,
            Check::Viewport,
        ]
    );
    // Passed: title present (10) and markup (5) of 95 applicable points (no description to measure).
    assert_eq!(r.status(Check::MetaDescriptionLength), Status::NotApplicable);
    assert_eq!(r.score, 16);
    assert!(!r.product_page);

    let title = r.findings_for(Check::TitleLength).next().unwrap();
    assert!(title.message.contains("93 characters"), "{}", title.message);
    // Two h1s: the logo (empty, its image has no alt) and the category name.
    let h1: Vec<&str> = r.findings_for(Check::SingleH1).map(|f| f.message.as_str()).collect();
    assert_eq!(h1, vec!["2 <h1> elements: line 11 \"\", line 21 \"Women's Running Shoes\"", "An <h1> is empty"]);
    let skips: Vec<(Option<usize>, &str)> = r.findings_for(Check::HeadingOrder).map(|f| (f.line, f.message.as_str())).collect();
    assert_eq!(
        skips,
        vec![
            (Some(17), "<h4> \"Free shipping on orders over $50\" follows <h1>, skipping <h2>"),
            (Some(27), "<h4> \"Brand\" follows <h2>, skipping <h3>"),
        ]
    );
    assert_eq!(
        located(&r, Check::ImageAlt, Severity::Error),
        vec![
            (Some(11), Some("<img src=\"/static/img/stridehub-logo.png\">".into())),
            (Some(35), Some("<img src=\"/media/aerolite-5-coral.jpg\">".into())),
            (Some(47), Some("<img data-src=\"/media/tempo-racer-lime.jpg\">".into())),
        ]
    );
    assert_eq!(
        located(&r, Check::ImageAlt, Severity::Warning),
        vec![(Some(39), Some("<img src=\"/media/trailfox-gtx-slate.jpg\">".into()))]
    );
    let canonical = r.findings_for(Check::Canonical).next().unwrap();
    assert_eq!((canonical.line, canonical.message.as_str()), (Some(6), "The canonical URL \"/women/running-shoes\" is not absolute"));
    let dead: Vec<Option<usize>> = r.findings_for(Check::Links).filter(|f| f.severity == Severity::Warning).map(|f| f.line).collect();
    assert_eq!(dead, vec![Some(12), Some(13), Some(28), Some(30), Some(51)]);
    assert_eq!((r.links.internal, r.links.external, r.links.dead), (9, 1, 5));
    let k = r.keyword.as_ref().unwrap();
    assert_eq!(k.occurrences, 13);
    assert!(k.density_pct > 25.0, "{}", k.density_pct);
    assert!(r.findings_for(Check::KeywordDensity).any(|f| f.message.contains("keyword stuffing")));
    // Every failed check carries a fix.
    assert!(r.findings.iter().all(|f| !f.fix.is_empty()));
}

#[test]
fn malformed_page_still_audits_and_lists_parse_errors() {
    let r = audit_page(&fixture("product_broken.html"), None, &keyword("pour-over dripper")).unwrap();
    let errors: Vec<(usize, &str)> = r.parse_errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(
        errors,
        vec![
            (1, "no <!DOCTYPE html> before the first <html>"),
            (34, "nested heading tags"),
            (36, "unexpected <a> in <body>"),
            (38, "unexpected end tag </div> in <body>"),
            (39, "unexpected end tag </section> in <body>"),
            (42, "unexpected <p> after </body>"),
        ]
    );
    assert_eq!(
        failed(&r),
        vec![Check::SingleH1, Check::HeadingOrder, Check::ImageAlt, Check::StructuredData, Check::KeywordDensity, Check::Markup]
    );
    // What the broken markup did not hide still passes.
    for ok in [Check::Title, Check::TitleLength, Check::MetaDescription, Check::Canonical, Check::Lang, Check::Viewport, Check::Links] {
        assert_eq!(r.status(ok), Status::Passed, "{ok:?}");
    }
    // The trailing comma is on line 16 of the file (line 10 of the JSON-LD block).
    let json = r.findings_for(Check::StructuredData).next().unwrap();
    assert_eq!((json.line, json.severity), (Some(16), Severity::Error));
    assert!(json.message.contains("trailing comma"), "{}", json.message);
    let h1 = r.findings_for(Check::SingleH1).next().unwrap();
    assert_eq!(h1.line, Some(25));
    assert!(h1.message.contains("probably not closed"), "{}", h1.message);
    assert_eq!(located(&r, Check::ImageAlt, Severity::Error), vec![(Some(28), Some("<img src=\"/img/dripper-sand-2.jpg\">".into()))]);
    assert_eq!(r.score, 50);
    let md = r.to_markdown();
    assert!(md.contains("## Markup errors (6)"));
    assert!(md.contains("line 38: unexpected end tag &lt;/div&gt; in &lt;body&gt;"), "{md}");
}

#[test]
fn markdown_deliverable_is_readable_and_safe() {
    let r = audit_page(&fixture("category_bad.html"), Some("https://www.stridehub.com/women/running-shoes"), &keyword("running shoes"))
        .unwrap();
    let md = r.to_markdown();
    assert!(md.starts_with("# SEO audit: https://www.stridehub.com/women/running-shoes\n"));
    assert!(md.contains("**Score: 16/100**"));
    assert!(md.contains("| Exactly one h1 | 10 | **failed** |"));
    // Tags in messages are escaped (a rendered deliverable would swallow them); elements are code.
    assert!(md.contains("The page has no meta description"));
    assert!(md.contains("2 &lt;h1&gt; elements"));
    assert!(md.contains("(`<img src=\"/media/aerolite-5-coral.jpg\">`)"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["score"], 16);
    assert_eq!(json["checks"][0]["check"], "title");
}

#[test]
fn unusable_uploads_are_errors() {
    let opts = SeoOptions::default();
    assert_eq!(audit_page(b"", None, &opts).unwrap_err(), SkillError::Empty);
    assert_eq!(audit_page(b" \n\t ", None, &opts).unwrap_err(), SkillError::Empty);
    // "Café" saved as Latin-1: the é (0xE9) is the first byte that is not UTF-8.
    let latin1 = fixture("latin1_page.html");
    let offset = latin1.iter().position(|&b| b == 0xe9).unwrap();
    assert_eq!(audit_page(&latin1, None, &opts).unwrap_err(), SkillError::NotText { offset });
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R'];
    assert_eq!(audit_page(&png, None, &opts).unwrap_err(), SkillError::NotText { offset: 0 });
    let huge = vec![b'a'; 5 * 1024 * 1024 + 1];
    assert_eq!(audit_page(&huge, None, &opts).unwrap_err(), SkillError::TooLarge { size: huge.len(), limit: 5 * 1024 * 1024 });
    assert!(matches!(audit_page(b"<p>x</p>", Some("not a url"), &opts), Err(SkillError::Invalid(_))));
    // Tens of thousands of unclosed tags would take the tree builder minutes: refused with the line.
    let deep = format!("<!DOCTYPE html>\n<html>\n<body>\n{}", "<div><span>".repeat(30_000));
    for result in
        [audit_page(deep.as_bytes(), None, &opts).map(|_| ()), check_colours(deep.as_bytes(), SourceKind::Html, &guide()).map(|_| ())]
    {
        match result {
            Err(SkillError::Line { line: 4, reason }) => assert!(reason.contains("unclosed tags"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_large_page_within_the_limit_audits() {
    let good = String::from_utf8(fixture("product_good.html")).unwrap();
    let (head, tail) = good.split_at(good.find("</main>").unwrap());
    let filler = "<section><h2>More</h2><p>Leather boots for long walks in wet weather.</p></section>\n".repeat(12_000);
    let page = format!("{head}{filler}{tail}");
    assert!(page.len() > 1_000_000 && page.len() < 5 * 1024 * 1024);
    let r = audit_page(page.as_bytes(), Some(GOOD_URL), &SeoOptions::default()).unwrap();
    assert!(r.word_count > 12_000 * 8);
    assert_eq!(r.status(Check::HeadingOrder), Status::Passed);
}

#[test]
fn truncated_pages_never_fail_to_audit() {
    for name in ["product_good.html", "category_bad.html", "product_broken.html"] {
        let page = String::from_utf8(fixture(name)).unwrap();
        for cut in (1..page.len()).step_by(37).filter(|&i| page.is_char_boundary(i)) {
            let prefix = &page[..cut];
            match audit_page(prefix.as_bytes(), None, &SeoOptions::default()) {
                Ok(r) => assert!(r.score <= 100),
                Err(e) => assert!(prefix.trim().is_empty() && e == SkillError::Empty, "{name} cut at {cut}: {e}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_markup_never_panics(body in "(<[a-z0-9/!]{0,6}( [a-z]{1,5}=[\"']?[^<>]{0,12})?>|[^<]{0,20}){0,40}") {
        let page = format!("<html><body>{body}");
        let r = audit_page(page.as_bytes(), Some("https://shop.example/p"), &SeoOptions { keyword: Some("shoe".into()), ..Default::default() });
        // A NUL byte marks binary input, the one error arbitrary text can give.
        let binary = body.contains('\0');
        let not_text = matches!(r, Err(SkillError::NotText { .. }));
        prop_assert!(r.is_ok() || (binary && not_text));
        let g = guide();
        let page_colours = check_colours(page.as_bytes(), SourceKind::Html, &g);
        prop_assert!(page_colours.is_ok() || binary);
        let css = check_colours(body.as_bytes(), SourceKind::Css, &g);
        prop_assert!(css.is_ok() || binary || body.trim().is_empty());
    }
}

// ----- brand -----

fn guide() -> BrandGuide {
    let text = String::from_utf8(fixture("brand/brand_guide.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn copy(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

#[test]
fn on_brand_copy_passes() {
    let r = check_voice(&copy("brand/copy_on_brand.md"), &guide());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.score, 100);
    assert_eq!(r.tagline, TaglineStatus::Exact { line: 15 });
    assert_eq!(r.exclamations, 0);
}

#[test]
fn off_brand_copy_findings() {
    let r = check_voice(&copy("brand/copy_off_brand.md"), &guide());
    let banned: Vec<(Option<usize>, &str)> =
        r.findings.iter().filter(|f| f.rule == Rule::Banned).map(|f| (f.line, f.found.as_deref().unwrap_or_default())).collect();
    assert_eq!(
        banned,
        vec![
            (Some(1), "Revolutionary"),
            (Some(3), "cheap"),
            (Some(3), "world-class"),
            (Some(4), "game-changer"),
            (Some(6), "Amazing"),
            (Some(6), "amazing"),
            (Some(6), "fast fashion"),
            (Some(6), "luxury"),
            (Some(7), "cheap"),
        ]
    );
    let fixes: Vec<&str> = r.findings.iter().filter(|f| f.rule == Rule::Banned).map(|f| f.fix.as_str()).take(2).collect();
    assert_eq!(fixes, vec!["Replace \"Revolutionary\" with \"New\"", "Replace \"cheap\" with \"good value\""]);
    assert_eq!(r.required_missing, vec!["free UK delivery"]);
    assert_eq!(r.tagline, TaglineStatus::Variant { line: 13, found: "Made To Be Mended!".into() });
    let headlines: Vec<(Option<usize>, &str)> =
        r.findings.iter().filter(|f| f.rule == Rule::HeadlineCase).map(|f| (f.line, f.fix.as_str())).collect();
    assert_eq!(
        headlines,
        vec![(Some(1), "Write it as \"Our revolutionary new boot is here\""), (Some(9), "Write it as \"Shop the collection now\"")]
    );
    // Five marks, one allowed: lines 4 (two), 7 and 13 are over.
    assert_eq!(r.exclamations, 5);
    let over: Vec<Option<usize>> = r.findings.iter().filter(|f| f.rule == Rule::Exclamation).map(|f| f.line).collect();
    assert_eq!(over, vec![Some(4), Some(4), Some(7), Some(13)]);
    // 100 - banned 40 (capped) - required 10 - tagline variant 10 - headlines 10 - exclamations 15 (capped).
    assert_eq!(r.score, 15);
    let md = r.to_markdown();
    assert!(md.contains("**Score: 15/100**") && md.contains("misquoted as \"Made To Be Mended!\" (line 13)"), "{md}");
}

#[test]
fn stylesheet_off_palette_colours_with_lines() {
    let r = check_colours(&fixture("brand/site.css"), SourceKind::Css, &guide()).unwrap();
    let off: Vec<(usize, &str, &str)> = r.off_palette.iter().map(|o| (o.line, o.hex.as_str(), o.nearest.as_str())).collect();
    assert_eq!(
        off,
        vec![
            (30, "#2e6b52", "Fell Green"),
            (46, "#ff5733", "Bracken"),
            (52, "#dddddd", "Limestone"),
            (53, "#00000026", "Ink"),
            (58, "#ff6347", "Bracken"),
            (67, "#333333", "Ink"),
            (76, "#121212", "Ink"),
        ]
    );
    assert_eq!(r.off_palette[4].found, "tomato");
    assert_eq!(r.off_palette[1].context, ".promo-banner { background }");
    // The hover green is visibly lighter than Fell Green; #121212 is close to Ink but over 3.
    assert!(r.off_palette[0].delta_e > 10.0);
    assert!(r.off_palette[6].delta_e > 3.0 && r.off_palette[6].delta_e < 6.0);
    // Palette colours in other notations pass: rgb(31 77 58), hsl(153, 43%, 21%), white, #FFF.
    assert_eq!((r.colours_found, r.on_palette, r.score), (27, 20, 74));
    // The comment's #ff0000, the string "#abcdef", url("#pattern") and the #fade-in selector are not colours.
    for not_colour in ["#ff0000", "#abcdef"] {
        assert!(r.summary.iter().all(|s| s.hex != not_colour), "{not_colour}");
    }
    let problems: Vec<(usize, &str)> = r.problems.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(problems, vec![(71, "`#12345` in .badge { background-color } is not a valid hex colour")]);
}

#[test]
fn page_colours_from_style_blocks_attributes_and_svg() {
    let r = check_colours(&fixture("brand/landing.html"), SourceKind::Html, &guide()).unwrap();
    let off: Vec<(usize, &str, &str)> = r.off_palette.iter().map(|o| (o.line, o.hex.as_str(), o.context.as_str())).collect();
    assert_eq!(
        off,
        vec![
            (10, "#e67e22", ".repairs-hero .cta { background }"),
            (20, "#777777", "style=\"\" on <p class=\"legal\"> (color)"),
            (21, "#c0392b", "fill=\"\" on <circle>"),
        ]
    );
    assert_eq!((r.colours_found, r.on_palette), (10, 7));
    assert_eq!(r.not_checked, vec!["/assets/css/site.3f9a2c.css"]);
    let md = r.to_markdown();
    assert!(md.contains("| `#e67e22` | 1 | 10 | Bracken |"), "{md}");
}

#[test]
fn colour_check_bad_input() {
    let g = guide();
    assert_eq!(check_colours(b"", SourceKind::Css, &g).unwrap_err(), SkillError::Empty);
    assert_eq!(check_colours(b"a { color: #fff }\xff", SourceKind::Css, &g).unwrap_err(), SkillError::NotText { offset: 17 });
    // Unclosed blocks and stray braces: what can be read is still checked.
    let broken = b"}\n.a { color: #ff0000\n.b { color: #1f4d3a; \n @media { .c { background: rgb(";
    let r = check_colours(broken, SourceKind::Css, &g).unwrap();
    assert_eq!(r.off_palette.iter().map(|o| (o.line, o.hex.as_str())).collect::<Vec<_>>(), vec![(2, "#ff0000")]);
    assert!(!r.problems.is_empty());
    let no_palette = BrandGuide { palette: Default::default(), ..g };
    assert!(matches!(check_colours(b"a{}", SourceKind::Css, &no_palette), Err(SkillError::Invalid(_))));
}
