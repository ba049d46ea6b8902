//! Patient-data-like patterns (possible PHI under HIPAA) in marketing drafts. A blog post should
//! never carry a real patient's identifiers; these patterns find text that looks like one.
//!
//! | Rule | Pattern | Severity |
//! |---|---|---|
//! | `ssn` | US Social Security number `123-45-6789` (area not 000/666/9xx, group not 00, serial not 0000) | critical |
//! | `mrn` | a medical record / patient id label (`MRN`, `medical record number`, `patient ID`) followed by an id with 3+ digits | critical |
//! | `dob` | a date in the same sentence as "DOB", "date of birth", "born", or a person's name (honorific + name, or "patient" + name) | high |
//! | `phone` | North American phone number with separators, e.g. `(555) 201-3344`, `555.201.3344`, `+1 555-201-3344` | medium |
//! | `email` | an email address | medium |
//!
//! Phone numbers and email addresses are often the clinic's own; the finding asks to confirm
//! they are not a patient's. Reports show matches masked (all but the last 4 characters).

use super::text::Severity;
use regex::Regex;
use std::sync::LazyLock;

pub(super) struct PhiMatch {
    pub rule: &'static str,
    pub start: usize,
    pub end: usize,
    pub severity: Severity,
    pub what: &'static str,
}

static SSN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b(\d{3})-(\d{2})-(\d{4})\b").ok());
static MRN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:MRN|medical\s+record\s+(?:number|no\.?|#)|patient\s+(?:id|number|no\.?|#))\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{4,19})\b")
        .ok()
});
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?:\+?1[\s.-])?(?:\(\d{3}\)\s?|\b\d{3}[.-])\d{3}[.-]\d{4}\b").ok());
static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b").ok());
static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:\d{1,2}/\d{1,2}/(?:19|20)?\d{2}|(?:19|20)\d{2}-\d{2}-\d{2}|(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+\d{1,2},?\s+(?:19|20)\d{2})\b",
    )
    .ok()
});
static BIRTH_WORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:DOB|D\.O\.B|date\s+of\s+birth|birth\s*date|birthday|born)\b").ok());
/// A person's name: an honorific and a capitalised word, or "patient" and a capitalised word.
static PERSON: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][a-z]+|\b[Pp]atient\s+[A-Z][a-z]+").ok());

/// Every patient-data-like match in `text`, in text order.
pub(super) fn scan(text: &str) -> Vec<PhiMatch> {
    let mut out = Vec::new();
    if let Some(re) = SSN.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(all), Some(area), Some(group), Some(serial)) = (c.get(0), c.get(1), c.get(2), c.get(3)) else { continue };
            let area = area.as_str();
            // Numbers the SSA never issues are more likely order or reference numbers.
            if area == "000" || area == "666" || area.starts_with('9') || group.as_str() == "00" || serial.as_str() == "0000" {
                continue;
            }
            out.push(PhiMatch {
                rule: "ssn",
                start: all.start(),
                end: all.end(),
                severity: Severity::Critical,
                what: "a US Social Security number",
            });
        }
    }
    if let Some(re) = MRN.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(all), Some(id)) = (c.get(0), c.get(1)) else { continue };
            if id.as_str().chars().filter(char::is_ascii_digit).count() >= 3 {
                out.push(PhiMatch {
                    rule: "mrn",
                    start: all.start(),
                    end: all.end(),
                    severity: Severity::Critical,
                    what: "a medical record or patient id",
                });
            }
        }
    }
    if let (Some(date), Some(birth), Some(person)) = (DATE.as_ref(), BIRTH_WORD.as_ref(), PERSON.as_ref()) {
        for m in date.find_iter(text) {
            let sentence = super::text::sentence_around(text, m.start(), m.end());
            if birth.is_match(&sentence) || person.is_match(&sentence) {
                out.push(PhiMatch {
                    rule: "dob",
                    start: m.start(),
                    end: m.end(),
                    severity: Severity::High,
                    what: "a date of birth next to a person",
                });
            }
        }
    }
    let taken: Vec<(usize, usize)> = out.iter().map(|m| (m.start, m.end)).collect();
    let overlaps = |s: usize, e: usize| taken.iter().any(|&(ts, te)| s < te && ts < e);
    if let Some(re) = PHONE.as_ref() {
        for m in re.find_iter(text) {
            if !overlaps(m.start(), m.end()) {
                out.push(PhiMatch { rule: "phone", start: m.start(), end: m.end(), severity: Severity::Medium, what: "a phone number" });
            }
        }
    }
    if let Some(re) = EMAIL.as_ref() {
        for m in re.find_iter(text) {
            out.push(PhiMatch { rule: "email", start: m.start(), end: m.end(), severity: Severity::Medium, what: "an email address" });
        }
    }
    out.sort_by_key(|m| m.start);
    out
}

/// Masks all but the last four characters of letters and digits, keeping separators, so a
/// report shows where the identifier is without repeating it.
pub(super) fn mask(s: &str) -> String {
    let total = s.chars().filter(|c| c.is_alphanumeric()).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen + 4 <= total { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<&'static str> {
        scan(text).iter().map(|m| m.rule).collect()
    }

    #[test]
    fn identifiers_are_found() {
        assert_eq!(rules("SSN 219-09-9999 on file"), vec!["ssn"]);
        assert_eq!(rules("Order 000-12-3456 and 923-45-6789"), Vec::<&str>::new());
        assert_eq!(rules("MRN: 00482913 was admitted"), vec!["mrn"]);
        assert_eq!(rules("patient number ensures nothing"), Vec::<&str>::new());
        assert_eq!(rules("Call (555) 201-3344 or +1 555-201-3345."), vec!["phone", "phone"]);
        assert_eq!(rules("Write to jane.doe@example.org today"), vec!["email"]);
    }

    #[test]
    fn dates_count_only_next_to_a_birth_word_or_a_name() {
        assert_eq!(rules("Mrs. Alvarez, DOB 03/14/1962, came in."), vec!["dob"]);
        assert_eq!(rules("Patient Jordan was born on March 3, 1990."), vec!["dob"]);
        assert_eq!(rules("The study ran from 2021-01-04 to 2021-06-30."), Vec::<&str>::new());
    }

    #[test]
    fn masking_keeps_the_last_four() {
        assert_eq!(mask("219-09-9999"), "***-**-9999");
        assert_eq!(mask("ab"), "ab");
    }
}
