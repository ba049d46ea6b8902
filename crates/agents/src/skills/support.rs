//! Technical Support: ticket triage — category, priority, SLA deadline, escalation — and a churn
//! flag that hands the customer to Customer Success.
//!
//! **Category** by weighted keyword rules (`KEYWORDS`): each phrase found (whole words,
//! case-insensitive) adds its weight, doubled when it is in the subject; each phrase counts once
//! per field. The highest total wins; ties go to the more urgent category (security, outage, bug,
//! access, billing, how-to, feature request). No keyword at all gives `general`.
//!
//! **Priority** starts from the category (security and outage P2; bug, billing and access P3;
//! how-to, feature request and general P4) and is raised one level for each of: severe-impact
//! words (data loss, corruption, breach, leak, outage, "is down"), wide scope ("all users",
//! "everyone", "production"), and an enterprise customer whose ticket shows either. A free-tier
//! customer lowers it one level, except for security and outages. P1 needs severe impact or a
//! security/outage category; otherwise P2 is the ceiling. "Urgent" in the text changes nothing:
//! customers write it on everything, and impact is what the words above measure.
//!
//! **SLA** first-response deadline = `created_at` + hours from the priority × tier table
//! (`SlaTable`, calendar hours), defaults:
//!
//! | | Enterprise | Business | Standard | Free |
//! |---|---|---|---|---|
//! | P1 | 1 | 2 | 4 | 8 |
//! | P2 | 4 | 8 | 12 | 24 |
//! | P3 | 8 | 24 | 48 | 72 |
//! | P4 | 24 | 48 | 72 | 120 |
//!
//! **Escalate** on P1, security, a legal threat (lawyer, attorney, legal action, lawsuit, sue,
//! court, regulator, ombudsman) or repeated contact (`prior_contacts` at or above the threshold,
//! or text like "third time", "still not fixed", "no one has responded").
//!
//! **Churn risk** on cancellation intent: cancel(ling) a subscription/account/plan/contract,
//! "cancellation", "refund", "unhappy", "disappointed", "fed up", "not renew(ing)" / "won't
//! renew", "looking at alternatives", "terminate the contract", or switching/moving/migrating to
//! a named (capitalised) product. Such tickets carry `handoff = "customer-success"`.

use crate::skills::SkillError;
use crate::skills::content::text::{self, md_cell};
use chrono::{DateTime, Duration, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Enterprise,
    Business,
    #[default]
    Standard,
    Free,
}

impl Tier {
    fn column(self) -> usize {
        match self {
            Self::Enterprise => 0,
            Self::Business => 1,
            Self::Standard => 2,
            Self::Free => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    #[serde(default)]
    pub id: Option<String>,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub customer_tier: Tier,
    pub created_at: DateTime<Utc>,
    /// Earlier contacts from this customer about the same issue (from the helpdesk).
    #[serde(default)]
    pub prior_contacts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Security,
    Outage,
    Bug,
    Access,
    Billing,
    HowTo,
    FeatureRequest,
    General,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Outage => "outage",
            Self::Bug => "bug",
            Self::Access => "account/access",
            Self::Billing => "billing",
            Self::HowTo => "how-to",
            Self::FeatureRequest => "feature request",
            Self::General => "general",
        }
    }

    fn base_priority(self) -> u8 {
        match self {
            Self::Security | Self::Outage => 2,
            Self::Bug | Self::Billing | Self::Access => 3,
            Self::HowTo | Self::FeatureRequest | Self::General => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    fn from_level(level: u8) -> Self {
        match level {
            0 | 1 => Self::P1,
            2 => Self::P2,
            3 => Self::P3,
            _ => Self::P4,
        }
    }
    fn row(self) -> usize {
        self as usize
    }
}

/// First-response hours per priority; each row is `[enterprise, business, standard, free]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaTable {
    pub p1: [u32; 4],
    pub p2: [u32; 4],
    pub p3: [u32; 4],
    pub p4: [u32; 4],
}

impl Default for SlaTable {
    fn default() -> Self {
        Self { p1: [1, 2, 4, 8], p2: [4, 8, 12, 24], p3: [8, 24, 48, 72], p4: [24, 48, 72, 120] }
    }
}

impl SlaTable {
    pub fn hours(&self, p: Priority, tier: Tier) -> u32 {
        let row = [&self.p1, &self.p2, &self.p3, &self.p4];
        row.get(p.row()).and_then(|r| r.get(tier.column())).copied().unwrap_or(0)
    }
}

/// An extra keyword rule from settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordRule {
    pub category: Category,
    pub phrase: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageOptions {
    pub sla_hours: SlaTable,
    /// Prior contacts at or above this escalate (default 2: this is the third contact).
    pub repeat_contact_threshold: u32,
    /// Keyword rules added to the built-in ones (e.g. product names that mean a category).
    pub extra_keywords: Vec<KeywordRule>,
    /// Largest subject + body accepted, in bytes (default 256 KiB).
    pub max_bytes: usize,
}

impl Default for TriageOptions {
    fn default() -> Self {
        Self { sla_hours: SlaTable::default(), repeat_contact_threshold: 2, extra_keywords: Vec::new(), max_bytes: 256 * 1024 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    pub category: Category,
    pub score: u32,
    pub matched: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    pub ticket_id: Option<String>,
    pub category: Category,
    /// Share of all keyword points that went to the chosen category (0..=1).
    pub confidence: f64,
    /// Every category that scored, best first.
    pub scores: Vec<CategoryScore>,
    pub priority: Priority,
    pub priority_reasons: Vec<String>,
    pub sla_hours: u32,
    pub sla_deadline: DateTime<Utc>,
    pub escalate: bool,
    pub escalation_reasons: Vec<String>,
    pub churn_risk: bool,
    pub churn_signals: Vec<String>,
    /// The agent to hand the customer to, if any (`customer-success` on churn risk).
    pub handoff: Option<String>,
}

/// Built-in keyword rules: (category, phrase, weight).
pub const KEYWORDS: &[(Category, &str, u32)] = &[
    (Category::Security, "vulnerability", 4),
    (Category::Security, "security", 3),
    (Category::Security, "breach", 4),
    (Category::Security, "phishing", 3),
    (Category::Security, "unauthorized", 3),
    (Category::Security, "unauthorised", 3),
    (Category::Security, "data leak", 4),
    (Category::Security, "exposed", 2),
    (Category::Security, "xss", 4),
    (Category::Security, "sql injection", 4),
    (Category::Security, "compromised", 4),
    (Category::Security, "suspicious login", 3),
    (Category::Security, "cve", 4),
    (Category::Outage, "outage", 4),
    (Category::Outage, "is down", 3),
    (Category::Outage, "are down", 3),
    (Category::Outage, "went down", 3),
    (Category::Outage, "unavailable", 3),
    (Category::Outage, "not loading", 2),
    (Category::Outage, "502", 3),
    (Category::Outage, "503", 3),
    (Category::Outage, "timeout", 2),
    (Category::Outage, "timing out", 2),
    (Category::Outage, "degraded", 3),
    (Category::Outage, "status page", 2),
    (Category::Bug, "bug", 3),
    (Category::Bug, "error", 2),
    (Category::Bug, "crash", 3),
    (Category::Bug, "crashes", 3),
    (Category::Bug, "broken", 2),
    (Category::Bug, "exception", 2),
    (Category::Bug, "not working", 2),
    (Category::Bug, "doesn't work", 2),
    (Category::Bug, "stack trace", 3),
    (Category::Bug, "regression", 3),
    (Category::Bug, "wrong", 1),
    (Category::Bug, "500", 2),
    (Category::Access, "login", 2),
    (Category::Access, "log in", 2),
    (Category::Access, "password", 3),
    (Category::Access, "locked out", 4),
    (Category::Access, "2fa", 3),
    (Category::Access, "mfa", 3),
    (Category::Access, "sso", 2),
    (Category::Access, "permission", 2),
    (Category::Access, "permissions", 2),
    (Category::Access, "access denied", 3),
    (Category::Access, "invite", 1),
    (Category::Access, "reset", 1),
    (Category::Billing, "invoice", 3),
    (Category::Billing, "billing", 3),
    (Category::Billing, "billed", 3),
    (Category::Billing, "charged", 2),
    (Category::Billing, "charge", 2),
    (Category::Billing, "refund", 2),
    (Category::Billing, "payment", 2),
    (Category::Billing, "credit card", 2),
    (Category::Billing, "receipt", 2),
    (Category::Billing, "overcharged", 3),
    (Category::Billing, "subscription", 1),
    (Category::Billing, "pricing", 1),
    (Category::HowTo, "how do i", 3),
    (Category::HowTo, "how to", 3),
    (Category::HowTo, "how can i", 3),
    (Category::HowTo, "is it possible", 2),
    (Category::HowTo, "where can i", 2),
    (Category::HowTo, "can you explain", 2),
    (Category::HowTo, "documentation", 1),
    (Category::HowTo, "tutorial", 1),
    (Category::HowTo, "configure", 1),
    (Category::FeatureRequest, "feature request", 4),
    (Category::FeatureRequest, "would be great", 3),
    (Category::FeatureRequest, "would be nice", 3),
    (Category::FeatureRequest, "please add", 3),
    (Category::FeatureRequest, "can you add", 3),
    (Category::FeatureRequest, "wish", 2),
    (Category::FeatureRequest, "roadmap", 2),
    (Category::FeatureRequest, "suggestion", 2),
];

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static SEVERE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:data\s+loss|lost\s+(?:all\s+)?(?:of\s+)?(?:our|my|the)?\s*data|data\s+(?:was|were|is|has\s+been)\s+(?:deleted|corrupted|lost|wiped)|corrupt(?:ed|ion)|breach(?:ed)?|leak(?:ed)?|outage|(?:is|are|went)\s+down|security\s+incident|ransomware)\b",
    )
});
static SCOPE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:all\s+(?:of\s+)?(?:our\s+)?(?:users|customers|employees|staff)|everyone|entire\s+(?:team|company|org|organi[sz]ation)|whole\s+(?:team|company)|production|prod|live\s+site)\b",
    )
});
static LEGAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:lawyers?|attorneys?|legal\s+action|lawsuit|sue|suing|court|small\s+claims|regulator|ombudsman|data\s+protection\s+authority)\b",
    )
});
static REPEAT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:(?:third|fourth|fifth|3rd|4th|5th)\s+time|still\s+(?:not\s+(?:fixed|resolved|working)|broken|waiting|no\s+(?:answer|response|reply))|no\s+one\s+(?:has\s+)?(?:responded|replied|answered|got\s+back)|(?:already|multiple\s+times|several\s+times)\s+(?:contacted|reported|emailed|asked|wrote))\b",
    )
});
static CHURN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i:\bcancel(?:l?ing|l?ed)?\s+(?:\w+\s+){0,3}?(?:subscription|account|plan|contract|service|renewal)\b|\bcancellation\b|\brefund\b|\bunhappy\b|\bdisappointed\b|\bfed\s+up\b|\b(?:not|won't|will\s+not)\s+(?:be\s+)?renew(?:ing)?\b|\blook(?:ing)?\s+(?:at|for|into)\s+alternatives\b|\bterminat(?:e|ing)\s+(?:our|the|my)\s+(?:contract|agreement|subscription)\b)|\b(?i:switch(?:ing)?|migrat(?:e|ing)|mov(?:e|ing))\s+(?i:over\s+)?to\s+[A-Z]\w+",
    )
});

/// Triages one ticket. Errors: blank subject and body, or text over `max_bytes`.
pub fn triage(ticket: &Ticket, opts: &TriageOptions) -> Result<Triage, SkillError> {
    let size = ticket.subject.len() + ticket.body.len();
    if size > opts.max_bytes {
        return Err(SkillError::TooLarge { size, limit: opts.max_bytes });
    }
    if ticket.subject.trim().is_empty() && ticket.body.trim().is_empty() {
        return Err(SkillError::Empty);
    }
    let full = format!("{}\n{}", ticket.subject, ticket.body);

    let scores = categorise(ticket, opts)?;
    let total: u32 = scores.iter().map(|s| s.score).sum();
    let (category, confidence) =
        scores.first().map_or((Category::General, 0.0), |s| (s.category, f64::from(s.score) / f64::from(total.max(1))));

    let found = |re: &LazyLock<Option<Regex>>| re.as_ref().and_then(|r| r.find(&full)).map(|m| m.as_str().to_owned());
    let severe = found(&SEVERE);
    let scope = found(&SCOPE);
    let mut level = category.base_priority();
    let mut reasons = vec![format!("{} ticket starts at P{level}", category.label())];
    if let Some(w) = &severe {
        level -= 1;
        reasons.push(format!("severe impact (\"{w}\") raises it one level"));
    }
    if let Some(w) = &scope {
        level = level.saturating_sub(1);
        reasons.push(format!("wide scope (\"{w}\") raises it one level"));
    }
    if ticket.customer_tier == Tier::Enterprise && (severe.is_some() || scope.is_some()) {
        level = level.saturating_sub(1);
        reasons.push("enterprise customer with wide or severe impact raises it one level".into());
    }
    if ticket.customer_tier == Tier::Free && !matches!(category, Category::Security | Category::Outage) && level < 4 {
        level += 1;
        reasons.push("free tier lowers it one level".into());
    }
    let p1_allowed = severe.is_some() || matches!(category, Category::Security | Category::Outage);
    if level <= 1 && !p1_allowed {
        level = 2;
        reasons.push("P1 needs severe impact or a security/outage ticket: held at P2".into());
    }
    let priority = Priority::from_level(level);

    let sla_hours = opts.sla_hours.hours(priority, ticket.customer_tier);
    let sla_deadline = ticket.created_at + Duration::hours(i64::from(sla_hours));

    let mut escalation_reasons = Vec::new();
    if priority == Priority::P1 {
        escalation_reasons.push("P1".to_owned());
    }
    if category == Category::Security {
        escalation_reasons.push("security ticket".to_owned());
    }
    if let Some(w) = found(&LEGAL) {
        escalation_reasons.push(format!("legal threat (\"{w}\")"));
    }
    if ticket.prior_contacts >= opts.repeat_contact_threshold {
        escalation_reasons.push(format!("repeated contact ({} earlier contacts)", ticket.prior_contacts));
    } else if let Some(w) = found(&REPEAT) {
        escalation_reasons.push(format!("repeated contact (\"{w}\")"));
    }

    let churn_signals: Vec<String> = CHURN.as_ref().map_or_else(Vec::new, |r| {
        let mut v: Vec<String> = r.find_iter(&full).map(|m| text::normalize(m.as_str())).collect();
        v.dedup();
        v
    });
    let churn_risk = !churn_signals.is_empty();
    Ok(Triage {
        ticket_id: ticket.id.clone(),
        category,
        confidence: (confidence * 100.0).round() / 100.0,
        scores,
        priority,
        priority_reasons: reasons,
        sla_hours,
        sla_deadline,
        escalate: !escalation_reasons.is_empty(),
        escalation_reasons,
        churn_risk,
        churn_signals,
        handoff: churn_risk.then(|| "customer-success".to_owned()),
    })
}

/// The built-in keyword rules, compiled once.
static BUILT_IN: LazyLock<Vec<(Category, &'static str, u32, Regex)>> = LazyLock::new(|| {
    KEYWORDS.iter().filter_map(|(c, p, w)| Regex::new(&format!("(?i){}", text::whole_word(p))).ok().map(|r| (*c, *p, *w, r))).collect()
});

fn categorise(ticket: &Ticket, opts: &TriageOptions) -> Result<Vec<CategoryScore>, SkillError> {
    let mut extra = Vec::new();
    for k in opts.extra_keywords.iter().filter(|k| !k.phrase.trim().is_empty()) {
        let re = Regex::new(&format!("(?i){}", text::whole_word(&k.phrase)))
            .map_err(|e| SkillError::Invalid(format!("keyword {:?} does not compile: {e}", k.phrase)))?;
        extra.push((k.category, k.phrase.as_str(), k.weight, re));
    }
    let mut scores: Vec<CategoryScore> = Vec::new();
    for (cat, phrase, weight, pattern) in BUILT_IN.iter().chain(extra.iter()) {
        let points = weight * (2 * u32::from(pattern.is_match(&ticket.subject)) + u32::from(pattern.is_match(&ticket.body)));
        if points == 0 {
            continue;
        }
        match scores.iter_mut().find(|s| s.category == *cat) {
            Some(s) => {
                s.score += points;
                s.matched.push((*phrase).to_owned());
            }
            None => scores.push(CategoryScore { category: *cat, score: points, matched: vec![(*phrase).to_owned()] }),
        }
    }
    // Best first; ties to the more urgent category (enum order).
    scores.sort_by(|a, b| b.score.cmp(&a.score).then(a.category.cmp(&b.category)));
    Ok(scores)
}

impl Triage {
    pub fn to_markdown(&self) -> String {
        let id = self.ticket_id.as_deref().map_or(String::new(), |i| format!(" {i}"));
        let mut md = format!(
            "# Ticket{id} triage\n\n| | |\n|---|---|\n| Category | {} (confidence {:.0}%) |\n| Priority | {:?} |\n\
             | First response due | {} ({} h) |\n| Escalate | {} |\n| Churn risk | {} |\n",
            self.category.label(),
            self.confidence * 100.0,
            self.priority,
            self.sla_deadline.format("%Y-%m-%d %H:%M UTC"),
            self.sla_hours,
            if self.escalate { format!("yes: {}", md_cell(&self.escalation_reasons.join("; "))) } else { "no".into() },
            if self.churn_risk {
                format!("yes ({}); hand off to Customer Success", md_cell(&self.churn_signals.join(", ")))
            } else {
                "no".into()
            },
        );
        md.push_str("\n## Why this priority\n\n");
        for r in &self.priority_reasons {
            md.push_str(&format!("- {r}\n"));
        }
        if !self.scores.is_empty() {
            md.push_str("\n## Category evidence\n\n| Category | Points | Keywords |\n|---|---|---|\n");
            for s in &self.scores {
                md.push_str(&format!("| {} | {} | {} |\n", s.category.label(), s.score, md_cell(&s.matched.join(", "))));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests;
