//! What the marketing agents answer when another agent consults them (see `consults.rs`):
//! Brand Strategy checks copy against its brand guide; SEO checks copy for search basics (a page
//! gets the full audit). Each answer is the receiver's own skill, summarised for the asker.

use crate::skills::{brand, html};
use serde_json::{Value, json};

/// The settings under `key`, or the default.
fn settings<T: serde::de::DeserializeOwned + Default>(settings: &Value, key: &str) -> Result<T, String> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("spec settings `{key}`: {e}")),
    }
}

fn text_of(payload: &Value) -> (&str, &str) {
    (payload["text"].as_str().unwrap_or_default(), payload["content_type"].as_str().unwrap_or("text/plain"))
}

/// `brand.check_copy`: voice (banned and required words, tagline, headline case) against the
/// guide in Brand Strategy's settings.
pub(super) fn brand_check_copy(payload: &Value, spec_settings: &Value) -> Result<Value, String> {
    let guide: brand::BrandGuide = settings(spec_settings, "guide")?;
    let (text, content_type) = text_of(payload);
    let text = if content_type == "text/html" { super::html_text(text) } else { text.to_owned() };
    let report = brand::check_voice(&text, &guide);
    let banned = report.count(brand::Rule::Banned);
    let summary = format!(
        "Brand voice score {}/100: {} finding(s), {} banned term(s), {} required term(s) missing.",
        report.score,
        report.findings.len(),
        banned,
        report.required_missing.len()
    );
    Ok(json!({"summary": summary, "score": report.score, "findings": report.findings.len(), "banned": banned,
        "required_missing": report.required_missing, "markdown": report.to_markdown()}))
}

/// Copy shorter than this is thin for a search-indexed article.
const THIN_COPY_WORDS: usize = 300;

/// `seo.check_copy`: a page gets the full audit; copy gets length, headings, title length and
/// the focus keyword's density (SEO's `[settings.seo]`, or `keyword` in the payload).
pub(super) fn seo_check_copy(payload: &Value, spec_settings: &Value) -> Result<Value, String> {
    let mut opts: html::SeoOptions = settings(spec_settings, "seo")?;
    if let Some(k) = payload["keyword"].as_str() {
        opts.keyword = Some(k.to_owned());
    }
    let (text, content_type) = text_of(payload);
    if content_type == "text/html" {
        let report = html::audit_page(text.as_bytes(), None, &opts).map_err(|e| e.to_string())?;
        let summary = format!("SEO audit score {}/100.", report.score);
        return Ok(json!({"summary": summary, "score": report.score, "markdown": report.to_markdown()}));
    }
    let words = html::keyword::words(text);
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).map(|l| l.trim_start_matches('#').trim()).collect();
    let title = headings.first().copied().unwrap_or_else(|| text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim());
    let title_len = title.chars().count();
    let mut findings = Vec::new();
    if words.len() < THIN_COPY_WORDS {
        findings.push(format!("{} words: thin for an indexed article (aim for {THIN_COPY_WORDS}+).", words.len()));
    }
    if !(opts.title_min..=opts.title_max).contains(&title_len) {
        findings.push(format!("Title \"{title}\" is {title_len} characters; search results show {}–{}.", opts.title_min, opts.title_max));
    }
    if headings.len() < 2 {
        findings.push("Fewer than two headings: subheadings help readers and search engines scan the piece.".to_owned());
    }
    let mut density = Value::Null;
    if let Some(k) = &opts.keyword {
        let phrase = html::keyword::words(k);
        let hits = words.windows(phrase.len().max(1)).filter(|w| *w == phrase.as_slice()).count();
        let pct = if words.is_empty() { 0.0 } else { (hits * phrase.len()) as f64 / words.len() as f64 * 100.0 };
        let pct = (pct * 100.0).round() / 100.0;
        if pct < opts.density_min_pct || pct > opts.density_max_pct {
            findings.push(format!("Keyword \"{k}\" density {pct}% (target {}–{}%).", opts.density_min_pct, opts.density_max_pct));
        }
        density = json!(pct);
    }
    let summary = if findings.is_empty() {
        "No search problems found in the copy.".to_owned()
    } else {
        format!("{} search finding(s).", findings.len())
    };
    let markdown = findings.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n");
    Ok(json!({"summary": summary, "words": words.len(), "title_chars": title_len, "headings": headings.len(),
        "keyword_density_pct": density, "findings": findings, "markdown": markdown}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_answers_with_its_guide() {
        let settings = json!({"guide": {"brand": "Northfield", "banned": {"cheap": "good value"}, "required": ["Northfield"]}});
        let v = brand_check_copy(&json!({"text": "Cheap boots for everyone."}), &settings).unwrap();
        assert_eq!((v["banned"].as_u64(), v["required_missing"][0].as_str()), (Some(1), Some("Northfield")), "{v}");
        assert!(v["summary"].as_str().unwrap().contains("1 banned term(s), 1 required term(s) missing"), "{v}");
    }

    #[test]
    fn seo_answers_copy_with_length_title_and_density() {
        let copy = "# Knee pain after running\n\nKnee pain is common. Rest helps knee pain.\n";
        let v = seo_check_copy(&json!({"text": copy, "keyword": "knee pain"}), &json!({})).unwrap();
        assert_eq!((v["words"].as_u64(), v["headings"].as_u64(), v["title_chars"].as_u64()), (Some(12), Some(1), Some(23)), "{v}");
        let findings: Vec<&str> = v["findings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(findings.iter().any(|f| f.starts_with("12 words: thin")), "{findings:?}");
        assert!(findings.iter().any(|f| f.contains("is 23 characters")), "{findings:?}");
        assert!(findings.iter().any(|f| f.contains("density 50%")), "{findings:?}");
        let html = seo_check_copy(
            &json!({"text": "<html><head><title>x</title></head><body><h1>x</h1></body></html>", "content_type": "text/html"}),
            &json!({}),
        );
        assert!(html.unwrap()["summary"].as_str().unwrap().starts_with("SEO audit score"));
    }
}
