//! The audit as a Markdown deliverable.

use std::fmt::Write;

use super::{SeoReport, Severity, Status};

/// Text safe in Markdown, table cells included: deliverables are rendered to HTML, where a raw
/// `<title>` in a message would become a tag and vanish.
pub(crate) fn md(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;").replace('|', "\\|").replace('\n', " ")
}

/// A code span (shown verbatim); backticks inside become quotes, pipes are escaped for tables.
pub(crate) fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace('|', "\\|").replace('\n', " "))
}

pub(super) fn markdown(r: &SeoReport) -> String {
    let mut out = String::new();
    let subject = r.url.as_deref().or(r.title.as_deref()).unwrap_or("page");
    let _ = writeln!(out, "# SEO audit: {}\n", md(subject));
    let failed = r.checks.iter().filter(|c| c.status == Status::Failed).count();
    let applicable = r.checks.iter().filter(|c| c.status != Status::NotApplicable).count();
    let errors = r.findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = r.findings.iter().filter(|f| f.severity == Severity::Warning).count();
    let _ = writeln!(
        out,
        "**Score: {}/100** — {} of {} checks passed; {errors} error(s), {warnings} warning(s).\n",
        r.score,
        applicable - failed,
        applicable
    );
    let kind = if r.product_page { "product page" } else { "page" };
    let _ = writeln!(
        out,
        "Audited as a {kind}: {} visible words, {} image(s), {} internal / {} external link(s){}.\n",
        r.word_count,
        r.images,
        r.links.internal,
        r.links.external,
        if r.links.dead > 0 { format!(", {} dead", r.links.dead) } else { String::new() }
    );
    let _ = writeln!(out, "## Checks\n\n| Check | Weight | Result |\n|---|---:|---|");
    for c in &r.checks {
        let result = match c.status {
            Status::Passed => "passed",
            Status::Failed => "**failed**",
            Status::NotApplicable => "not applicable",
        };
        let _ = writeln!(out, "| {} | {} | {result} |", c.check.label(), c.weight);
    }
    if r.findings.is_empty() {
        out.push_str("\nNo problems found.\n");
    } else {
        let _ = writeln!(out, "\n## Findings\n\n| Severity | Line | Check | Problem | Fix |\n|---|---:|---|---|---|");
        for f in &r.findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let line = f.line.map(|l| l.to_string()).unwrap_or_else(|| "–".into());
            let problem = match &f.element {
                Some(el) => format!("{} ({})", md(&f.message), code(el)),
                None => md(&f.message),
            };
            let _ = writeln!(out, "| {sev} | {line} | {} | {problem} | {} |", f.check.label(), md(&f.fix));
        }
    }
    let _ = writeln!(out, "\n## Page facts\n");
    let _ = writeln!(out, "- Title: {}", r.title.as_deref().map_or("(none)".to_string(), |t| format!("\"{}\"", md(t))));
    let _ =
        writeln!(out, "- Meta description: {}", r.meta_description.as_deref().map_or("(none)".to_string(), |t| format!("\"{}\"", md(t))));
    let _ = writeln!(out, "- h1: {}", if r.h1.is_empty() { "(none)".to_string() } else { md(&r.h1.join(" / ")) });
    let types = if r.structured_data_types.is_empty() { "(none)".to_string() } else { r.structured_data_types.join(", ") };
    let _ = writeln!(out, "- Structured data: {types}");
    if let Some(k) = &r.keyword {
        let _ = writeln!(
            out,
            "- Keyword \"{}\": {} occurrence(s), {}% (target {}–{}%); in title: {}, in h1: {}, in meta description: {}",
            md(&k.keyword),
            k.occurrences,
            k.density_pct,
            k.target_min_pct,
            k.target_max_pct,
            yes(k.in_title),
            yes(k.in_h1),
            yes(k.in_meta_description)
        );
    }
    if !r.parse_errors.is_empty() {
        let _ = writeln!(out, "\n## Markup errors ({})\n", r.parse_errors.len());
        for e in r.parse_errors.iter().take(20) {
            let _ = writeln!(out, "- line {}: {}", e.line, md(&e.message));
        }
        if r.parse_errors.len() > 20 {
            let _ = writeln!(out, "- … and {} more", r.parse_errors.len() - 20);
        }
    }
    out
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
