//! Platform engagement norms by follower tier, and the suspicious-follower flags.

use super::{Candidate, Flag, SuspicionThresholds};
use crate::skills::csv_input::Severity;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Instagram,
    TikTok,
    YouTube,
    LinkedIn,
    X,
    Facebook,
    Other,
}

impl Platform {
    pub fn parse(raw: &str) -> Platform {
        let key: String = raw.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
        match key.as_str() {
            "instagram" | "ig" | "insta" => Platform::Instagram,
            "tiktok" | "tt" => Platform::TikTok,
            "youtube" | "yt" | "youtubeshorts" => Platform::YouTube,
            "linkedin" | "li" => Platform::LinkedIn,
            "x" | "twitter" | "xtwitter" => Platform::X,
            "facebook" | "fb" => Platform::Facebook,
            _ => Platform::Other,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Platform::Instagram => "Instagram",
            Platform::TikTok => "TikTok",
            Platform::YouTube => "YouTube",
            Platform::LinkedIn => "LinkedIn",
            Platform::X => "X",
            Platform::Facebook => "Facebook",
            Platform::Other => "other platform",
        }
    }
}

/// Follower tiers as the industry names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Under 10k.
    Nano,
    /// 10k to 100k.
    Micro,
    /// 100k to 500k.
    Mid,
    /// 500k to 1M.
    Macro,
    /// 1M and more.
    Mega,
}

impl Tier {
    pub fn of(followers: u64) -> Tier {
        match followers {
            0..10_000 => Tier::Nano,
            10_000..100_000 => Tier::Micro,
            100_000..500_000 => Tier::Mid,
            500_000..1_000_000 => Tier::Macro,
            _ => Tier::Mega,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Nano => "nano (<10k)",
            Tier::Micro => "micro (10k-100k)",
            Tier::Mid => "mid (100k-500k)",
            Tier::Macro => "macro (500k-1M)",
            Tier::Mega => "mega (1M+)",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Typical engagement rate in percent ((likes + comments) per post / followers) by platform and
/// tier: rounded figures in the range of published industry benchmarks. Engagement falls as
/// audiences grow, and TikTok runs far higher than X. Unknown platforms use Instagram's.
pub fn platform_norm(platform: Platform, tier: Tier) -> f64 {
    let row: [f64; 5] = match platform {
        Platform::Instagram | Platform::Other => [3.5, 2.0, 1.5, 1.2, 1.0],
        Platform::TikTok => [8.0, 6.5, 5.5, 5.0, 4.5],
        Platform::YouTube => [3.0, 2.0, 1.5, 1.2, 1.0],
        Platform::LinkedIn => [3.0, 2.0, 1.5, 1.0, 0.8],
        Platform::X => [1.0, 0.6, 0.4, 0.3, 0.2],
        Platform::Facebook => [1.5, 0.8, 0.5, 0.3, 0.2],
    };
    row.get(tier.index()).copied().unwrap_or(1.0)
}

pub(super) fn flags(c: &Candidate, er: f64, norm: f64, t: &SuspicionThresholds) -> Vec<Flag> {
    let mut out = Vec::new();
    let mut flag = |code, severity, detail: String| out.push(Flag { code, severity, detail });
    let ratio = er / norm;
    if ratio < t.implausible_engagement_ratio {
        flag(
            "implausible-engagement",
            Severity::Error,
            format!(
                "{er:.2}% engagement is {:.0}% of the {norm:.1}% norm: {} followers but {:.0} likes per post; most followers are likely inactive or bought",
                ratio * 100.0,
                c.followers,
                c.avg_likes
            ),
        );
    } else if ratio < t.low_engagement_ratio {
        flag(
            "low-engagement",
            Severity::Warning,
            format!("{er:.2}% engagement is {:.0}% of the {norm:.1}% norm for the tier", ratio * 100.0),
        );
    } else if ratio > t.spike_engagement_ratio {
        flag(
            "engagement-spike",
            Severity::Info,
            format!("{er:.2}% engagement is {ratio:.1} × the norm; check for engagement pods or giveaway posts"),
        );
    }
    if let Some(following) = c.following.filter(|_| c.followers >= t.following_min_followers) {
        let fr = following as f64 / c.followers as f64;
        if fr > t.following_ratio {
            let severity = if fr > 2.0 * t.following_ratio { Severity::Error } else { Severity::Warning };
            flag(
                "high-following-ratio",
                severity,
                format!("follows {following} accounts for {} followers ({fr:.2}); typical of follow-for-follow growth", c.followers),
            );
        }
    }
    if c.avg_likes >= 500.0 && c.avg_comments / c.avg_likes < t.min_comment_like_ratio {
        flag(
            "few-comments",
            Severity::Warning,
            format!(
                "{:.0} likes but {:.0} comments per post ({:.2}%); likes may be bought",
                c.avg_likes,
                c.avg_comments,
                c.avg_comments / c.avg_likes * 100.0
            ),
        );
    }
    if let Some(jump) = c.history.as_deref().and_then(|h| round_jump(h, t.jump_multiple)) {
        flag("follower-jump", Severity::Error, jump);
    }
    out
}

/// A month-over-month gain in round thousands, `multiple` times the median monthly change or more.
fn round_jump(history: &[f64], multiple: f64) -> Option<String> {
    let changes: Vec<f64> = history.windows(2).filter_map(|w| Some(w.get(1)? - w.first()?)).collect();
    if changes.len() < 2 {
        return None;
    }
    for (i, &gain) in changes.iter().enumerate() {
        let mut others: Vec<f64> = changes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c.abs()).collect();
        others.sort_by(f64::total_cmp);
        let median = others.get(others.len() / 2).copied().unwrap_or(0.0).max(1.0);
        let round = gain >= 1000.0 && (gain % 1000.0) == 0.0;
        if round && gain >= multiple * median {
            return Some(format!(
                "followers rose by exactly {gain:.0} between points {} and {} of the history, {:.0} × the typical monthly change of {median:.0}",
                i + 1,
                i + 2,
                gain / median
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_norms() {
        assert_eq!(Tier::of(9_999), Tier::Nano);
        assert_eq!(Tier::of(10_000), Tier::Micro);
        assert_eq!(Tier::of(750_000), Tier::Macro);
        assert_eq!(Tier::of(3_000_000), Tier::Mega);
        assert_eq!(platform_norm(Platform::TikTok, Tier::Micro), 6.5);
        assert_eq!(platform_norm(Platform::Other, Tier::Nano), platform_norm(Platform::Instagram, Tier::Nano));
        assert_eq!(Platform::parse("Instagram "), Platform::Instagram);
        assert_eq!(Platform::parse("X (Twitter)"), Platform::X);
        assert_eq!(Platform::parse("Snapchat"), Platform::Other);
    }

    #[test]
    fn round_jumps_stand_out_from_organic_growth() {
        let organic = [41_200.0, 42_050.0, 42_900.0, 43_810.0, 44_700.0];
        assert_eq!(round_jump(&organic, 3.0), None);
        let bought = [41_200.0, 42_050.0, 52_050.0, 52_900.0, 53_760.0];
        let msg = round_jump(&bought, 3.0).unwrap();
        assert!(msg.contains("exactly 10000 between points 2 and 3"), "{msg}");
        // A big but organic-looking (not round) jump is not flagged by this rule.
        assert_eq!(round_jump(&[1000.0, 1100.0, 9437.0, 9530.0], 3.0), None);
        assert_eq!(round_jump(&[1000.0, 6000.0], 3.0), None, "needs at least two changes");
    }
}
