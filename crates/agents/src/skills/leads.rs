//! Lead Generation and SDR: qualify inbound leads against an ideal customer profile (ICP) and
//! draft a plain outreach sequence for qualified ones.
//!
//! Score 0-100, five criteria of 20 points:
//! - email domain: a company domain 20, a free or ISP mail domain 0 (an invalid address also
//!   disqualifies the lead: nobody can be contacted);
//! - industry: matches an ICP industry (whole words, either way: `SaaS` ~ `B2B SaaS`) 20;
//! - company size: employee count or band inside the ICP band 20, overlapping it 10;
//! - seniority: title with a seniority keyword (VP, Head, Director, C-level, Founder, ...) 20, a
//!   manager/lead title 10;
//! - geography: country in the ICP countries, or in an ICP region (NA, EMEA, DACH, APAC, ...) 20;
//!   a missing country is taken from the email's country-code domain when it has one.
//!
//! An ICP criterion left empty counts as met (20); a lead field left empty scores 0 and says so.
//! Qualified = valid email and score ≥ `threshold` (60).

mod freemail;
mod geo;
mod outreach;
mod report;

use super::SkillError;
use super::csv_input::{CellError, Column, RejectedRow, RowRef, TableSpec, parse_number, read_table};
use serde::{Deserialize, Serialize};

pub use freemail::is_free_mail;
pub use geo::{country_code, country_from_domain, in_region};
pub use outreach::outreach_template;

const REQUIRED: &[Column] = &[Column::new("email", &["e-mail", "email address", "work email", "business email"])];
const OPTIONAL: &[Column] = &[
    Column::new("name", &["full name", "lead name", "contact name"]),
    Column::new("first_name", &["first", "given name", "firstname"]),
    Column::new("last_name", &["last", "surname", "family name", "lastname"]),
    Column::new("company", &["company name", "organization", "organisation", "account"]),
    Column::new("title", &["job title", "position", "role"]),
    Column::new("industry", &["sector", "vertical"]),
    Column::new("employees", &["employee count", "company size", "number of employees", "headcount", "size"]),
    Column::new("country", &["country/region", "location country", "hq country"]),
];

/// The ideal customer profile. Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdealCustomerProfile {
    /// [any]
    pub industries: Vec<String>,
    /// [no minimum]
    pub employees_min: Option<u64>,
    /// [no maximum]
    pub employees_max: Option<u64>,
    /// ISO codes or names [any].
    pub countries: Vec<String>,
    /// NA, LATAM, AMER, EMEA, EUROPE, DACH, NORDICS, UKI, APAC, ANZ [any].
    pub regions: Vec<String>,
    /// Title words that mark a decision maker [vp, vice president, head, director, chief, ceo,
    /// cto, cfo, coo, cmo, cro, cio, founder, co-founder, owner, president, partner].
    pub seniority_keywords: Vec<String>,
    /// Title words worth half [manager, lead, senior, principal].
    pub mid_seniority_keywords: Vec<String>,
    /// Score from which a lead is qualified [60].
    pub threshold: u8,
    /// Upload limit in bytes [10 MiB].
    pub max_bytes: usize,
}

impl Default for IdealCustomerProfile {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        Self {
            industries: Vec::new(),
            employees_min: None,
            employees_max: None,
            countries: Vec::new(),
            regions: Vec::new(),
            seniority_keywords: words(&[
                "vp",
                "vice president",
                "head",
                "director",
                "chief",
                "ceo",
                "cto",
                "cfo",
                "coo",
                "cmo",
                "cro",
                "cio",
                "founder",
                "co-founder",
                "owner",
                "president",
                "partner",
            ]),
            mid_seniority_keywords: words(&["manager", "lead", "senior", "principal"]),
            threshold: 60,
            max_bytes: super::csv_input::DEFAULT_MAX_BYTES,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    Company,
    FreeMail,
    Invalid,
}

/// Points for one criterion, with the detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreLine {
    pub criterion: &'static str,
    pub points: u8,
    pub max: u8,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredLead {
    pub line: usize,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub email: String,
    pub email_kind: EmailKind,
    pub domain: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub industry: Option<String>,
    /// ISO code, from the CSV or the email domain.
    pub country: Option<String>,
    pub score: u8,
    pub qualified: bool,
    pub reasons: Vec<ScoreLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadReport {
    /// Best first (ties in file order).
    pub leads: Vec<ScoredLead>,
    pub qualified: usize,
    pub threshold: u8,
    pub rejected: Vec<RejectedRow>,
}

impl LeadReport {
    /// The qualified leads, to hand to the SDR.
    pub fn handoff(&self) -> impl Iterator<Item = &ScoredLead> {
        self.leads.iter().filter(|l| l.qualified)
    }
}

struct Lead {
    line: usize,
    name: Option<String>,
    email: String,
    company: Option<String>,
    title: Option<String>,
    industry: Option<String>,
    employees: Option<String>,
    country: Option<String>,
}

/// Scores every lead in `csv` against `icp`.
pub fn qualify_leads(csv: &[u8], icp: &IdealCustomerProfile) -> Result<LeadReport, SkillError> {
    let spec = TableSpec::new(REQUIRED, OPTIONAL).with_max_bytes(icp.max_bytes);
    let mut table = read_table(csv, &spec)?;
    let leads = table.parse_rows(parse_row);
    if leads.is_empty() && table.rejected.is_empty() {
        return Err(SkillError::Invalid("the file has a header but no lead rows".into()));
    }
    let mut scored: Vec<ScoredLead> = leads.into_iter().map(|l| score(l, icp)).collect();
    scored.sort_by(|a, b| b.score.cmp(&a.score).then(a.line.cmp(&b.line)));
    Ok(LeadReport {
        qualified: scored.iter().filter(|l| l.qualified).count(),
        leads: scored,
        threshold: icp.threshold,
        rejected: table.rejected,
    })
}

fn parse_row(r: RowRef<'_>) -> Result<Lead, CellError> {
    let name = r.get_str("name").map(str::to_string).or_else(|| {
        let parts: Vec<&str> = [r.get_str("first_name"), r.get_str("last_name")].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    Ok(Lead {
        line: r.line,
        name,
        email: r.require_str("email")?.to_lowercase(),
        company: r.get_str("company").map(str::to_string),
        title: r.get_str("title").map(str::to_string),
        industry: r.get_str("industry").map(str::to_string),
        employees: r.get_str("employees").map(str::to_string),
        country: r.get_str("country").map(str::to_string),
    })
}

fn line(criterion: &'static str, points: u8, detail: impl Into<String>) -> ScoreLine {
    ScoreLine { criterion, points, max: 20, detail: detail.into() }
}

fn score(l: Lead, icp: &IdealCustomerProfile) -> ScoredLead {
    let domain = email_domain(&l.email);
    let kind = match &domain {
        None => EmailKind::Invalid,
        Some(d) if is_free_mail(d) => EmailKind::FreeMail,
        Some(_) => EmailKind::Company,
    };
    let mut reasons = vec![match (kind, &domain) {
        (EmailKind::Company, Some(d)) => line("email domain", 20, format!("company domain {d}")),
        (EmailKind::FreeMail, Some(d)) => line("email domain", 0, format!("free mail address ({d}): employer unverified")),
        _ => line("email domain", 0, format!("`{}` is not a valid email address", l.email)),
    }];
    reasons.push(industry(l.industry.as_deref(), &icp.industries));
    reasons.push(size(l.employees.as_deref(), icp));
    reasons.push(seniority(l.title.as_deref(), icp));
    let (country, geo_line) = geography(l.country.as_deref(), domain.as_deref().filter(|_| kind == EmailKind::Company), icp);
    reasons.push(geo_line);
    let total: u32 = reasons.iter().map(|r| u32::from(r.points)).sum();
    let score = u8::try_from(total.min(100)).unwrap_or(100);
    let first_name = l.name.as_deref().and_then(|n| n.split_whitespace().next()).map(str::to_string);
    ScoredLead {
        line: l.line,
        first_name,
        name: l.name,
        qualified: kind != EmailKind::Invalid && score >= icp.threshold,
        email: l.email,
        email_kind: kind,
        domain,
        company: l.company,
        title: l.title,
        industry: l.industry,
        country,
        score,
        reasons,
    }
}

fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.');
    (ok && !email.contains(char::is_whitespace)).then(|| domain.to_string())
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether every word of `needle` appears in `hay` (as whole words, in any order).
fn contains_words(hay: &str, needle: &str) -> bool {
    let (h, n) = (words(hay), words(needle));
    !n.is_empty() && n.iter().all(|w| h.contains(w))
}

fn industry(lead: Option<&str>, icp: &[String]) -> ScoreLine {
    if icp.is_empty() {
        return line("industry", 20, "the ICP sets no industry");
    }
    let Some(ind) = lead else { return line("industry", 0, "industry unknown") };
    match icp.iter().find(|i| contains_words(ind, i) || contains_words(i, ind)) {
        Some(m) => line("industry", 20, format!("{ind} matches {m}")),
        None => line("industry", 0, format!("{ind} is outside {}", icp.join(", "))),
    }
}

/// `250`, `51-200`, `1,000+`, `10k`, `5000 employees` -> inclusive band.
fn parse_employees(raw: &str) -> Option<(u64, u64)> {
    let s = raw.to_lowercase().replace("employees", "").replace(['–', '—'], "-").replace(" to ", "-");
    let num = |t: &str| -> Option<u64> {
        let t = t.trim();
        let (t, mult) = match t.strip_suffix('k') {
            Some(x) => (x, 1000.0),
            None => (t, 1.0),
        };
        let v = parse_number(t)? * mult;
        (v >= 0.0).then_some(v.round() as u64)
    };
    let s = s.trim();
    if let Some(lo) = s.strip_suffix('+') {
        let lo = num(lo)?;
        return Some((lo, u64::MAX));
    }
    match s.split_once('-') {
        Some((a, b)) => {
            let (lo, hi) = (num(a)?, num(b)?);
            (lo <= hi).then_some((lo, hi))
        }
        None => num(s).map(|v| (v, v)),
    }
}

fn size(lead: Option<&str>, icp: &IdealCustomerProfile) -> ScoreLine {
    let (min, max) = (icp.employees_min.unwrap_or(0), icp.employees_max.unwrap_or(u64::MAX));
    if icp.employees_min.is_none() && icp.employees_max.is_none() {
        return line("company size", 20, "the ICP sets no company size");
    }
    let band = format!("{}-{}", min, icp.employees_max.map_or("any".into(), |m| m.to_string()));
    let Some(raw) = lead else { return line("company size", 0, "employee count unknown") };
    let Some((lo, hi)) = parse_employees(raw) else { return line("company size", 0, format!("employee count `{raw}` not understood")) };
    if lo >= min && hi <= max {
        line("company size", 20, format!("{raw} employees within {band}"))
    } else if lo <= max && hi >= min {
        line("company size", 10, format!("{raw} employees overlaps {band}"))
    } else {
        line("company size", 0, format!("{raw} employees outside {band}"))
    }
}

fn seniority(title: Option<&str>, icp: &IdealCustomerProfile) -> ScoreLine {
    let Some(t) = title else { return line("seniority", 0, "title unknown") };
    if let Some(k) = icp.seniority_keywords.iter().find(|k| contains_words(t, k)) {
        return line("seniority", 20, format!("{t}: decision maker ({k})"));
    }
    if let Some(k) = icp.mid_seniority_keywords.iter().find(|k| contains_words(t, k)) {
        return line("seniority", 10, format!("{t}: influencer ({k})"));
    }
    line("seniority", 0, format!("{t}: no seniority keyword"))
}

fn geography(raw: Option<&str>, company_domain: Option<&str>, icp: &IdealCustomerProfile) -> (Option<String>, ScoreLine) {
    let (code, source) = match raw {
        Some(c) => (Some(country_code(c)), ""),
        None => (company_domain.and_then(country_from_domain), " (from the email domain)"),
    };
    if icp.countries.is_empty() && icp.regions.is_empty() {
        return (code, line("geography", 20, "the ICP sets no geography"));
    }
    let Some(c) = code else { return (None, line("geography", 0, "country unknown")) };
    let targets: Vec<String> = icp.countries.iter().map(|c| country_code(c)).collect();
    let detail = if targets.contains(&c) {
        Some(format!("{c}{source} is a target country"))
    } else {
        icp.regions.iter().find(|r| in_region(&c, r)).map(|r| format!("{c}{source} is in {r}"))
    };
    let all: Vec<String> = targets.iter().chain(&icp.regions).cloned().collect();
    let score_line = match detail {
        Some(d) => line("geography", 20, d),
        None => line("geography", 0, format!("{c}{source} is outside {}", all.join(", "))),
    };
    (Some(c), score_line)
}

#[cfg(test)]
mod tests;
