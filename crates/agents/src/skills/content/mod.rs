//! Content Marketing (healthcare): compliance review of drafts — unsubstantiated claims, missing
//! medical disclaimer, patient-data-like patterns —, readability against a target band, and a
//! content calendar.
//!
//! `text` holds the input checks and text helpers the other text skills share.

mod calendar;
mod claims;
mod phi;
mod readability;
pub mod text;

pub use calendar::{Cadence, Calendar, CalendarEntry, MAX_WEEKS, SkippedDate, content_calendar};
pub use readability::syllables;
pub use text::Severity;

use crate::skills::SkillError;
use serde::{Deserialize, Serialize};
use text::{LineIndex, md_cell, sentence_around};

/// Review settings (a spec file's `[settings]` may carry them). Defaults in `Default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceOptions {
    /// Disclaimer phrases, matched case-insensitively; default: "consult your doctor", "talk to
    /// your doctor", "consult a healthcare professional", "not medical advice", "not a substitute
    /// for professional medical advice" and a few close variants.
    pub disclaimers: Vec<String>,
    /// `true`: every phrase must appear; `false` (default): any one is enough.
    pub require_all_disclaimers: bool,
    /// More claim phrases to flag (high severity), e.g. a product's banned superlatives.
    pub extra_claims: Vec<String>,
    /// Claim rule ids (see `claims` docs) to switch off, e.g. `["breakthrough"]`.
    pub disabled_rules: Vec<String>,
    /// How far (bytes, either side) a citation may stand from a "proven" claim. Default 200.
    pub citation_window: usize,
    /// Scan for patient-data-like patterns. Default true.
    pub check_phi: bool,
    /// Reading-ease band (default 60..=100: plain English) and grade band (default 0..=8:
    /// health-literacy guidance asks for patient material at or below 8th grade; raise
    /// `min_grade` for clinician audiences, where text that reads too simply is a problem).
    pub min_reading_ease: f64,
    pub max_reading_ease: f64,
    pub min_grade: f64,
    pub max_grade: f64,
    /// Sentences longer than this many words are listed (default 25; 0 turns it off).
    pub max_sentence_words: usize,
    /// Largest draft accepted, in bytes (default 1 MiB).
    pub max_bytes: usize,
}

impl Default for ComplianceOptions {
    fn default() -> Self {
        Self {
            disclaimers: [
                "consult your doctor",
                "consult a doctor",
                "consult your physician",
                "talk to your doctor",
                "talk with your doctor",
                "consult a healthcare professional",
                "consult your healthcare provider",
                "not medical advice",
                "not a substitute for professional medical advice",
            ]
            .map(String::from)
            .to_vec(),
            require_all_disclaimers: false,
            extra_claims: Vec::new(),
            disabled_rules: Vec::new(),
            citation_window: 200,
            check_phi: true,
            min_reading_ease: 60.0,
            max_reading_ease: 100.0,
            min_grade: 0.0,
            max_grade: 8.0,
            max_sentence_words: 25,
            max_bytes: text::DEFAULT_MAX_BYTES,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Claim,
    MissingDisclaimer,
    PatientData,
    Readability,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentFinding {
    pub kind: FindingKind,
    /// Rule id, e.g. `cure`, `ssn`, `disclaimer`, `reading-ease`.
    pub rule: String,
    pub severity: Severity,
    /// The matched text (masked for patient data), empty for document-level findings.
    pub matched: String,
    /// 1-based line and column of the match; `None` for document-level findings.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The sentence the match is in (masked for patient data).
    pub sentence: String,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readability {
    pub words: usize,
    pub sentences: usize,
    pub syllables: usize,
    /// `None` when the text has no words to score.
    pub flesch_reading_ease: Option<f64>,
    pub flesch_kincaid_grade: Option<f64>,
    pub target_reading_ease: (f64, f64),
    pub target_grade: (f64, f64),
    pub within_target: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentReport {
    pub findings: Vec<ContentFinding>,
    pub disclaimer_present: bool,
    pub readability: Readability,
    /// No claim or patient-data finding of high severity or above and a disclaimer present.
    pub compliant: bool,
}

impl ContentReport {
    pub fn by_kind(&self, kind: FindingKind) -> impl Iterator<Item = &ContentFinding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }
}

/// Reviews a healthcare marketing draft (plain text or Markdown).
pub fn review_draft(draft: &str, opts: &ComplianceOptions) -> Result<ContentReport, SkillError> {
    text::check_text(draft, opts.max_bytes)?;
    let idx = LineIndex::new(draft);
    let mut findings = claim_findings(draft, &idx, opts)?;
    let disclaimer_present = disclaimer_present(draft, opts);
    if !disclaimer_present {
        let wanted = opts.disclaimers.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>();
        let (how, list) = if opts.require_all_disclaimers { ("all of", wanted.join(", ")) } else { ("one of", wanted.join(", ")) };
        findings.push(ContentFinding {
            kind: FindingKind::MissingDisclaimer,
            rule: "disclaimer".into(),
            severity: Severity::High,
            matched: String::new(),
            line: None,
            column: None,
            sentence: String::new(),
            message: format!("No medical disclaimer: the draft contains none of the required phrases ({how} {list})."),
            fix: "End the post with: \"This article is for general information and is not medical advice. Consult your doctor \
                  before starting or changing any treatment.\""
                .into(),
        });
    }
    let (readability, mut read_findings) = readability_findings(draft, &idx, opts);
    findings.append(&mut read_findings);
    if opts.check_phi {
        let phi = phi::scan(draft);
        // Quoted sentences must not repeat an identifier another finding masks.
        let redactions: Vec<(&str, String)> =
            phi.iter().filter_map(|m| draft.get(m.start..m.end)).map(|raw| (raw, phi::mask(raw))).collect();
        for f in &mut findings {
            for (raw, masked) in &redactions {
                f.sentence = f.sentence.replace(raw, masked);
            }
        }
        findings.extend(phi.iter().map(|m| phi_finding(draft, &idx, m, &redactions)));
    }
    findings.sort_by_key(|f| (f.line.unwrap_or(usize::MAX), f.column.unwrap_or(0)));
    let compliant = disclaimer_present
        && !findings.iter().any(|f| matches!(f.kind, FindingKind::Claim | FindingKind::PatientData) && f.severity >= Severity::High);
    Ok(ContentReport { findings, disclaimer_present, readability, compliant })
}

fn claim_findings(draft: &str, idx: &LineIndex<'_>, opts: &ComplianceOptions) -> Result<Vec<ContentFinding>, SkillError> {
    let mut out = Vec::new();
    let mut push = |rule: &str, severity, start: usize, end: usize, why: &str, fix: &str| {
        let (line, column) = idx.position(start);
        let matched = draft.get(start..end).unwrap_or_default().to_owned();
        out.push(ContentFinding {
            kind: FindingKind::Claim,
            rule: rule.to_owned(),
            severity,
            message: format!("\"{matched}\" {why}."),
            matched,
            line: Some(line),
            column: Some(column),
            sentence: sentence_around(draft, start, end),
            fix: fix.to_owned(),
        });
    };
    for (rule, re) in claims::RULES.iter().zip(claims::COMPILED.iter()) {
        let Some(re) = re else { continue };
        if opts.disabled_rules.iter().any(|d| d == rule.id) {
            continue;
        }
        for m in re.find_iter(draft) {
            if rule.negatable && claims::negated(draft, m.start()) {
                continue;
            }
            if claims::has_evidence(draft, m.start(), m.end(), rule.evidence, opts.citation_window) {
                continue;
            }
            push(rule.id, rule.severity, m.start(), m.end(), rule.why, rule.fix);
        }
    }
    if let Some(re) = text::phrase_set(&opts.extra_claims)? {
        for m in re.find_iter(draft) {
            push(
                "custom-claim",
                Severity::High,
                m.start(),
                m.end(),
                "is on the configured list of claims to avoid",
                "Remove or rephrase it.",
            );
        }
    }
    Ok(out)
}

fn disclaimer_present(draft: &str, opts: &ComplianceOptions) -> bool {
    let norm = text::normalize(draft);
    let mut phrases = opts.disclaimers.iter().map(|p| text::normalize(p)).filter(|p| !p.is_empty()).peekable();
    if phrases.peek().is_none() {
        return true;
    }
    if opts.require_all_disclaimers { phrases.all(|p| norm.contains(&p)) } else { phrases.any(|p| norm.contains(&p)) }
}

fn phi_finding(draft: &str, idx: &LineIndex<'_>, m: &phi::PhiMatch, redactions: &[(&str, String)]) -> ContentFinding {
    let (line, column) = idx.position(m.start);
    let masked = phi::mask(draft.get(m.start..m.end).unwrap_or_default());
    let mut sentence = sentence_around(draft, m.start, m.end);
    for (raw, masked) in redactions {
        sentence = sentence.replace(raw, masked);
    }
    ContentFinding {
        kind: FindingKind::PatientData,
        rule: m.rule.to_owned(),
        severity: m.severity,
        sentence,
        message: format!("Looks like {} ({masked}): possible protected health information.", m.what),
        matched: masked,
        line: Some(line),
        column: Some(column),
        fix: if m.severity >= Severity::High {
            "Remove it. Patient stories need written HIPAA authorization and de-identified details.".into()
        } else {
            "Keep it only if it is the practice's public contact, not a patient's.".into()
        },
    }
}

fn readability_findings(draft: &str, idx: &LineIndex<'_>, opts: &ComplianceOptions) -> (Readability, Vec<ContentFinding>) {
    let (counts, sentences) = readability::analyse(draft);
    let scores = counts.scores();
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let mut out = Vec::new();
    let doc_finding = |rule: &str, message: String, fix: &str| ContentFinding {
        kind: FindingKind::Readability,
        rule: rule.into(),
        severity: Severity::Medium,
        matched: String::new(),
        line: None,
        column: None,
        sentence: String::new(),
        message,
        fix: fix.into(),
    };
    let mut within = scores.is_some();
    if let Some((ease, grade)) = scores {
        if ease < opts.min_reading_ease || ease > opts.max_reading_ease {
            within = false;
            out.push(doc_finding(
                "reading-ease",
                format!("Flesch reading ease {:.1} is outside the target {}..={}.", ease, opts.min_reading_ease, opts.max_reading_ease),
                "Use shorter sentences and everyday words (\"high blood pressure\" rather than \"hypertension\").",
            ));
        }
        if grade < opts.min_grade || grade > opts.max_grade {
            within = false;
            out.push(doc_finding(
                "grade-level",
                format!("Flesch-Kincaid grade {:.1} is outside the target {}..={}.", grade, opts.min_grade, opts.max_grade),
                "Split long sentences and replace multi-syllable terms, explaining any medical term you keep.",
            ));
        }
    }
    if opts.max_sentence_words > 0 {
        let mut long: Vec<_> = sentences.iter().filter(|s| s.words > opts.max_sentence_words).collect();
        long.sort_by_key(|s| std::cmp::Reverse(s.words));
        for s in long.into_iter().take(10) {
            let (line, column) = idx.position(s.start);
            out.push(ContentFinding {
                kind: FindingKind::Readability,
                rule: "long-sentence".into(),
                severity: Severity::Low,
                matched: String::new(),
                line: Some(line),
                column: Some(column),
                sentence: sentence_around(draft, s.start, s.start),
                message: format!("Sentence of {} words (limit {}).", s.words, opts.max_sentence_words),
                fix: "Split it into two or three sentences.".into(),
            });
        }
    }
    let r = Readability {
        words: counts.words,
        sentences: counts.sentences,
        syllables: counts.syllables,
        flesch_reading_ease: scores.map(|s| round1(s.0)),
        flesch_kincaid_grade: scores.map(|s| round1(s.1)),
        target_reading_ease: (opts.min_reading_ease, opts.max_reading_ease),
        target_grade: (opts.min_grade, opts.max_grade),
        within_target: within,
    };
    (r, out)
}

impl ContentReport {
    pub fn to_markdown(&self) -> String {
        let verdict = if self.compliant { "ready for medical/legal review" } else { "needs changes before publishing" };
        let count = |k| self.by_kind(k).count();
        let r = &self.readability;
        let fmt = |x: Option<f64>| x.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
        let mut md = format!(
            "# Healthcare content review\n\n**Verdict:** {verdict}.\n\n- Unsubstantiated claims: {}\n- Medical disclaimer: {}\n\
             - Patient-data risks: {}\n- Reading ease: {} (target {}..={}); grade level: {} (target {}..={}); {} words, {} sentences\n",
            count(FindingKind::Claim),
            if self.disclaimer_present { "present" } else { "missing" },
            count(FindingKind::PatientData),
            fmt(r.flesch_reading_ease),
            r.target_reading_ease.0,
            r.target_reading_ease.1,
            fmt(r.flesch_kincaid_grade),
            r.target_grade.0,
            r.target_grade.1,
            r.words,
            r.sentences,
        );
        if self.findings.is_empty() {
            md.push_str("\nNo findings.\n");
            return md;
        }
        md.push_str("\n## Findings\n\n| Where | Severity | Rule | Finding | Sentence | Fix |\n|---|---|---|---|---|---|\n");
        for f in &self.findings {
            let at = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{l}:{c}"),
                _ => "whole draft".into(),
            };
            md.push_str(&format!(
                "| {at} | {} | `{}` | {} | {} | {} |\n",
                f.severity.as_str(),
                f.rule,
                md_cell(&f.message),
                md_cell(&f.sentence),
                md_cell(&f.fix)
            ));
        }
        md
    }
}

#[cfg(test)]
mod tests;
