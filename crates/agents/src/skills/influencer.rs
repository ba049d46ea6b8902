//! Influencer Marketing: rank creator candidates from a CSV by engagement rate, audience fit to a
//! campaign brief, and suspicious-follower heuristics.
//!
//! Scores (0-100):
//! - engagement: engagement rate (avg likes + avg comments) / followers against the platform's
//!   norm for the follower tier ([`heuristics::platform_norm`]); 1.5 × the norm or more = 100.
//! - fit: weighted audience match to the brief: countries 40, age band 30, topics 30. A criterion
//!   the brief leaves empty is left out; one the brief sets but the CSV lacks scores half.
//! - suspicion: 40 per high flag, 20 per warning, 5 per note, capped at 100.
//! - overall = 0.4 × engagement + 0.6 × fit − suspicion / 2, clamped to 0-100.
//!
//! A candidate with a high flag (or suspicion ≥ 40) is suspicious; one that is not suspicious and
//! fits at least `min_fit` is recommended. Order: recommended, then the other clean candidates,
//! then the suspicious ones, each by overall score.

mod fit;
mod heuristics;
mod report;

use super::SkillError;
use super::csv_input::{CellError, Column, RejectedRow, RowRef, Severity, TableSpec, parse_number, read_table};
use serde::{Deserialize, Serialize};

pub use heuristics::{Platform, Tier, platform_norm};

const REQUIRED: &[Column] = &[
    Column::new("handle", &["username", "account", "creator", "influencer", "channel name"]),
    Column::new("platform", &["network", "social network", "channel"]),
    Column::new("followers", &["follower count", "followers count", "subscribers", "audience size"]),
    Column::new("avg_likes", &["average likes", "likes per post", "avg likes per post", "likes avg"]),
    Column::new("avg_comments", &["average comments", "comments per post", "avg comments per post", "comments avg"]),
];
const OPTIONAL: &[Column] = &[
    Column::new("audience_country", &["audience countries", "top country", "top countries", "audience location", "country"]),
    Column::new("audience_age", &["audience age range", "top age group", "age", "age range"]),
    Column::new("niche", &["topics", "topic", "categories", "category"]),
    Column::new("following", &["follows", "following count"]),
    Column::new("posts", &["post count", "media count", "videos"]),
    Column::new("follower_history", &["followers history", "monthly followers", "follower growth"]),
];

/// What the campaign wants, plus the suspicion thresholds. Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignBrief {
    /// Audience countries (ISO codes or names) [none: not scored].
    pub target_countries: Vec<String>,
    /// Audience age band, `25-34` or `35+` [none: not scored].
    pub age_band: Option<String>,
    /// Topics the creator should cover [none: not scored].
    pub topics: Vec<String>,
    /// Platforms to consider [all].
    pub platforms: Vec<String>,
    pub min_followers: Option<u64>,
    pub max_followers: Option<u64>,
    /// Audience fit (0-100) needed to recommend a candidate [50].
    pub min_fit: f64,
    pub thresholds: SuspicionThresholds,
    /// Upload limit in bytes [10 MiB].
    pub max_bytes: usize,
}

impl Default for CampaignBrief {
    fn default() -> Self {
        Self {
            target_countries: Vec::new(),
            age_band: None,
            topics: Vec::new(),
            platforms: Vec::new(),
            min_followers: None,
            max_followers: None,
            min_fit: 50.0,
            thresholds: SuspicionThresholds::default(),
            max_bytes: super::csv_input::DEFAULT_MAX_BYTES,
        }
    }
}

/// When a candidate's numbers look bought. Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuspicionThresholds {
    /// Engagement below this fraction of the platform norm: warning [0.25].
    pub low_engagement_ratio: f64,
    /// Engagement below this fraction of the norm: implausible for a real audience, high [0.10].
    pub implausible_engagement_ratio: f64,
    /// Engagement above this multiple of the norm: note (pods, giveaways) [4.0].
    pub spike_engagement_ratio: f64,
    /// following / followers above this: warning; above twice this: high [0.5].
    pub following_ratio: f64,
    /// Following-ratio checks apply from this many followers [5000].
    pub following_min_followers: u64,
    /// comments / likes below this fraction (with at least 500 likes): warning [0.005].
    pub min_comment_like_ratio: f64,
    /// A monthly follower jump this many times the median month, in round thousands: high [3.0].
    pub jump_multiple: f64,
}

impl Default for SuspicionThresholds {
    fn default() -> Self {
        Self {
            low_engagement_ratio: 0.25,
            implausible_engagement_ratio: 0.10,
            spike_engagement_ratio: 4.0,
            following_ratio: 0.5,
            following_min_followers: 5000,
            min_comment_like_ratio: 0.005,
            jump_multiple: 3.0,
        }
    }
}

/// A suspicious-follower signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// `implausible-engagement`, `low-engagement`, `engagement-spike`, `high-following-ratio`,
    /// `few-comments`, `follower-jump`.
    pub code: &'static str,
    pub severity: Severity,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedCandidate {
    pub rank: usize,
    pub line: usize,
    pub handle: String,
    pub platform: Platform,
    pub followers: u64,
    pub tier: Tier,
    pub engagement_rate_percent: f64,
    pub platform_norm_percent: f64,
    pub engagement_score: f64,
    pub fit_score: f64,
    pub suspicion_score: f64,
    pub score: f64,
    /// High flag or suspicion ≥ 40.
    pub suspicious: bool,
    /// Not suspicious and fit ≥ the brief's `min_fit`.
    pub recommended: bool,
    pub flags: Vec<Flag>,
    /// Why the candidate scored as it did, one line per component.
    pub reasons: Vec<String>,
}

/// A valid row the brief rules out (wrong platform, outside the follower range).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub line: usize,
    pub handle: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfluencerReport {
    pub ranked: Vec<RankedCandidate>,
    pub excluded: Vec<Excluded>,
    pub rejected: Vec<RejectedRow>,
    pub brief: CampaignBrief,
}

/// One parsed CSV row.
#[derive(Debug, Clone)]
struct Candidate {
    line: usize,
    handle: String,
    platform: Platform,
    followers: u64,
    avg_likes: f64,
    avg_comments: f64,
    countries: Option<String>,
    ages: Option<String>,
    niche: Option<String>,
    following: Option<u64>,
    history: Option<Vec<f64>>,
}

/// Ranks the candidates in `csv` for `brief`.
pub fn rank_candidates(csv: &[u8], brief: &CampaignBrief) -> Result<InfluencerReport, SkillError> {
    let spec = TableSpec::new(REQUIRED, OPTIONAL).with_max_bytes(brief.max_bytes);
    let mut table = read_table(csv, &spec)?;
    let candidates = table.parse_rows(parse_row);
    if candidates.is_empty() && table.rejected.is_empty() {
        return Err(SkillError::Invalid("the file has a header but no candidate rows".into()));
    }
    let wanted_platforms: Vec<Platform> = brief.platforms.iter().map(|p| Platform::parse(p)).collect();
    let brief_fit = fit::BriefFit::new(brief);
    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    for c in candidates {
        if let Some(reason) = exclusion(&c, &wanted_platforms, brief) {
            excluded.push(Excluded { line: c.line, handle: c.handle, reason });
            continue;
        }
        ranked.push(score(&c, &brief_fit, brief));
    }
    ranked.sort_by(|a, b| {
        b.recommended
            .cmp(&a.recommended)
            .then(a.suspicious.cmp(&b.suspicious))
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.handle.cmp(&b.handle))
    });
    for (i, r) in ranked.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(InfluencerReport { ranked, excluded, rejected: table.rejected, brief: brief.clone() })
}

fn parse_row(r: RowRef<'_>) -> Result<Candidate, CellError> {
    let count = |col: &str| -> Result<Option<f64>, CellError> {
        match r.get_f64(col)? {
            Some(v) if v < 0.0 => Err(r.error(col, &format!("{v} is negative"))),
            v => Ok(v),
        }
    };
    let followers = r.require_f64("followers")?;
    if followers < 1.0 {
        return Err(r.error("followers", "must be at least 1 to compute an engagement rate"));
    }
    let history = match r.get_str("follower_history") {
        None => None,
        Some(raw) => Some(parse_history(raw).ok_or_else(|| {
            r.error("follower_history", &format!("`{raw}` is not a list of follower counts (oldest first, separated by `|` or `;`)"))
        })?),
    };
    Ok(Candidate {
        line: r.line,
        handle: r.require_str("handle")?.trim_start_matches('@').to_string(),
        platform: Platform::parse(r.require_str("platform")?),
        followers: followers.round() as u64,
        avg_likes: count("avg_likes")?.ok_or_else(|| r.error("avg_likes", "empty value"))?,
        avg_comments: count("avg_comments")?.ok_or_else(|| r.error("avg_comments", "empty value"))?,
        countries: r.get_str("audience_country").map(str::to_string),
        ages: r.get_str("audience_age").map(str::to_string),
        niche: r.get_str("niche").map(str::to_string),
        following: count("following")?.map(|v| v.round() as u64),
        history,
    })
}

fn parse_history(raw: &str) -> Option<Vec<f64>> {
    let values: Option<Vec<f64>> = raw.split(['|', ';', '>', '→']).map(str::trim).filter(|s| !s.is_empty()).map(parse_number).collect();
    values.filter(|v| !v.is_empty())
}

fn exclusion(c: &Candidate, platforms: &[Platform], brief: &CampaignBrief) -> Option<String> {
    if !platforms.is_empty() && !platforms.contains(&c.platform) {
        let wanted: Vec<&str> = platforms.iter().map(Platform::label).collect();
        return Some(format!("on {}; the brief asks for {}", c.platform.label(), wanted.join(", ")));
    }
    if let Some(min) = brief.min_followers.filter(|m| c.followers < *m) {
        return Some(format!("{} followers, below the brief's minimum of {min}", c.followers));
    }
    if let Some(max) = brief.max_followers.filter(|m| c.followers > *m) {
        return Some(format!("{} followers, above the brief's maximum of {max}", c.followers));
    }
    None
}

fn score(c: &Candidate, fit: &fit::BriefFit, brief: &CampaignBrief) -> RankedCandidate {
    let followers = c.followers as f64;
    let er = (c.avg_likes + c.avg_comments) / followers * 100.0;
    let tier = Tier::of(c.followers);
    let norm = platform_norm(c.platform, tier);
    let engagement_score = (er / norm).min(1.5) / 1.5 * 100.0;
    let flags = heuristics::flags(c, er, norm, &brief.thresholds);
    let suspicion_score = flags
        .iter()
        .map(|f| match f.severity {
            Severity::Error => 40.0,
            Severity::Warning => 20.0,
            Severity::Info => 5.0,
        })
        .fold(0.0_f64, |a, b| a + b)
        .min(100.0);
    let (fit_score, mut reasons) = fit.score(c);
    reasons.insert(
        0,
        format!(
            "engagement {er:.2}% vs a {norm:.1}% norm for {} {} accounts → {engagement_score:.0}/100",
            tier.label(),
            c.platform.label()
        ),
    );
    let score = (0.4 * engagement_score + 0.6 * fit_score - suspicion_score / 2.0).clamp(0.0, 100.0);
    let suspicious = suspicion_score >= 40.0 || flags.iter().any(|f| f.severity == Severity::Error);
    let recommended = !suspicious && fit_score >= brief.min_fit;
    if suspicious {
        reasons.push(format!(
            "not recommended: suspicion {suspicion_score:.0}/100 ({})",
            flags.iter().map(|f| f.code).collect::<Vec<_>>().join(", ")
        ));
    } else if !recommended {
        reasons.push(format!("not recommended: audience fit {fit_score:.0} is below {:.0}", brief.min_fit));
    }
    RankedCandidate {
        rank: 0,
        line: c.line,
        handle: c.handle.clone(),
        platform: c.platform,
        followers: c.followers,
        tier,
        engagement_rate_percent: er,
        platform_norm_percent: norm,
        engagement_score,
        fit_score,
        suspicion_score,
        score,
        suspicious,
        recommended,
        flags,
        reasons,
    }
}

#[cfg(test)]
mod tests;
