//! Social Media (B2B): per-platform post checks (length, hashtags, links, mentions, the part
//! shown before "see more") and a posting calendar on B2B best-time windows.
//!
//! | Platform | Limit | Counting | Hashtags (recommended; hard limit) | Preview cut |
//! |---|---|---|---|---|
//! | X | 280 | weighted: most Latin/punctuation 1, CJK and emoji 2, every URL 23 | 1–2 | — |
//! | LinkedIn | 3,000 | characters | 3–5 | 210 ("…see more"): the hook must end before it |
//! | Instagram | 2,200 | characters | 3–5; at most 30 | 125 |
//! | Facebook | 63,206 | characters | 0–2 | — |
//! | Threads | 500 | characters | 0–1 (only one topic tag is used) | — |
//!
//! X weighting follows twitter-text v3: code points U+0000–U+10FF, U+2000–U+200D,
//! U+2010–U+201F and U+2032–U+2037 weigh 1, everything else 2; URLs weigh 23 whatever their
//! length. Approximation: emoji modifier and joiner code points (ZWJ, VS16, skin tones) weigh 0,
//! so a joined emoji sequence counts about as X counts it.

use crate::skills::SkillError;
use crate::skills::content::text::{self, Severity, md_cell};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocialPlatform {
    #[serde(alias = "twitter")]
    X,
    #[serde(rename = "linkedin")]
    LinkedIn,
    Instagram,
    Facebook,
    Threads,
}

/// The documented limits of one platform.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlatformRules {
    pub max_chars: usize,
    pub recommended_hashtags: (usize, usize),
    pub max_hashtags: Option<usize>,
    /// Characters shown before the platform folds the post ("…see more").
    pub preview_chars: Option<usize>,
    /// Links beyond this many draw a finding (LinkedIn and Instagram: see `check_post`).
    pub recommended_links: usize,
    pub recommended_mentions: usize,
}

impl SocialPlatform {
    pub fn name(self) -> &'static str {
        match self {
            Self::X => "X",
            Self::LinkedIn => "LinkedIn",
            Self::Instagram => "Instagram",
            Self::Facebook => "Facebook",
            Self::Threads => "Threads",
        }
    }

    pub fn rules(self) -> PlatformRules {
        let r = |max_chars, recommended_hashtags, max_hashtags, preview_chars, recommended_links| PlatformRules {
            max_chars,
            recommended_hashtags,
            max_hashtags,
            preview_chars,
            recommended_links,
            recommended_mentions: 5,
        };
        match self {
            Self::X => r(280, (1, 2), None, None, 1),
            Self::LinkedIn => r(3_000, (3, 5), None, Some(210), 1),
            Self::Instagram => r(2_200, (3, 5), Some(30), Some(125), 0),
            Self::Facebook => r(63_206, (0, 2), None, None, 1),
            Self::Threads => r(500, (0, 1), None, None, 1),
        }
    }
}

/// Largest post text accepted (bytes): well above Facebook's limit, so long drafts are still
/// measured and reported as too long rather than refused.
pub const MAX_POST_BYTES: usize = 256 * 1024;
/// What X counts for any URL.
pub const X_URL_WEIGHT: usize = 23;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostFinding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostReport {
    pub platform: SocialPlatform,
    /// Length as the platform counts it (weighted on X).
    pub length: usize,
    pub limit: usize,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub links: Vec<String>,
    /// Characters before the first line break or sentence end.
    pub hook_length: usize,
    pub findings: Vec<PostFinding>,
    /// No finding of high severity: the platform will accept the post as written.
    pub fits: bool,
}

static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bhttps?://[^\s<>]+|\bwww\.[^\s<>]+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|co|ai|dev|app|ly|gl|me|us|uk|de|in|eu)\b(?:/[^\s<>]*)?",
    )
    .ok()
});
static HASHTAG: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"#(\w+)").ok());
static MENTION: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"@(\w{1,30})").ok());

/// Checks a post against `platform`'s limits and recommendations.
pub fn check_post(post: &str, platform: SocialPlatform) -> Result<PostReport, SkillError> {
    text::check_text(post, MAX_POST_BYTES)?;
    let rules = platform.rules();
    let links = find_links(post);
    let in_link = |at: usize| links.iter().any(|(s, e, _)| (*s..*e).contains(&at));
    let preceded_by_word =
        |at: usize| post[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '&' || c == '/');
    let hashtags: Vec<String> = HASHTAG.as_ref().map_or_else(Vec::new, |re| {
        re.captures_iter(post)
            .filter_map(|c| c.get(0).zip(c.get(1)))
            .filter(|(all, tag)| {
                !in_link(all.start()) && !preceded_by_word(all.start()) && !tag.as_str().chars().all(|c| c.is_ascii_digit())
            })
            .map(|(_, tag)| format!("#{}", tag.as_str()))
            .collect()
    });
    let mentions: Vec<String> = MENTION.as_ref().map_or_else(Vec::new, |re| {
        re.captures_iter(post)
            .filter_map(|c| c.get(0))
            .filter(|all| !in_link(all.start()) && !preceded_by_word(all.start()))
            .map(|all| all.as_str().to_owned())
            .collect()
    });
    let length = match platform {
        SocialPlatform::X => x_weighted_length(post, &links),
        _ => post.chars().count(),
    };
    let hook_length = hook_length(post);
    let mut findings = Vec::new();
    let mut add = |rule: &str, severity, message: String, fix: &str| {
        findings.push(PostFinding { rule: rule.into(), severity, message, fix: fix.into() });
    };
    if length > rules.max_chars {
        add(
            "length",
            Severity::High,
            format!("{length} characters; {} allows {} ({} over).", platform.name(), rules.max_chars, length - rules.max_chars),
            "Cut it down, or split it into a thread / carousel.",
        );
    }
    if let Some(preview) = rules.preview_chars
        && length > preview
        && hook_length > preview
    {
        add(
            "hook",
            Severity::Medium,
            format!("The opening line is {hook_length} characters; {} folds the post after {preview}.", platform.name()),
            "Open with one short line (a number, a question, a claim) that ends before the fold, then a line break.",
        );
    }
    let (lo, hi) = rules.recommended_hashtags;
    let n = hashtags.len();
    if let Some(max) = rules.max_hashtags
        && n > max
    {
        add(
            "hashtags",
            Severity::High,
            format!("{n} hashtags; {} rejects more than {max}.", platform.name()),
            "Keep the 3–5 most specific tags.",
        );
    } else if n > hi {
        add(
            "hashtags",
            Severity::Low,
            format!("{n} hashtags; {lo}–{hi} is recommended on {}.", platform.name()),
            "Keep the most specific tags; too many reads as spam.",
        );
    } else if n < lo {
        add(
            "hashtags",
            Severity::Info,
            format!("{n} hashtags; {lo}–{hi} helps discovery on {}.", platform.name()),
            "Add specific industry tags (e.g. #RevOps, #B2BMarketing).",
        );
    }
    match platform {
        SocialPlatform::Instagram if !links.is_empty() => add(
            "links",
            Severity::Medium,
            format!("{} link(s) in the caption; Instagram captions do not make links clickable.", links.len()),
            "Put the link in the bio or a story and say \"link in bio\".",
        ),
        SocialPlatform::LinkedIn if !links.is_empty() => add(
            "links",
            Severity::Info,
            format!("{} link(s) in the post; LinkedIn shows posts with external links to fewer people.", links.len()),
            "Put the link in the first comment and say so in the post.",
        ),
        _ if links.len() > rules.recommended_links => add(
            "links",
            Severity::Low,
            format!("{} links; one clear link per post converts better.", links.len()),
            "Keep the one link that matters.",
        ),
        _ => {}
    }
    if mentions.len() > rules.recommended_mentions {
        add(
            "mentions",
            Severity::Low,
            format!("{} mentions; more than {} reads as tag-spam.", mentions.len(), rules.recommended_mentions),
            "Mention only people or companies the post is about.",
        );
    }
    let fits = !findings.iter().any(|f| f.severity >= Severity::High);
    Ok(PostReport {
        platform,
        length,
        limit: rules.max_chars,
        hashtags,
        mentions,
        links: links.into_iter().map(|(_, _, l)| l).collect(),
        hook_length,
        findings,
        fits,
    })
}

/// Links with their byte span; trailing punctuation is not part of a link. A bare domain right
/// after `@` is an email address, not a link.
fn find_links(post: &str) -> Vec<(usize, usize, String)> {
    let Some(re) = URL.as_ref() else { return Vec::new() };
    re.find_iter(post)
        .filter(|m| !post[..m.start()].ends_with('@'))
        .map(|m| {
            let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"']);
            (m.start(), m.start() + trimmed.len(), trimmed.to_owned())
        })
        .collect()
}

fn x_weighted_length(post: &str, links: &[(usize, usize, String)]) -> usize {
    let mut total = 0;
    let mut at = 0;
    let mut after_zwj = false;
    for &(s, e, _) in links {
        total += weigh(post.get(at..s).unwrap_or(""), &mut after_zwj) + X_URL_WEIGHT;
        at = e;
    }
    total + weigh(post.get(at..).unwrap_or(""), &mut after_zwj)
}

fn weigh(s: &str, after_zwj: &mut bool) -> usize {
    s.chars()
        .map(|c| {
            let cp = c as u32;
            let joined = std::mem::take(after_zwj);
            if cp == 0x200D {
                *after_zwj = true;
                return 0;
            }
            if joined || cp == 0xFE0F || (0x1F3FB..=0x1F3FF).contains(&cp) {
                return 0;
            }
            let light =
                cp <= 0x10FF || (0x2000..=0x200D).contains(&cp) || (0x2010..=0x201F).contains(&cp) || (0x2032..=0x2037).contains(&cp);
            if light { 1 } else { 2 }
        })
        .sum()
}

/// Characters up to the first line break or the end of the first sentence.
fn hook_length(post: &str) -> usize {
    let body = post.trim_start();
    let mut prev_terminal = false;
    for (n, c) in body.chars().enumerate() {
        if c == '\n' {
            return n;
        }
        if prev_terminal && c.is_whitespace() {
            return n;
        }
        prev_terminal = matches!(c, '.' | '!' | '?');
    }
    body.chars().count()
}

impl PostReport {
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# {} post check\n\n**{}** — {} of {} characters; {} hashtag(s), {} link(s), {} mention(s).\n",
            self.platform.name(),
            if self.fits { "Fits the platform" } else { "Will not post as written" },
            self.length,
            self.limit,
            self.hashtags.len(),
            self.links.len(),
            self.mentions.len()
        );
        if self.findings.is_empty() {
            md.push_str("\nNo findings.\n");
        } else {
            md.push_str("\n| Severity | Rule | Finding | Fix |\n|---|---|---|---|\n");
            for f in &self.findings {
                md.push_str(&format!("| {} | `{}` | {} | {} |\n", f.severity.as_str(), f.rule, md_cell(&f.message), md_cell(&f.fix)));
            }
        }
        md
    }
}

// ---- Posting calendar ----

/// A weekly posting window in the audience's local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Calendar settings. `windows` overrides the built-in best times per platform; `min_gap_hours`
/// (default 24) is the least time between two posts on one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlotConfig {
    pub min_gap_hours: u32,
    pub windows: BTreeMap<SocialPlatform, Vec<Window>>,
}

impl Default for SlotConfig {
    fn default() -> Self {
        Self { min_gap_hours: 24, windows: BTreeMap::new() }
    }
}

/// Built-in B2B best-time windows (audience-local), a consensus of published 2023–2024
/// engagement studies of business audiences: weekday mornings, mid-week strongest.
///
/// | Platform | Days | Window |
/// |---|---|---|
/// | LinkedIn | Tue–Thu | 08:00–10:00, and 12:00–13:00 |
/// | X | Mon–Fri | 09:00–11:00 |
/// | Facebook | Tue–Thu | 09:00–12:00 |
/// | Instagram | Tue–Fri | 11:00–13:00 |
/// | Threads | Tue–Thu | 09:00–11:00 |
pub fn default_windows(platform: SocialPlatform) -> Vec<Window> {
    use Weekday::*;
    let w = |days: &[Weekday], s: u32, e: u32| Window {
        days: days.to_vec(),
        start: NaiveTime::from_hms_opt(s, 0, 0).unwrap_or_default(),
        end: NaiveTime::from_hms_opt(e, 0, 0).unwrap_or_default(),
    };
    match platform {
        SocialPlatform::LinkedIn => vec![w(&[Tue, Wed, Thu], 8, 10), w(&[Tue, Wed, Thu], 12, 13)],
        SocialPlatform::X => vec![w(&[Mon, Tue, Wed, Thu, Fri], 9, 11)],
        SocialPlatform::Facebook => vec![w(&[Tue, Wed, Thu], 9, 12)],
        SocialPlatform::Instagram => vec![w(&[Tue, Wed, Thu, Fri], 11, 13)],
        SocialPlatform::Threads => vec![w(&[Tue, Wed, Thu], 9, 11)],
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    pub platform: SocialPlatform,
    /// Post at the window's start.
    pub at: NaiveDateTime,
    pub weekday: Weekday,
    pub window_end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostingPlan {
    pub requested: usize,
    pub slots: Vec<Slot>,
    /// Posts that found no slot, with why.
    pub unplaced: Vec<String>,
}

pub const MAX_CALENDAR_DAYS: u32 = 366;
pub const MAX_POSTS: usize = 2_000;

/// Places `posts` posts over `days` days from `start`, cycling through `platforms` in order; each
/// post takes its platform's earliest free window start at least `min_gap_hours` after that
/// platform's previous post. A platform out of windows passes its turn to the next one; posts no
/// platform can take are listed in `unplaced`.
pub fn posting_calendar(
    posts: usize,
    platforms: &[SocialPlatform],
    start: NaiveDate,
    days: u32,
    cfg: &SlotConfig,
) -> Result<PostingPlan, SkillError> {
    if platforms.is_empty() {
        return Err(SkillError::Invalid("no platforms to post on".into()));
    }
    if days == 0 || days > MAX_CALENDAR_DAYS {
        return Err(SkillError::Invalid(format!("days must be 1..={MAX_CALENDAR_DAYS}, got {days}")));
    }
    if posts > MAX_POSTS {
        return Err(SkillError::Invalid(format!("at most {MAX_POSTS} posts per calendar, got {posts}")));
    }
    let mut platforms_dedup: Vec<SocialPlatform> = Vec::new();
    for p in platforms {
        if !platforms_dedup.contains(p) {
            platforms_dedup.push(*p);
        }
    }
    let mut candidates: Vec<Vec<Slot>> = Vec::new();
    for &p in &platforms_dedup {
        let windows = cfg.windows.get(&p).cloned().unwrap_or_else(|| default_windows(p));
        for (i, w) in windows.iter().enumerate() {
            if w.days.is_empty() || w.start >= w.end {
                return Err(SkillError::Invalid(format!(
                    "{} window {}: needs at least one day and start before end ({}–{})",
                    p.name(),
                    i + 1,
                    w.start.format("%H:%M"),
                    w.end.format("%H:%M")
                )));
            }
        }
        let mut slots = Vec::new();
        for d in 0..days {
            let Some(date) = start.checked_add_days(Days::new(u64::from(d))) else { break };
            for w in windows.iter().filter(|w| w.days.contains(&date.weekday())) {
                slots.push(Slot { platform: p, at: date.and_time(w.start), weekday: date.weekday(), window_end: w.end });
            }
        }
        slots.sort_by_key(|s| s.at);
        candidates.push(slots);
    }
    let gap = chrono::Duration::hours(i64::from(cfg.min_gap_hours));
    let mut last: Vec<Option<NaiveDateTime>> = vec![None; platforms_dedup.len()];
    let mut cursor: Vec<usize> = vec![0; platforms_dedup.len()];
    let mut plan = PostingPlan { requested: posts, slots: Vec::new(), unplaced: Vec::new() };
    let mut turn = 0;
    for post in 0..posts {
        let mut placed = false;
        for k in 0..platforms_dedup.len() {
            let i = (turn + k) % platforms_dedup.len();
            let (Some(cands), Some(cur), Some(prev)) = (candidates.get(i), cursor.get_mut(i), last.get_mut(i)) else { continue };
            while let Some(c) = cands.get(*cur) {
                *cur += 1;
                if prev.is_none_or(|p| c.at >= p + gap) {
                    *prev = Some(c.at);
                    plan.slots.push(c.clone());
                    placed = true;
                    break;
                }
            }
            if placed {
                turn = i + 1;
                break;
            }
        }
        if !placed {
            plan.unplaced.push(format!(
                "post {}: every platform's windows in the {days} days are used (or closer than {} h to its previous post)",
                post + 1,
                cfg.min_gap_hours
            ));
        }
    }
    plan.slots.sort_by_key(|s| (s.at, s.platform));
    Ok(plan)
}

impl PostingPlan {
    pub fn to_markdown(&self) -> String {
        let mut md = format!("# Posting calendar\n\n{} of {} posts scheduled (audience-local time).\n\n", self.slots.len(), self.requested);
        md.push_str("| Date | Day | Time | Platform |\n|---|---|---|---|\n");
        for s in &self.slots {
            md.push_str(&format!(
                "| {} | {} | {}–{} | {} |\n",
                s.at.date(),
                s.weekday,
                s.at.time().format("%H:%M"),
                s.window_end.format("%H:%M"),
                s.platform.name()
            ));
        }
        if !self.unplaced.is_empty() {
            md.push_str("\n## Not scheduled\n\n");
            for u in &self.unplaced {
                md.push_str(&format!("- {u}\n"));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests;
