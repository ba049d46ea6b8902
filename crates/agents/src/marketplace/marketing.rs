//! Agents whose input is a page, a stylesheet or copy: SEO (e-commerce) and Brand Strategy.

use super::answers::{brand_check_copy, seo_check_copy};
use super::{AgentDef, deliverable, options};
use crate::skill_agent::{Document, SkillOutput};
use crate::skills::{SkillError, brand, html};

pub(crate) const AGENTS: &[AgentDef] = &[
    AgentDef { name: "seo.audit", accepts: &["text/html"], skill: seo_audit, answers: &[("seo.check_copy", seo_check_copy)] },
    AgentDef {
        name: "brand.review",
        accepts: &["text/plain", "text/markdown", "text/html", "text/css"],
        skill: brand_review,
        answers: &[("brand.check_copy", brand_check_copy)],
    },
];

fn seo_audit(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let opts: html::SeoOptions = options(doc, "seo")?;
    let url = doc.settings.get("site_url").and_then(|v| v.as_str());
    let report = html::audit_page(doc.content.as_bytes(), url, &opts)?;
    Ok(deliverable("seo_audit", format!("SEO audit: {} (score {})", doc.filename, report.score), report.to_markdown()))
}

/// Copy is checked for voice; stylesheets and pages for off-palette colours (pages for both).
fn brand_review(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let guide: brand::BrandGuide = options(doc, "guide")?;
    let md = match doc.content_type {
        "text/css" => brand::check_colours(doc.content.as_bytes(), brand::SourceKind::Css, &guide)?.to_markdown(),
        "text/html" => {
            let colours = brand::check_colours(doc.content.as_bytes(), brand::SourceKind::Html, &guide)?;
            let text = super::html_text(doc.content);
            format!("{}\n\n{}", brand::check_voice(&text, &guide).to_markdown(), colours.to_markdown())
        }
        _ => brand::check_voice(doc.content, &guide).to_markdown(),
    };
    Ok(deliverable("brand_review", format!("Brand review: {}", doc.filename), md))
}
