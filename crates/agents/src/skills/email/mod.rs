//! Email Marketing: deliverability and CAN-SPAM check of a campaign email before it is sent.
//!
//! The deliverability score starts at 100 and loses each finding's penalty (floor 0):
//!
//! | Finding | Penalty |
//! |---|---|
//! | spam triggers (see `spam`) | 2 per point, at most 30 |
//! | no unsubscribe link or List-Unsubscribe header | 25 |
//! | no postal address / only half of one | 15 / 8 |
//! | empty subject | 15 |
//! | subject length outside 30..=60 characters | 5 |
//! | each spammy subject pattern (fake `Re:`/`Fwd:`, ALL CAPS, `!!`, `$`) | 5, at most 15 |
//! | sender not a valid address / a no-reply sender | 10 / 2 |
//! | image-only email (images, < 200 visible characters) | 20 |
//! | under 300 visible characters per image | 10 |
//! | image without alt text | 2 each, at most 6 |
//! | more than 15 links | 5 |
//! | link shortener (bit.ly, tinyurl.com, …) | 5 |
//! | HTML without a plain-text alternative | 5 |
//! | HTML over 102 KB (Gmail clips it, hiding the footer) | 5 |
//! | HTML parse errors | 2 |
//! | no preheader | 2 |
//!
//! Bands: 80 and above good, 60–79 needs work, below 60 poor.

mod body;
mod spam;

pub use spam::SpamHit;

use crate::skills::SkillError;
use crate::skills::content::text::{self, Severity, md_cell};
use body::Address;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The email as the marketer wrote it. At least one body is required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailDraft {
    pub subject: String,
    pub preheader: Option<String>,
    pub html_body: Option<String>,
    pub text_body: Option<String>,
    /// `Name <address@domain>` or a bare address.
    pub from: String,
    /// The `List-Unsubscribe` header value the ESP will send, if known.
    pub list_unsubscribe: Option<String>,
}

/// Check settings; defaults in `Default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailOptions {
    /// Recommended subject length in characters (default 30..=60: shorter says too little,
    /// longer is cut on phones).
    pub subject_min: usize,
    pub subject_max: usize,
    /// More spam phrases with their points, e.g. `{ "crypto giveaway" = 3 }`.
    pub extra_spam_phrases: BTreeMap<String, u32>,
    /// Words in capitals that are not shouting (acronyms); defaults include HIPAA, GDPR, HTML.
    pub allowed_caps: Vec<String>,
    /// Links beyond this draw a finding (default 15).
    pub max_links: usize,
    /// Require a postal address (CAN-SPAM; default true).
    pub require_postal_address: bool,
    /// Largest body accepted, in bytes (default 1 MiB each).
    pub max_bytes: usize,
}

impl Default for EmailOptions {
    fn default() -> Self {
        Self {
            subject_min: 30,
            subject_max: 60,
            extra_spam_phrases: BTreeMap::new(),
            allowed_caps: spam::DEFAULT_CAPS_ALLOWED.iter().map(|s| (*s).to_owned()).collect(),
            max_links: 15,
            require_postal_address: true,
            max_bytes: text::DEFAULT_MAX_BYTES,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailFinding {
    pub rule: String,
    pub severity: Severity,
    /// `subject`, `from`, `html line 12`, `text line 3`, `email`.
    pub location: String,
    pub message: String,
    pub fix: String,
    /// Points this finding takes off the deliverability score.
    pub penalty: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Good,
    NeedsWork,
    Poor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailReport {
    pub score: u8,
    pub band: Band,
    pub subject_length: usize,
    pub spam_points: u32,
    pub spam_hits: Vec<SpamHit>,
    /// Where the unsubscribe mechanism was found.
    pub unsubscribe: Option<String>,
    /// The address (or merge tag) found.
    pub postal_address: Option<String>,
    pub links: usize,
    pub images: usize,
    pub images_missing_alt: usize,
    pub visible_text_chars: usize,
    pub text_chars_per_image: Option<usize>,
    pub findings: Vec<EmailFinding>,
}

static FROM: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:[^<>]*<\s*([^<>\s]+@[^<>\s]+\.[A-Za-z]{2,})\s*>|([^<>\s]+@[^<>\s]+\.[A-Za-z]{2,}))$").ok());
const SHORTENERS: &[&str] = &["bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly"];
/// Gmail clips HTML bodies larger than about 102 KB.
const GMAIL_CLIP_BYTES: usize = 102 * 1024;

/// Checks a campaign email. Errors: no body at all, or a part over `max_bytes`.
pub fn check_email(email: &EmailDraft, opts: &EmailOptions) -> Result<EmailReport, SkillError> {
    let html = email.html_body.as_deref().filter(|b| !b.trim().is_empty());
    let plain = email.text_body.as_deref().filter(|b| !b.trim().is_empty());
    if html.is_none() && plain.is_none() {
        return Err(SkillError::Invalid("the email has neither an HTML nor a plain-text body".into()));
    }
    for (name, part) in
        [("subject", Some(email.subject.as_str())), ("preheader", email.preheader.as_deref()), ("HTML body", html), ("text body", plain)]
    {
        if let Some(p) = part
            && p.len() > opts.max_bytes
        {
            return Err(SkillError::Invalid(format!("the {name} is {} bytes; the limit is {}", p.len(), opts.max_bytes)));
        }
    }
    let body = body::read(html, plain);
    let mut findings = Vec::new();
    let mut add = |rule: &str, severity, location: &str, message: String, fix: &str, penalty| {
        findings.push(EmailFinding { rule: rule.into(), severity, location: location.into(), message, fix: fix.into(), penalty });
    };

    // Spam triggers.
    let weighted = spam::Weighted::new(&opts.extra_spam_phrases)?;
    let preheader = email.preheader.as_deref().unwrap_or("");
    let parts = [("subject", email.subject.as_str()), ("preheader", preheader), ("body", body.all_text.as_str())];
    let raw_body = html.or(plain).unwrap_or("");
    let mut spam_hits = weighted.scan(&parts, |part, matched| locate(part, matched, raw_body, html.is_some()));
    let all = format!("{} {} {}", email.subject, preheader, body.all_text);
    spam_hits.extend(spam::formatting(&all, &opts.allowed_caps));
    let spam_points: u32 = spam_hits.iter().map(|h| h.points).sum();
    if spam_points > 0 {
        let list = spam_hits.iter().map(|h| format!("\"{}\" ×{} ({})", h.trigger, h.count, h.location)).collect::<Vec<_>>().join("; ");
        add(
            "spam-triggers",
            if spam_points >= 10 { Severity::High } else { Severity::Medium },
            "email",
            format!("{spam_points} spam-trigger point(s): {list}."),
            "Rephrase the listed phrases, write words in normal case, and keep to one \"!\" at most.",
            (spam_points * 2).min(30),
        );
    }

    // Subject.
    let subject = email.subject.trim();
    let subject_length = subject.chars().count();
    if subject.is_empty() {
        add(
            "subject-empty",
            Severity::High,
            "subject",
            "The subject is empty.".into(),
            "Write a specific subject of 30–60 characters.",
            15,
        );
    } else if subject_length < opts.subject_min || subject_length > opts.subject_max {
        add(
            "subject-length",
            Severity::Low,
            "subject",
            format!("The subject is {subject_length} characters; {}..={} is recommended.", opts.subject_min, opts.subject_max),
            if subject_length > opts.subject_max {
                "Shorten it; phones show about 40 characters."
            } else {
                "Say more: what is in it for the reader?"
            },
            5,
        );
    }
    subject_patterns(subject, &opts.allowed_caps, &mut add);
    if email.preheader.as_deref().is_none_or(|p| p.trim().is_empty()) {
        add(
            "preheader",
            Severity::Info,
            "preheader",
            "No preheader: inboxes will show the first text of the body instead.".into(),
            "Add a 40–100 character preheader that extends the subject.",
            2,
        );
    }

    // Sender.
    let from = email.from.trim();
    match FROM.as_ref().and_then(|re| re.captures(from)).and_then(|c| c.get(1).or(c.get(2))) {
        None => add(
            "from",
            Severity::High,
            "from",
            format!("The sender {from:?} is not a valid email address."),
            "Use `Brand Name <name@yourdomain.com>` on a domain with SPF and DKIM set up.",
            10,
        ),
        Some(addr) if addr.as_str().to_lowercase().contains("noreply") || addr.as_str().to_lowercase().contains("no-reply") => add(
            "from",
            Severity::Low,
            "from",
            format!("The sender {} is a no-reply address.", addr.as_str()),
            "Send from an address that accepts replies; replies build sender reputation.",
            2,
        ),
        Some(_) => {}
    }

    // Unsubscribe and address (CAN-SPAM).
    let unsub_link = body::unsubscribe_link(&body.links);
    let unsubscribe = match (unsub_link, email.list_unsubscribe.as_deref().filter(|h| !h.trim().is_empty())) {
        (Some(l), _) => Some(format!("link \"{}\" ({})", l.text.chars().take(60).collect::<String>(), l.location)),
        (None, Some(h)) => Some(format!("List-Unsubscribe header {h}")),
        (None, None) => None,
    };
    if unsubscribe.is_none() {
        add(
            "unsubscribe",
            Severity::Critical,
            "email",
            "No unsubscribe link and no List-Unsubscribe header: CAN-SPAM requires a working opt-out in every marketing email.".into(),
            "Add a visible \"Unsubscribe\" link in the footer (your ESP's unsubscribe merge tag) and the List-Unsubscribe header.",
            25,
        );
    }
    let postal_address = match body::postal_address(&body.all_text, html) {
        Address::Found(a) => Some(a),
        Address::MergeTag(t) => Some(format!("merge tag {t}")),
        Address::Partial(why) => {
            if opts.require_postal_address {
                add(
                    "postal-address",
                    Severity::Medium,
                    "email",
                    format!("Incomplete postal address: {why}."),
                    "Give the full address: street or PO box, city, state and ZIP.",
                    8,
                );
            }
            None
        }
        Address::Missing => {
            if opts.require_postal_address {
                add(
                    "postal-address",
                    Severity::High,
                    "email",
                    "No postal address: CAN-SPAM requires the sender's valid physical postal address.".into(),
                    "Add the company address to the footer, e.g. \"Acme Inc., 100 Main Street, Springfield, IL 62701\".",
                    15,
                );
            }
            None
        }
    };

    // Links and images.
    let links: Vec<&body::Link> = body.links.iter().filter(|l| !l.href.starts_with('#')).collect();
    if links.len() > opts.max_links {
        add(
            "links",
            Severity::Low,
            "email",
            format!("{} links; more than {} looks like a link farm to filters.", links.len(), opts.max_links),
            "Keep one primary call to action and a few secondary links.",
            5,
        );
    }
    if let Some(l) =
        links.iter().find(|l| SHORTENERS.iter().any(|s| host_of(&l.href).is_some_and(|h| h == *s || h.ends_with(&format!(".{s}")))))
    {
        add(
            "link-shortener",
            Severity::Medium,
            &l.location,
            format!("Link shortener {}: spammers hide destinations behind them, so filters penalise them.", l.href),
            "Link to your own domain (use your ESP's click tracking).",
            5,
        );
    }
    let visible_text_chars = body.visible.chars().count();
    let images = body.images.len();
    let text_chars_per_image = (images > 0).then(|| visible_text_chars / images);
    if images > 0 && visible_text_chars < 200 {
        add(
            "image-ratio",
            Severity::High,
            "email",
            format!("Image-only email: {images} image(s) and {visible_text_chars} characters of text."),
            "Put the message in live text; filters cannot read images and many clients block them.",
            20,
        );
    } else if let Some(per) = text_chars_per_image.filter(|p| *p < 300) {
        add(
            "image-ratio",
            Severity::Medium,
            "email",
            format!("{per} characters of text per image ({images} images); aim for at least 300 (about 60% text)."),
            "Add text or drop decorative images.",
            10,
        );
    }
    let missing_alt: Vec<&body::Image> = body.images.iter().filter(|i| i.alt.is_none()).collect();
    for (n, img) in missing_alt.iter().enumerate() {
        add(
            "img-alt",
            Severity::Low,
            &img.location,
            format!("Image {} has no alt text.", if img.src.is_empty() { "(no src)" } else { &img.src }),
            "Add alt text describing the image (alt=\"\" for spacers).",
            if n < 3 { 2 } else { 0 },
        );
    }
    if let Some(h) = html {
        if plain.is_none() {
            add(
                "text-alternative",
                Severity::Low,
                "email",
                "HTML without a plain-text part: HTML-only mail scores worse with spam filters.".into(),
                "Send a multipart email with a plain-text version.",
                5,
            );
        }
        if h.len() > GMAIL_CLIP_BYTES {
            add(
                "size",
                Severity::Medium,
                "email",
                format!("The HTML is {} KB; Gmail clips messages over 102 KB, hiding the footer and its unsubscribe link.", h.len() / 1024),
                "Inline less CSS and remove unused markup.",
                5,
            );
        }
        if !body.parse_errors.is_empty() {
            let first: Vec<String> = body.parse_errors.iter().take(3).map(|e| format!("line {}: {}", e.line, e.message)).collect();
            add(
                "html",
                Severity::Low,
                &format!("html line {}", body.parse_errors.first().map_or(1, |e| e.line)),
                format!("The HTML is not well-formed ({} parse error(s)): {}.", body.parse_errors.len(), first.join("; ")),
                "Close every tag; clients repair broken markup differently.",
                2,
            );
        }
    }

    let penalty: u32 = findings.iter().map(|f| f.penalty).sum();
    let score = 100u32.saturating_sub(penalty) as u8;
    let band = match score {
        80.. => Band::Good,
        60..=79 => Band::NeedsWork,
        _ => Band::Poor,
    };
    findings.sort_by_key(|f| std::cmp::Reverse((f.severity, f.penalty)));
    Ok(EmailReport {
        score,
        band,
        subject_length,
        spam_points,
        spam_hits,
        unsubscribe,
        postal_address,
        links: links.len(),
        images,
        images_missing_alt: missing_alt.len(),
        visible_text_chars,
        text_chars_per_image,
        findings,
    })
}

/// `add(rule, severity, location, message, fix, penalty)`, as in `check_email`.
type AddFinding<'a> = dyn FnMut(&str, Severity, &str, String, &str, u32) + 'a;

fn subject_patterns(subject: &str, allowed: &[String], add: &mut AddFinding<'_>) {
    let mut found = 0u32;
    let mut flag = |add: &mut AddFinding<'_>, sev, msg: String, fix: &str| {
        let penalty = if found < 3 { 5 } else { 0 };
        found += 1;
        add("subject-pattern", sev, "subject", msg, fix, penalty);
    };
    let lower = subject.to_lowercase();
    if ["re:", "fwd:", "fw:"].iter().any(|p| lower.starts_with(p)) {
        flag(
            add,
            Severity::Medium,
            "The subject starts like a reply or forward in a campaign email.".into(),
            "Remove the fake prefix; CAN-SPAM forbids deceptive subjects.",
        );
    }
    let caps = spam::caps_words(subject, allowed);
    if !caps.is_empty() {
        flag(add, Severity::Low, format!("Words in capitals in the subject: {}.", caps.join(", ")), "Write the subject in sentence case.");
    }
    if subject.matches('!').count() >= 2 {
        flag(add, Severity::Low, "More than one \"!\" in the subject.".into(), "Use one at most.");
    }
    if subject.contains('$') {
        flag(add, Severity::Low, "A \"$\" in the subject.".into(), "Write the amount without the symbol or move it to the body.");
    }
}

/// Where the first occurrence of a matched phrase is: the part name for subject and preheader,
/// the body line (found again in the raw body) for the body.
fn locate(part: &str, matched: &str, raw_body: &str, is_html: bool) -> String {
    if part != "body" {
        return part.to_owned();
    }
    let needle = matched.to_lowercase();
    let kind = if is_html { "html" } else { "text" };
    raw_body
        .lines()
        .position(|l| l.to_lowercase().contains(&needle))
        .map_or_else(|| "body".to_owned(), |i| format!("{kind} line {}", i + 1))
}

fn host_of(href: &str) -> Option<String> {
    let rest = href.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    Some(host.split(':').next().unwrap_or(host).to_lowercase())
}

impl EmailReport {
    pub fn to_markdown(&self) -> String {
        let band = match self.band {
            Band::Good => "good",
            Band::NeedsWork => "needs work",
            Band::Poor => "poor",
        };
        let mut md = format!(
            "# Email deliverability check\n\n**Deliverability score: {}/100 ({band}).**\n\n- Unsubscribe: {}\n- Postal address: {}\n\
             - Subject: {} characters\n- Spam-trigger points: {}\n- Links: {}; images: {} ({} without alt); visible text: {} characters\n",
            self.score,
            self.unsubscribe.as_deref().unwrap_or("**missing**"),
            self.postal_address.as_deref().unwrap_or("**missing**"),
            self.subject_length,
            self.spam_points,
            self.links,
            self.images,
            self.images_missing_alt,
            self.visible_text_chars,
        );
        if self.findings.is_empty() {
            md.push_str("\nNo findings.\n");
            return md;
        }
        md.push_str("\n## Findings\n\n| Severity | Where | Rule | Finding | Fix | Points |\n|---|---|---|---|---|---|\n");
        for f in &self.findings {
            md.push_str(&format!(
                "| {} | {} | `{}` | {} | {} | −{} |\n",
                f.severity.as_str(),
                md_cell(&f.location),
                f.rule,
                md_cell(&f.message),
                md_cell(&f.fix),
                f.penalty
            ));
        }
        md
    }
}

#[cfg(test)]
mod tests;
