//! Unsubstantiated health claims. The rule table below is the documented list; each rule is
//! matched case-insensitively as whole words.
//!
//! | Rule | Matches | Severity | Needs |
//! |---|---|---|---|
//! | `cure` | cure, cures, cured, curing | high | — |
//! | `guarantee` | guarantee, guarantees, guaranteed | high | — |
//! | `miracle` | miracle, miraculous | high | — |
//! | `absolute-efficacy` | 100% / 100 percent effective, safe, successful | high | — |
//! | `no-side-effects` | no / zero / without (any) side effects | high | — |
//! | `risk-free` | risk-free, risk free | medium | — |
//! | `proven` | clinically / scientifically / medically proven, proven to work/cure/heal/prevent/treat | high | a citation nearby |
//! | `fda-approved` | FDA approved, FDA-approved, approved by the FDA | high | an approval reference nearby |
//! | `fda-certified` | FDA certified / endorsed (the FDA certifies and endorses no product) | high | — |
//! | `reverses-disease` | reverses diabetes, aging, Alzheimer's, heart disease, cancer | high | — |
//! | `instant-results` | instant(ly) relief/results/cure, overnight results | medium | — |
//! | `works-for-everyone` | works for everyone, works for everybody | medium | — |
//! | `breakthrough` | revolutionary / breakthrough treatment, cure, therapy | low | — |
//!
//! Rules marked negatable are skipped when a negation (no, not, never, cannot, doesn't, ...)
//! stands within the three words before the match: "there is no cure for type 1 diabetes" is a
//! responsible sentence, not a claim. A citation is a numbered reference (`[3]`, `[^3]`), an
//! author-year reference (`(Smith et al., 2021)`), `et al.`, a DOI, a PMID or a link; an FDA
//! approval reference is an NDA/ANDA/BLA number, a 510(k) or K-number, a PMA, or an fda.gov link.

use super::text::Severity;
use regex::Regex;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Evidence {
    None,
    Citation,
    FdaReference,
}

pub(super) struct ClaimRule {
    pub id: &'static str,
    pub pattern: &'static str,
    pub severity: Severity,
    pub evidence: Evidence,
    pub negatable: bool,
    pub why: &'static str,
    pub fix: &'static str,
}

pub(super) const RULES: &[ClaimRule] = &[
    ClaimRule {
        id: "cure",
        pattern: r"cur(?:e|es|ed|ing)",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: true,
        why: "claims to cure a condition",
        fix: "Say what the treatment may help with and cite the evidence (\"may help reduce symptoms of ...\").",
    },
    ClaimRule {
        id: "guarantee",
        pattern: r"guarantee(?:s|d)?",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: true,
        why: "guarantees a health outcome",
        fix: "Remove the guarantee; outcomes vary by patient. Describe typical results with a source.",
    },
    ClaimRule {
        id: "miracle",
        pattern: r"miracle|miraculous",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: true,
        why: "calls a treatment a miracle",
        fix: "Describe the treatment factually and what the evidence shows.",
    },
    ClaimRule {
        id: "absolute-efficacy",
        pattern: r"100\s*(?:%|percent)\s+(?:effective|safe|successful|success\s+rate)",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: false,
        why: "claims absolute efficacy or safety",
        fix: "Give the measured rate from a cited study instead of 100%.",
    },
    ClaimRule {
        id: "no-side-effects",
        pattern: r"(?:no|zero|without(?:\s+any)?)\s+side[\s-]effects?",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: false,
        why: "claims there are no side effects",
        fix: "List the common side effects or say \"side effects are usually mild; ask your doctor\".",
    },
    ClaimRule {
        id: "risk-free",
        pattern: r"risk[\s-]free",
        severity: Severity::Medium,
        evidence: Evidence::None,
        negatable: true,
        why: "calls a treatment risk-free",
        fix: "Every treatment has risks; summarise them or link to the patient information leaflet.",
    },
    ClaimRule {
        id: "proven",
        pattern: r"(?:clinically|scientifically|medically)\s+proven|proven\s+to\s+(?:work|cure|heal|prevent|treat)",
        severity: Severity::High,
        evidence: Evidence::Citation,
        negatable: true,
        why: "says \"proven\" without a citation nearby",
        fix: "Cite the study next to the claim (journal, year, link or DOI) or soften to \"studies suggest\".",
    },
    ClaimRule {
        id: "fda-approved",
        pattern: r"fda[\s-]approved|approved\s+by\s+the\s+fda",
        severity: Severity::High,
        evidence: Evidence::FdaReference,
        negatable: true,
        why: "claims FDA approval without a reference (supplements and most devices are not FDA-approved)",
        fix: "Name the approval (NDA/BLA number, 510(k) clearance) with an fda.gov link, or remove the claim.",
    },
    ClaimRule {
        id: "fda-certified",
        pattern: r"fda[\s-](?:certified|endorsed)",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: true,
        why: "the FDA does not certify or endorse products",
        fix: "Remove the claim; say \"made in an FDA-registered facility\" only if that is true.",
    },
    ClaimRule {
        id: "reverses-disease",
        pattern: r"revers(?:e|es|ed|ing)\s+(?:your\s+)?(?:diabetes|aging|ageing|alzheimer'?s|heart\s+disease|cancer)",
        severity: Severity::High,
        evidence: Evidence::None,
        negatable: true,
        why: "claims to reverse a disease",
        fix: "Say what measured improvement was seen, in whom, with a citation.",
    },
    ClaimRule {
        id: "instant-results",
        pattern: r"instant(?:ly)?\s+(?:relief|results|cure)|overnight\s+results",
        severity: Severity::Medium,
        evidence: Evidence::None,
        negatable: true,
        why: "promises instant results",
        fix: "Say how long results typically take, per the evidence.",
    },
    ClaimRule {
        id: "works-for-everyone",
        pattern: r"works\s+for\s+(?:everyone|everybody)",
        severity: Severity::Medium,
        evidence: Evidence::None,
        negatable: true,
        why: "claims it works for everyone",
        fix: "Say who it is suitable for and that a clinician should confirm.",
    },
    ClaimRule {
        id: "breakthrough",
        pattern: r"(?:revolutionary|breakthrough)\s+(?:treatment|cure|therapy)",
        severity: Severity::Low,
        evidence: Evidence::None,
        negatable: false,
        why: "hype wording regulators read as an efficacy claim",
        fix: "Describe what is new about it factually.",
    },
];

/// Each rule's compiled whole-word pattern, in `RULES` order.
pub(super) static COMPILED: LazyLock<Vec<Option<Regex>>> =
    LazyLock::new(|| RULES.iter().map(|r| Regex::new(&format!(r"(?i)\b(?:{})\b", r.pattern)).ok()).collect());

static NEGATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:no|not|never|cannot|can't|isn't|aren't|doesn't|don't|won't|nor|without)\b(?:\W+\w+){0,2}\W*$").ok()
});

static CITATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\[\d{1,3}\]|\[\^\w{1,10}\]|\([A-Z][\w-]+(?:\s+et\s+al\.?)?,?\s+(?:19|20)\d{2}\)|\bet\s+al\b|\bdoi:\s*10\.|\b10\.\d{4,9}/|\bPMID:?\s*\d+|https?://\S+").ok()
});

static FDA_REFERENCE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:NDA|ANDA|BLA)\s*#?\s*\d{5,6}\b|510\s*\(k\)|\bK\d{6}\b|\bPMA\b|fda\.gov").ok());

/// Whether a negation stands within three words before `start` on the same line.
pub(super) fn negated(text: &str, start: usize) -> bool {
    let start = text.floor_char_boundary(start);
    let before = &text[text.floor_char_boundary(start.saturating_sub(40))..start];
    let tail = before.rsplit('\n').next().unwrap_or("");
    NEGATION.as_ref().is_some_and(|re| re.is_match(tail))
}

/// Whether the evidence the rule needs appears within `window` bytes either side of the match.
pub(super) fn has_evidence(text: &str, start: usize, end: usize, evidence: Evidence, window: usize) -> bool {
    let re = match evidence {
        Evidence::None => return false,
        Evidence::Citation => &*CITATION,
        Evidence::FdaReference => &*FDA_REFERENCE,
    };
    let from = text.floor_char_boundary(start.saturating_sub(window));
    let to = text.ceil_char_boundary(end.saturating_add(window).min(text.len()));
    re.as_ref().is_some_and(|re| re.is_match(&text[from..to]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        assert!(COMPILED.iter().all(Option::is_some));
        assert!(NEGATION.is_some() && CITATION.is_some() && FDA_REFERENCE.is_some());
    }

    #[test]
    fn negation_is_seen_within_three_words() {
        let t = "There is no cure for it.";
        assert!(negated(t, t.find("cure").unwrap()));
        let t = "This does not guarantee results.";
        assert!(negated(t, t.find("guarantee").unwrap()));
        let t = "Not once did we see a patient it failed to cure.";
        assert!(!negated(t, t.find("cure").unwrap()));
        let t = "Our tea cures colds.";
        assert!(!negated(t, t.find("cures").unwrap()));
    }

    #[test]
    fn citations_and_fda_references_are_recognised() {
        for t in [
            "clinically proven [2]",
            "clinically proven (Nguyen et al., 2022)",
            "clinically proven, doi: 10.1001/jama.2020.1",
            "clinically proven https://pubmed.ncbi.nlm.nih.gov/1/",
        ] {
            assert!(has_evidence(t, 0, 17, Evidence::Citation, 200), "{t}");
        }
        assert!(!has_evidence("clinically proven by our team", 0, 17, Evidence::Citation, 200));
        assert!(has_evidence("FDA-approved (NDA 021234)", 0, 12, Evidence::FdaReference, 200));
        assert!(!has_evidence("FDA-approved formula", 0, 12, Evidence::FdaReference, 200));
    }
}
