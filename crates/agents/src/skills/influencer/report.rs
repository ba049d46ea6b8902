//! The influencer ranking as a Markdown deliverable.

use super::InfluencerReport;
use crate::skills::csv_input::{md_cell, rejected_markdown, thousands};

impl InfluencerReport {
    pub fn to_markdown(&self) -> String {
        let recommended = self.ranked.iter().filter(|r| r.recommended).count();
        let flagged = self.ranked.iter().filter(|r| !r.flags.is_empty()).count();
        let suspicious = self.ranked.iter().filter(|r| r.suspicious).count();
        let mut md = String::from("# Influencer shortlist\n\n");
        let mut brief = Vec::new();
        if !self.brief.target_countries.is_empty() {
            brief.push(format!("countries {}", self.brief.target_countries.join(", ")));
        }
        if let Some(age) = &self.brief.age_band {
            brief.push(format!("age {age}"));
        }
        if !self.brief.topics.is_empty() {
            brief.push(format!("topics {}", self.brief.topics.join(", ")));
        }
        if !self.brief.platforms.is_empty() {
            brief.push(format!("platforms {}", self.brief.platforms.join(", ")));
        }
        md.push_str(&format!(
            "Brief: {}.\n\n{} candidates ranked, {recommended} recommended, {flagged} with suspicious-follower flags ({suspicious} suspicious), {} excluded by the brief.\n\n",
            if brief.is_empty() { "no audience criteria".to_string() } else { brief.join("; ") },
            self.ranked.len(),
            self.excluded.len()
        ));
        md.push_str("| # | Handle | Platform | Followers | Engagement (norm) | Fit | Suspicion | Score | Recommended |\n|---|---|---|---|---|---|---|---|---|\n");
        for r in &self.ranked {
            md.push_str(&format!(
                "| {} | @{} | {} | {} | {:.2}% ({:.1}%) | {:.0} | {:.0} | {:.0} | {} |\n",
                r.rank,
                md_cell(&r.handle),
                r.platform.label(),
                thousands(r.followers.try_into().unwrap_or(i64::MAX)),
                r.engagement_rate_percent,
                r.platform_norm_percent,
                r.fit_score,
                r.suspicion_score,
                r.score,
                if r.recommended {
                    "yes"
                } else if r.suspicious {
                    "**no: suspicious**"
                } else {
                    "no: low fit"
                }
            ));
        }
        md.push_str("\n## Why\n\n");
        for r in &self.ranked {
            md.push_str(&format!("**{}. @{}** (line {})\n", r.rank, r.handle, r.line));
            for reason in &r.reasons {
                md.push_str(&format!("- {reason}\n"));
            }
            for f in &r.flags {
                md.push_str(&format!("- ⚑ {} `{}`: {}\n", f.severity.label(), f.code, f.detail));
            }
            md.push('\n');
        }
        if !self.excluded.is_empty() {
            md.push_str("## Excluded by the brief\n\n| Line | Handle | Why |\n|---|---|---|\n");
            for e in &self.excluded {
                md.push_str(&format!("| {} | @{} | {} |\n", e.line, md_cell(&e.handle), md_cell(&e.reason)));
            }
        }
        md.push_str(&rejected_markdown(&self.rejected));
        md
    }
}
