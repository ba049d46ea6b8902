//! The campaign report as a Markdown deliverable.

use super::super::money;
use super::{BidAction, CampaignReport, PaceStatus};
use crate::skills::csv_input::{md_cell, rejected_markdown, thousands};

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}%"))
}

/// Whole counts with separators; fractional ones (modelled conversions) with one decimal.
fn count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { thousands(v as i64) } else { format!("{v:.1}") }
}

fn cash(v: Option<f64>) -> String {
    v.map_or("–".into(), money)
}

impl CampaignReport {
    pub fn to_markdown(&self) -> String {
        let t = &self.totals;
        let mut md = format!(
            "# PPC campaign report: {} (through {}, day {} of {})\n\n",
            self.through.format("%B %Y"),
            self.through,
            self.days_elapsed,
            self.days_in_month
        );
        let actions = |a| self.recommendations.iter().filter(|r| r.action == a).count();
        let off_pace =
            self.pacing.iter().filter(|p| matches!(p.status, PaceStatus::OverPace | PaceStatus::UnderPace | PaceStatus::Overspent)).count();
        md.push_str(&format!(
            "{} campaigns, {} spent, {} conversions (CPA {}, CTR {}). Target CPA: {} ({}).\n\n\
             **Actions:** raise bids on {}, lower on {}, pause {}, hold {}; {} campaign(s) off budget pace.\n",
            self.campaigns.len(),
            money(t.cost),
            count(t.conversions),
            cash(t.cpa),
            pct(t.ctr_percent),
            cash(self.target_cpa),
            self.target_cpa_source,
            actions(BidAction::Raise),
            actions(BidAction::Lower),
            actions(BidAction::Pause),
            actions(BidAction::Hold),
            off_pace
        ));
        for n in &self.notes {
            md.push_str(&format!("\n> {n}\n"));
        }

        md.push_str("\n## Bid recommendations\n\n| Campaign | Action | Change | Rule | Why |\n|---|---|---|---|---|\n");
        for r in &self.recommendations {
            md.push_str(&format!(
                "| {} | {:?} | {} | `{}` | {} |\n",
                md_cell(&r.campaign),
                r.action,
                r.change_percent.map_or("–".into(), |c| format!("{c:+.0}%")),
                r.rule,
                md_cell(&r.reason)
            ));
        }

        md.push_str("\n## Budget pacing\n\n| Campaign | Budget | Spent | Expected | Pace | Projected | Status | Fix |\n|---|---|---|---|---|---|---|---|\n");
        for p in &self.pacing {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} ({}) | {} |\n",
                md_cell(&p.campaign),
                cash(p.monthly_budget),
                money(p.spend_to_date),
                cash(p.expected_to_date),
                p.pace_percent.map_or("–".into(), |v| format!("{v:.0}%")),
                money(p.projected_month_spend),
                p.status.label(),
                p.severity.label(),
                md_cell(&p.fix)
            ));
        }

        md.push_str("\n## Campaign metrics\n\n| Campaign | Impr. | Clicks | CTR | CPC | Cost | Conv. | Conv. rate | CPA | ROAS |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for c in self.campaigns.iter().chain(std::iter::once(t)) {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                md_cell(&c.campaign),
                count(c.impressions),
                count(c.clicks),
                pct(c.ctr_percent),
                cash(c.cpc),
                money(c.cost),
                count(c.conversions),
                pct(c.conversion_rate_percent),
                cash(c.cpa),
                c.roas.map_or("–".into(), |r| format!("{r:.2}")),
            ));
        }
        md.push_str(&rejected_markdown(&self.rejected));
        md
    }
}
