//! Colours used in CSS or HTML compared with the brand palette.

use std::collections::BTreeMap;
use std::fmt::Write;

use scraper::ElementRef;
use serde::Serialize;

use super::colour::{Lab, Rgba, delta_e, parse_hex};
use super::css::{Found, Scan, scan_colour_value, scan_declarations, scan_stylesheet};
use super::{BrandGuide, SourceKind};
use crate::skills::SkillError;
use crate::skills::html::dom::{self, Document, describe};
use crate::skills::html::report::{code, md};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaletteColour {
    pub name: String,
    pub hex: String,
}

/// One use of a colour that is not in the palette.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffPalette {
    pub line: usize,
    /// As written in the source.
    pub found: String,
    /// Normalised `#rrggbb` (`#rrggbbaa` with transparency).
    pub hex: String,
    /// Selector and property, or element and attribute.
    pub context: String,
    pub nearest: String,
    pub nearest_hex: String,
    /// CIE76 ΔE to the nearest palette colour, one decimal.
    pub delta_e: f64,
    pub fix: String,
}

/// Each distinct colour (by normalised hex) and where it is used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColourSummary {
    pub hex: String,
    pub uses: usize,
    pub lines: Vec<usize>,
    pub on_palette: bool,
    pub nearest: String,
    pub delta_e: f64,
}

/// CSS that could not be read or a colour that could not be checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CssProblem {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColourReport {
    pub brand: Option<String>,
    pub kind: SourceKind,
    pub tolerance: f64,
    pub palette: Vec<PaletteColour>,
    /// Colour values found (transparent and `currentColor` are not colours of their own).
    pub colours_found: usize,
    pub on_palette: usize,
    /// Percent of colour uses on the palette (100 when none were found).
    pub score: u8,
    /// Every off-palette use, in source order.
    pub off_palette: Vec<OffPalette>,
    /// Distinct colours, off-palette first, then by number of uses.
    pub summary: Vec<ColourSummary>,
    pub problems: Vec<CssProblem>,
    /// Stylesheets the page links to, which were not part of the upload.
    pub not_checked: Vec<String>,
}

impl ColourReport {
    pub fn to_markdown(&self) -> String {
        markdown(self)
    }
}

/// Extracts colours from a stylesheet or page and compares each with the palette by CIE76 ΔE.
///
/// Errors: empty, over 5 MiB or not UTF-8 text; a page with thousands of unclosed nested tags;
/// a guide with no palette, a palette value that is not a hex colour, or a negative tolerance.
pub fn check_colours(source: &[u8], kind: SourceKind, guide: &BrandGuide) -> Result<ColourReport, SkillError> {
    let palette = palette(guide)?;
    let text = dom::text_input(source, dom::MAX_BYTES)?;
    let mut scan = Scan::default();
    let mut not_checked = Vec::new();
    match kind {
        SourceKind::Css => scan_stylesheet(text, 1, &mut scan),
        SourceKind::Html => {
            dom::check_nesting(text)?;
            scan_page(&dom::parse(text), &mut scan, &mut not_checked)
        }
    }
    let mut off_palette = Vec::new();
    let mut on = 0;
    let mut distinct: BTreeMap<String, ColourSummary> = BTreeMap::new();
    for found in &scan.found {
        let (name, hex, de) = nearest(&palette, found.rgba);
        let ok = de <= guide.tolerance;
        let entry = distinct.entry(found.rgba.hex()).or_insert_with(|| ColourSummary {
            hex: found.rgba.hex(),
            uses: 0,
            lines: Vec::new(),
            on_palette: ok,
            nearest: name.to_string(),
            delta_e: round1(de),
        });
        entry.uses += 1;
        if !entry.lines.contains(&found.line) {
            entry.lines.push(found.line);
        }
        if ok {
            on += 1;
        } else {
            off_palette.push(off(found, name, hex, de));
        }
    }
    let mut summary: Vec<ColourSummary> = distinct.into_values().collect();
    summary.sort_by(|a, b| a.on_palette.cmp(&b.on_palette).then(b.uses.cmp(&a.uses)).then(a.hex.cmp(&b.hex)));
    let total = scan.found.len();
    let score = (on * 100 + total / 2).checked_div(total).map_or(100, |pct| u8::try_from(pct).unwrap_or(100));
    Ok(ColourReport {
        brand: guide.brand.clone(),
        kind,
        tolerance: guide.tolerance,
        palette: palette.iter().map(|(name, rgba, _)| PaletteColour { name: name.clone(), hex: rgba.hex() }).collect(),
        colours_found: total,
        on_palette: on,
        score,
        off_palette,
        summary,
        problems: scan.problems.into_iter().map(|p| CssProblem { line: p.line, message: p.message }).collect(),
        not_checked,
    })
}

fn palette(guide: &BrandGuide) -> Result<Vec<(String, Rgba, Lab)>, SkillError> {
    if guide.palette.is_empty() {
        return Err(SkillError::Invalid("the brand guide has no palette to compare colours with".into()));
    }
    if !guide.tolerance.is_finite() || guide.tolerance < 0.0 {
        return Err(SkillError::Invalid(format!("tolerance must be a ΔE of 0 or more, not {}", guide.tolerance)));
    }
    guide
        .palette
        .iter()
        .map(|(name, value)| match parse_hex(value) {
            Some(rgba) => Ok((name.clone(), rgba, rgba.lab())),
            None => Err(SkillError::Invalid(format!("palette colour {name:?} = {value:?} is not a hex colour such as #1f4d3a"))),
        })
        .collect()
}

fn nearest(palette: &[(String, Rgba, Lab)], colour: Rgba) -> (&str, Rgba, f64) {
    let lab = colour.lab();
    let mut best = ("", Rgba::opaque(0, 0, 0), f64::INFINITY);
    for (name, rgba, plab) in palette {
        let de = delta_e(lab, *plab);
        if de < best.2 {
            best = (name.as_str(), *rgba, de);
        }
    }
    best
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn off(found: &Found, name: &str, hex: Rgba, de: f64) -> OffPalette {
    let fix = if de <= 10.0 {
        format!("Use the brand colour {name} ({}) exactly: {} is a near miss", hex.hex(), found.text)
    } else {
        format!("Replace it with the closest brand colour, {name} ({}), or add it to the palette if the brand team approves it", hex.hex())
    };
    OffPalette {
        line: found.line,
        found: found.text.clone(),
        hex: found.rgba.hex(),
        context: found.context.clone(),
        nearest: name.to_string(),
        nearest_hex: hex.hex(),
        delta_e: round1(de),
        fix,
    }
}

/// Presentation attributes that hold a colour.
const COLOUR_ATTRS: [&str; 5] = ["bgcolor", "color", "fill", "stroke", "stop-color"];

fn scan_page(doc: &Document, scan: &mut Scan, not_checked: &mut Vec<String>) {
    for el in doc.elements() {
        let name = el.value().name();
        let line = doc.line(&el);
        match name {
            // The CSS text starts right after the <style> tag, on the tag's line.
            "style" => scan_stylesheet(&el.text().collect::<String>(), line, scan),
            "link" if is_stylesheet(&el) => {
                if let Some(href) = el.value().attr("href") {
                    not_checked.push(href.to_string());
                }
            }
            "meta" if el.value().attr("name").is_some_and(|n| n.eq_ignore_ascii_case("theme-color")) => {
                if let Some(content) = el.value().attr("content") {
                    scan_colour_value(content, line, "<meta name=\"theme-color\">", scan);
                }
            }
            _ => {}
        }
        let tag = label(&el);
        if let Some(style) = el.value().attr("style") {
            scan_declarations(style, line, &format!("style=\"\" on {tag}"), scan);
        }
        for attr in COLOUR_ATTRS {
            // `color` is a colour only on <font> and friends; on <input type=color> it is not set.
            if let Some(value) = el.value().attr(attr).filter(|_| attr != "color" || matches!(name, "font" | "basefont" | "hr")) {
                scan_colour_value(value, line, &format!("{attr}=\"\" on {tag}"), scan);
            }
        }
    }
}

fn is_stylesheet(el: &ElementRef<'_>) -> bool {
    el.value().attr("rel").is_some_and(|r| r.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("stylesheet")))
}

/// `<a class="btn">`-style label naming the element.
fn label(el: &ElementRef<'_>) -> String {
    if el.value().attr("class").is_some() { describe(el, "class") } else { describe(el, "id") }
}

fn markdown(r: &ColourReport) -> String {
    let mut out = String::new();
    let brand = r.brand.as_deref().map(|b| format!(" for {b}")).unwrap_or_default();
    let _ = writeln!(out, "# Brand colour check{}\n", md(&brand));
    let _ = writeln!(
        out,
        "**{}% on palette** — {} of {} colour uses match a brand colour within ΔE {} (CIE76).\n",
        r.score, r.on_palette, r.colours_found, r.tolerance
    );
    let palette: Vec<String> = r.palette.iter().map(|p| format!("{} `{}`", p.name, p.hex)).collect();
    let _ = writeln!(out, "Palette: {}.\n", palette.join(", "));
    let off: Vec<&ColourSummary> = r.summary.iter().filter(|s| !s.on_palette).collect();
    if off.is_empty() {
        out.push_str("Every colour found is on the palette.\n");
    } else {
        let _ = writeln!(out, "## Off-palette colours\n\n| Colour | Uses | Lines | Nearest brand colour | ΔE |\n|---|---:|---|---|---:|");
        for s in off {
            let lines: Vec<String> = s.lines.iter().map(usize::to_string).collect();
            let _ = writeln!(out, "| `{}` | {} | {} | {} | {} |", s.hex, s.uses, lines.join(", "), s.nearest, s.delta_e);
        }
        let _ = writeln!(out, "\n## Where and how to fix\n\n| Line | Found | Where | Fix |\n|---:|---|---|---|");
        for o in &r.off_palette {
            let _ = writeln!(out, "| {} | {} | {} | {} |", o.line, code(&o.found), code(&o.context), md(&o.fix));
        }
    }
    if !r.problems.is_empty() {
        let _ = writeln!(out, "\n## CSS problems\n");
        for p in &r.problems {
            let _ = writeln!(out, "- line {}: {}", p.line, md(&p.message));
        }
    }
    if !r.not_checked.is_empty() {
        let links: Vec<String> = r.not_checked.iter().map(|l| code(l)).collect();
        let _ = writeln!(out, "\nLinked stylesheets not checked (upload them as CSS): {}.", links.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide() -> BrandGuide {
        let mut g = BrandGuide::default();
        g.palette.insert("Green".into(), "#1f4d3a".into());
        g.palette.insert("Paper".into(), "#fff".into());
        g
    }

    #[test]
    fn guide_errors() {
        assert!(matches!(check_colours(b"a{}", SourceKind::Css, &BrandGuide::default()), Err(SkillError::Invalid(_))));
        let mut g = guide();
        g.palette.insert("Bad".into(), "greenish".into());
        let err = check_colours(b"a{}", SourceKind::Css, &g).unwrap_err();
        assert!(err.to_string().contains("\"Bad\""), "{err}");
        let g = BrandGuide { tolerance: -1.0, ..guide() };
        assert!(matches!(check_colours(b"a{}", SourceKind::Css, &g), Err(SkillError::Invalid(_))));
        assert_eq!(check_colours(b"", SourceKind::Css, &guide()), Err(SkillError::Empty));
    }

    #[test]
    fn tolerance_decides_on_palette() {
        // #204e3b is ΔE < 1 from Green; #2e6b52 is a visibly lighter green.
        let css = b".a { color: #204e3b }\n.b { color: #2e6b52 }\n.c { background: white }";
        let r = check_colours(css, SourceKind::Css, &guide()).unwrap();
        assert_eq!((r.colours_found, r.on_palette, r.score), (3, 2, 67));
        assert_eq!(r.off_palette.len(), 1);
        let o = &r.off_palette[0];
        assert_eq!((o.line, o.hex.as_str(), o.nearest.as_str()), (2, "#2e6b52", "Green"));
        assert!(o.delta_e > 3.0);
        let loose = BrandGuide { tolerance: 20.0, ..guide() };
        assert_eq!(check_colours(css, SourceKind::Css, &loose).unwrap().score, 100);
    }

    #[test]
    fn page_sources() {
        let html = "<html><head><link rel=stylesheet href=/site.css><meta name=theme-color content=\"#1f4d3a\">\n<style>\n.hero { background: #ff6600 }\n</style></head>\n<body><p style=\"color: red\">x</p>\n<table bgcolor=\"#ffffff\"><tr><td>y</td></tr></table><svg><path fill=\"#123456\"/></svg></body></html>";
        let r = check_colours(html.as_bytes(), SourceKind::Html, &guide()).unwrap();
        let got: Vec<(usize, &str)> = r.off_palette.iter().map(|o| (o.line, o.hex.as_str())).collect();
        assert_eq!(got, vec![(3, "#ff6600"), (5, "#ff0000"), (6, "#123456")]);
        assert_eq!(r.colours_found, 5);
        assert_eq!(r.not_checked, vec!["/site.css"]);
        assert!(r.off_palette[1].context.starts_with("style=\"\" on <p>"), "{}", r.off_palette[1].context);
    }
}
