//! CRM Management: normalise contacts, group likely duplicates into merge proposals, and report
//! missing or invalid fields.
//!
//! Normalisation: names trimmed, whitespace collapsed, all-lower/all-upper names title-cased,
//! `Last, First` reordered; emails lowercased and checked; phones reduced to digits (leading `+`
//! kept, extensions dropped); company names compared without punctuation, a leading `the` and
//! legal suffixes (Inc, Ltd, GmbH, LLC, ...).
//!
//! Matching, per pair of contacts (scores 0-1; see [`matching`] for the rules):
//! - same email: 1.0, or 0.85 when the names differ (a shared mailbox: review, not merge);
//! - same phone (last 10 digits) and names ≥ 0.85 Jaro-Winkler: 0.95;
//! - names ≥ `name_threshold` (0.92) and companies ≥ `company_threshold` (0.90): the mean of both;
//! - names ≥ `name_threshold` with one company missing: 0.85 × name similarity.
//!
//! Pairs scoring ≥ `merge_threshold` (0.90) are merged into groups (transitively); pairs from
//! `review_threshold` (0.80) up are listed for a person to decide.

mod matching;
mod normalize;
mod report;

use super::SkillError;
use super::csv_input::{CellError, Column, RejectedRow, RowRef, TableSpec, normalize_header, read_table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use matching::ReviewPair;

const OPTIONAL: &[Column] = &[
    Column::new("id", &["contact id", "record id", "contactid"]),
    Column::new("name", &["full name", "contact name", "contact"]),
    Column::new("first_name", &["first", "given name", "firstname"]),
    Column::new("last_name", &["last", "surname", "family name", "lastname"]),
    Column::new("email", &["e-mail", "email address", "work email", "e-mail address"]),
    Column::new("phone", &["phone number", "mobile", "mobile phone", "telephone", "tel", "work phone"]),
    Column::new("company", &["company name", "account", "account name", "organization", "organisation"]),
    Column::new("title", &["job title", "position", "role"]),
];

/// Thresholds. Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DedupeOptions {
    /// Jaro-Winkler similarity of full names for a name match [0.92].
    pub name_threshold: f64,
    /// Jaro-Winkler similarity of normalised company names for a company match [0.90].
    pub company_threshold: f64,
    /// Pair score from which records are merged [0.90].
    pub merge_threshold: f64,
    /// Pair score from which a pair is listed for review [0.80].
    pub review_threshold: f64,
    /// Upload limit in bytes [10 MiB].
    pub max_bytes: usize,
}

impl Default for DedupeOptions {
    fn default() -> Self {
        Self {
            name_threshold: 0.92,
            company_threshold: 0.90,
            merge_threshold: 0.90,
            review_threshold: 0.80,
            max_bytes: super::csv_input::DEFAULT_MAX_BYTES,
        }
    }
}

/// A contact after normalisation. Invalid emails and phones are left out here and reported in
/// [`MissingFields::invalid`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub line: usize,
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
}

/// The fields merges and the missing-field report cover.
pub const FIELDS: [&str; 5] = ["name", "email", "phone", "company", "title"];

impl Contact {
    pub fn field(&self, f: &str) -> Option<&str> {
        match f {
            "name" => self.name.as_deref(),
            "email" => self.email.as_deref(),
            "phone" => self.phone.as_deref(),
            "company" => self.company.as_deref(),
            "title" => self.title.as_deref(),
            _ => None,
        }
    }

    fn filled(&self) -> usize {
        FIELDS.iter().filter(|f| self.field(f).is_some()).count()
    }
}

/// Where a merged record's field comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldPick {
    pub field: &'static str,
    pub value: String,
    pub from_line: usize,
}

/// Different values of one field within a group: a person picks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub field: &'static str,
    /// (line, value) per distinct value.
    pub values: Vec<(usize, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeProposal {
    /// The record to keep: the most complete one (earliest line on a tie).
    pub keep_line: usize,
    pub keep_id: Option<String>,
    /// Every record of the group, the kept one included.
    pub lines: Vec<usize>,
    /// The merged record, field by field.
    pub fields: Vec<FieldPick>,
    pub conflicts: Vec<Conflict>,
    /// Lowest pair score that joined the group.
    pub score: f64,
    /// Why the records match.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingFields {
    pub line: usize,
    pub name: Option<String>,
    pub missing: Vec<&'static str>,
    /// Present but unusable values.
    pub invalid: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrmReport {
    pub contacts: Vec<Contact>,
    pub merge_proposals: Vec<MergeProposal>,
    pub review_pairs: Vec<ReviewPair>,
    pub missing: Vec<MissingFields>,
    /// Field -> number of contacts missing it (invalid values count as missing).
    pub missing_counts: BTreeMap<&'static str, usize>,
    pub notes: Vec<String>,
    pub rejected: Vec<RejectedRow>,
}

/// Normalises and deduplicates the contacts in `csv`.
pub fn dedupe_contacts(csv: &[u8], opts: &DedupeOptions) -> Result<CrmReport, SkillError> {
    let spec = TableSpec::new(&[], OPTIONAL).with_max_bytes(opts.max_bytes);
    let mut table = read_table(csv, &spec)?;
    let named = ["name", "first_name", "last_name"].iter().any(|c| table.has_column(c));
    if !named && !table.has_column("email") {
        let found: Vec<String> = table.headers.iter().filter(|h| !normalize_header(h).is_empty()).map(|h| format!("`{h}`")).collect();
        return Err(SkillError::Invalid(format!(
            "missing a name column (`name`, or `first_name`/`last_name`) or an `email` column; the header has {}",
            if found.is_empty() { "no named columns".into() } else { found.join(", ") }
        )));
    }
    let mut invalid: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let contacts = table.parse_rows(|r| parse_row(r, &mut invalid));
    if contacts.is_empty() && table.rejected.is_empty() {
        return Err(SkillError::Invalid("the file has a header but no contact rows".into()));
    }
    let mut notes = Vec::new();
    for col in ["email", "phone", "company", "title"] {
        if !table.has_column(col) {
            notes.push(format!("No `{col}` column: every contact is reported as missing it."));
        }
    }
    let (merge_proposals, review_pairs, skipped) = matching::find_duplicates(&contacts, opts);
    if skipped > 0 {
        notes.push(format!(
            "{skipped} very large match block(s) (over {} contacts sharing a key) were not compared pairwise.",
            matching::MAX_BLOCK
        ));
    }
    let mut missing = Vec::new();
    let mut missing_counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in &contacts {
        let absent: Vec<&'static str> = ["email", "phone", "company", "title"].into_iter().filter(|f| c.field(f).is_none()).collect();
        for f in &absent {
            *missing_counts.entry(f).or_default() += 1;
        }
        let bad = invalid.remove(&c.line).unwrap_or_default();
        if !absent.is_empty() || !bad.is_empty() {
            missing.push(MissingFields { line: c.line, name: c.name.clone(), missing: absent, invalid: bad });
        }
    }
    Ok(CrmReport { contacts, merge_proposals, review_pairs, missing, missing_counts, notes, rejected: table.rejected })
}

fn parse_row(r: RowRef<'_>, invalid: &mut BTreeMap<usize, Vec<String>>) -> Result<Contact, CellError> {
    let full = match r.get_str("name") {
        Some(n) => Some(n.to_string()),
        None => {
            let parts: Vec<&str> = [r.get_str("first_name"), r.get_str("last_name")].into_iter().flatten().collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
    };
    let name = full.map(|n| normalize::name(&n)).filter(|n| !n.is_empty());
    let mut bad = Vec::new();
    let email = r.get_str("email").and_then(|e| normalize::email(e).map_err(|why| bad.push(why)).ok());
    let phone = r.get_str("phone").and_then(|p| normalize::phone(p).map_err(|why| bad.push(why)).ok());
    if name.is_none() && email.is_none() {
        let column = if r.get_str("email").is_some() { "email" } else { "name" };
        return Err(r.error(column, "no name and no valid email: the contact cannot be identified"));
    }
    if !bad.is_empty() {
        invalid.insert(r.line, bad);
    }
    Ok(Contact {
        line: r.line,
        id: r.get_str("id").map(str::to_string),
        name,
        email,
        phone,
        company: r.get_str("company").map(normalize::collapse),
        title: r.get_str("title").map(normalize::collapse),
    })
}

#[cfg(test)]
mod tests;
