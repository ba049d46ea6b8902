//! Customer Success: account health score, churn-risk reasons and a QBR summary.
//!
//! The score (0..=100) is a weighted sum of components, each scoring a share 0..=1 of its weight
//! (`HealthWeights`, default weights in brackets):
//!
//! | Component | Share |
//! |---|---|
//! | seat utilisation [25] | active users / seats, over the target (default 0.8), capped at 1 |
//! | login activity [15] | logins per seat in 30 days over the target (default 8) |
//! | feature adoption [20] | mean adoption (0..=1 per feature) over the target (default 0.6); no data = 0.5 |
//! | support load [10] | 1 up to `tickets_per_seat_ok` (0.1) tickets per seat in 30 days, 0 at `tickets_per_seat_bad` (0.5), linear between |
//! | reliability [10] | 1 − P1 tickets in 90 days / 2 (floor 0) |
//! | NPS [10] | (NPS + 100) / 200; no survey = 0.5 |
//! | billing [10] | 1 − days the oldest invoice is overdue / 60 (floor 0) |
//!
//! Weights are normalised to sum to 100. Bands: healthy at 70 and above, at risk from 40,
//! critical below 40. Renewal timing is not scored; a renewal within `renewal_window_days` (90)
//! of a score below healthy, or a lapsed renewal, is a churn reason.

use crate::skills::SkillError;
use crate::skills::content::text::md_cell;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageSignals {
    /// The day the signals were taken (labels the QBR history).
    pub as_of: Option<NaiveDate>,
    pub logins_last_30d: u32,
    pub active_users: u32,
    pub seats: u32,
    /// Feature name → share of seats using it (0..=1).
    pub feature_adoption: BTreeMap<String, f64>,
    pub support_tickets_30d: u32,
    pub p1_tickets_90d: u32,
    /// Account NPS, −100..=100.
    pub nps: Option<i32>,
    /// Negative when the renewal date has passed.
    pub days_to_renewal: i64,
    pub invoice_overdue_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthWeights {
    pub seat_utilisation: f64,
    pub login_activity: f64,
    pub feature_adoption: f64,
    pub support_load: f64,
    pub reliability: f64,
    pub nps: f64,
    pub billing: f64,
}

impl Default for HealthWeights {
    fn default() -> Self {
        Self {
            seat_utilisation: 25.0,
            login_activity: 15.0,
            feature_adoption: 20.0,
            support_load: 10.0,
            reliability: 10.0,
            nps: 10.0,
            billing: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthOptions {
    pub weights: HealthWeights,
    pub seat_utilisation_target: f64,
    pub logins_per_seat_target: f64,
    pub adoption_target: f64,
    pub tickets_per_seat_ok: f64,
    pub tickets_per_seat_bad: f64,
    /// Features below this adoption are named as churn reasons (default 0.2).
    pub low_adoption: f64,
    pub healthy_min: f64,
    pub critical_below: f64,
    pub renewal_window_days: i64,
}

impl Default for HealthOptions {
    fn default() -> Self {
        Self {
            weights: HealthWeights::default(),
            seat_utilisation_target: 0.8,
            logins_per_seat_target: 8.0,
            adoption_target: 0.6,
            tickets_per_seat_ok: 0.1,
            tickets_per_seat_bad: 0.5,
            low_adoption: 0.2,
            healthy_min: 70.0,
            critical_below: 40.0,
            renewal_window_days: 90,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthBand {
    Healthy,
    AtRisk,
    Critical,
}

impl HealthBand {
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::AtRisk => "at risk",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub name: &'static str,
    /// Normalised weight (the most points it can give).
    pub weight: f64,
    pub points: f64,
    /// The measured value, e.g. "34 of 50 seats active (68%)".
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub as_of: Option<NaiveDate>,
    /// 0..=100, one decimal.
    pub score: f64,
    pub band: HealthBand,
    pub components: Vec<Component>,
    pub churn_reasons: Vec<String>,
    pub days_to_renewal: i64,
}

fn invalid(msg: String) -> SkillError {
    SkillError::Invalid(msg)
}

fn validate(s: &UsageSignals, o: &HealthOptions) -> Result<(), SkillError> {
    if s.seats == 0 {
        return Err(invalid("seats must be at least 1".into()));
    }
    for (name, v) in &s.feature_adoption {
        if !v.is_finite() || !(0.0..=1.0).contains(v) {
            return Err(invalid(format!("feature_adoption.{name} = {v} is not a share between 0 and 1")));
        }
    }
    if let Some(n) = s.nps
        && !(-100..=100).contains(&n)
    {
        return Err(invalid(format!("nps = {n} is outside -100..=100")));
    }
    let w = &o.weights;
    let weights = [w.seat_utilisation, w.login_activity, w.feature_adoption, w.support_load, w.reliability, w.nps, w.billing];
    if weights.iter().any(|x| !x.is_finite() || *x < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
        return Err(invalid("health weights must be non-negative and not all zero".into()));
    }
    let positive = [o.seat_utilisation_target, o.logins_per_seat_target, o.adoption_target];
    if positive.iter().any(|x| !x.is_finite() || *x <= 0.0) {
        return Err(invalid("targets must be positive".into()));
    }
    let (ok, bad) = (o.tickets_per_seat_ok, o.tickets_per_seat_bad);
    if !ok.is_finite() || !bad.is_finite() || ok < 0.0 || ok >= bad {
        return Err(invalid("tickets_per_seat_ok must be at least 0 and below tickets_per_seat_bad".into()));
    }
    if !o.critical_below.is_finite() || !o.healthy_min.is_finite() || o.critical_below > o.healthy_min {
        return Err(invalid("critical_below must not exceed healthy_min".into()));
    }
    Ok(())
}

/// Scores one account's health from its usage signals.
pub fn health_score(s: &UsageSignals, o: &HealthOptions) -> Result<Health, SkillError> {
    validate(s, o)?;
    let w = &o.weights;
    let total_w = w.seat_utilisation + w.login_activity + w.feature_adoption + w.support_load + w.reliability + w.nps + w.billing;
    let scale = 100.0 / total_w;
    let seats = f64::from(s.seats);
    let mut components = Vec::new();
    let mut reasons = Vec::new();
    let mut add = |name, weight: f64, share: f64, detail: String| {
        let weight = weight * scale;
        components.push(Component { name, weight: round1(weight), points: round1(weight * share.clamp(0.0, 1.0)), detail });
    };

    let util = f64::from(s.active_users) / seats;
    add(
        "seat utilisation",
        w.seat_utilisation,
        util / o.seat_utilisation_target,
        format!("{} of {} seats active ({:.0}%)", s.active_users, s.seats, util * 100.0),
    );
    if util < 0.5 {
        reasons.push(format!("only {} of {} seats are active ({:.0}%)", s.active_users, s.seats, util * 100.0));
    }

    let per_seat = f64::from(s.logins_last_30d) / seats;
    add("login activity", w.login_activity, per_seat / o.logins_per_seat_target, format!("{:.1} logins per seat in 30 days", per_seat));
    if per_seat < o.logins_per_seat_target / 4.0 {
        reasons.push(format!("low engagement: {per_seat:.1} logins per seat in 30 days"));
    }

    if s.feature_adoption.is_empty() {
        add("feature adoption", w.feature_adoption, 0.5, "no adoption data (scored as half)".into());
    } else {
        let mean = s.feature_adoption.values().sum::<f64>() / s.feature_adoption.len() as f64;
        add(
            "feature adoption",
            w.feature_adoption,
            mean / o.adoption_target,
            format!("mean adoption {:.0}% over {} features", mean * 100.0, s.feature_adoption.len()),
        );
        let low: Vec<String> =
            s.feature_adoption.iter().filter(|(_, v)| **v < o.low_adoption).map(|(k, v)| format!("{k} ({:.0}%)", v * 100.0)).collect();
        if !low.is_empty() {
            reasons.push(format!("low adoption of {}", low.join(", ")));
        }
    }

    let tps = f64::from(s.support_tickets_30d) / seats;
    let support_share = 1.0 - (tps - o.tickets_per_seat_ok) / (o.tickets_per_seat_bad - o.tickets_per_seat_ok);
    add("support load", w.support_load, support_share, format!("{} tickets in 30 days ({tps:.2} per seat)", s.support_tickets_30d));
    if tps > o.tickets_per_seat_ok {
        reasons.push(format!("heavy support load: {} tickets in 30 days", s.support_tickets_30d));
    }

    add("reliability", w.reliability, 1.0 - f64::from(s.p1_tickets_90d) / 2.0, format!("{} P1 tickets in 90 days", s.p1_tickets_90d));
    if s.p1_tickets_90d > 0 {
        reasons.push(format!("{} P1 incident(s) in the last 90 days", s.p1_tickets_90d));
    }

    match s.nps {
        Some(n) => {
            add("NPS", w.nps, f64::from(n + 100) / 200.0, format!("NPS {n}"));
            if n < 0 {
                reasons.push(format!("negative NPS ({n}): more detractors than promoters"));
            }
        }
        None => add("NPS", w.nps, 0.5, "no survey (scored as half)".into()),
    }

    add(
        "billing",
        w.billing,
        1.0 - f64::from(s.invoice_overdue_days) / 60.0,
        format!("oldest invoice {} days overdue", s.invoice_overdue_days),
    );
    if s.invoice_overdue_days > 0 {
        reasons.push(format!("invoice {} days overdue", s.invoice_overdue_days));
    }

    let score = round1(components.iter().map(|c| c.points).sum::<f64>().min(100.0));
    let band = if score >= o.healthy_min {
        HealthBand::Healthy
    } else if score >= o.critical_below {
        HealthBand::AtRisk
    } else {
        HealthBand::Critical
    };
    if s.days_to_renewal < 0 {
        reasons.push(format!("renewal date passed {} days ago", -s.days_to_renewal));
    } else if s.days_to_renewal <= o.renewal_window_days && band != HealthBand::Healthy {
        reasons.push(format!("renewal in {} days with the account {}", s.days_to_renewal, band.label()));
    }
    Ok(Health { as_of: s.as_of, score, band, components, churn_reasons: reasons, days_to_renewal: s.days_to_renewal })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What to do about a weak component, for the QBR's next steps.
fn action(component: &str) -> &'static str {
    match component {
        "seat utilisation" => "Run an activation campaign for the inactive seats, or right-size the seat count before renewal.",
        "login activity" => "Set up a weekly digest and a champion-led check-in to build a habit of use.",
        "feature adoption" => "Offer a 30-minute enablement session on the least-used features.",
        "support load" => "Review the ticket themes with support and fix the top recurring cause.",
        "reliability" => "Share the P1 post-mortems and the prevention plan with the sponsor.",
        "NPS" => "Call the detractors; close the loop on their top complaint.",
        "billing" => "Loop in finance to resolve the overdue invoice before the renewal talk.",
        _ => "Review with the account team.",
    }
}

/// A Markdown QBR summary from the account's health history (oldest first) and highlights.
pub fn qbr_summary(account: &str, history: &[Health], highlights: &[String]) -> String {
    let account = md_cell(account.trim());
    let mut md = format!("# Quarterly business review: {account}\n\n");
    let Some(latest) = history.last() else {
        md.push_str("No health data for this period yet: connect usage data to score the account.\n");
        push_highlights(&mut md, highlights);
        return md;
    };
    let label = |h: &Health, i: usize| h.as_of.map_or_else(|| format!("period {}", i + 1), |d| d.to_string());
    md.push_str(&format!("## Health\n\n**{:.1}/100 — {}** ({}).", latest.score, latest.band.label(), label(latest, history.len() - 1)));
    if history.len() > 1 {
        let first = &history[0];
        let prev = &history[history.len() - 2];
        if history.len() > 2 {
            md.push_str(&format!(" {:+.1} since {} ({:.1}), and", latest.score - prev.score, label(prev, history.len() - 2), prev.score));
        }
        md.push_str(&format!(
            " {:+.1} since {} ({:.1}, {}).",
            latest.score - first.score,
            label(first, 0),
            first.score,
            first.band.label()
        ));
        md.push_str("\n\n| Period | Score | Band |\n|---|---|---|\n");
        for (i, h) in history.iter().enumerate() {
            md.push_str(&format!("| {} | {:.1} | {} |\n", label(h, i), h.score, h.band.label()));
        }
    } else {
        md.push('\n');
    }
    md.push_str("\n## Scorecard\n\n| Component | Points | Of | Detail |\n|---|---|---|---|\n");
    for c in &latest.components {
        md.push_str(&format!("| {} | {:.1} | {:.1} | {} |\n", c.name, c.points, c.weight, md_cell(&c.detail)));
    }
    push_highlights(&mut md, highlights);
    md.push_str("\n## Risks\n\n");
    if latest.churn_reasons.is_empty() {
        md.push_str("No churn signals.\n");
    } else {
        for r in &latest.churn_reasons {
            md.push_str(&format!("- {}\n", md_cell(r)));
        }
    }
    // The components furthest below their weight, worst first.
    let mut weak: Vec<&Component> = latest.components.iter().filter(|c| c.weight > 0.0 && c.points / c.weight < 0.7).collect();
    weak.sort_by(|a, b| (a.points / a.weight).total_cmp(&(b.points / b.weight)));
    md.push_str("\n## Next steps\n\n");
    if weak.is_empty() {
        md.push_str("- Keep the cadence; discuss expansion and a case study.\n");
    }
    for c in weak.into_iter().take(3) {
        md.push_str(&format!("- **{}** ({:.1}/{:.1}): {}\n", c.name, c.points, c.weight, action(c.name)));
    }
    if latest.days_to_renewal >= 0 {
        md.push_str(&format!("\nRenewal in {} days.\n", latest.days_to_renewal));
    }
    md
}

fn push_highlights(md: &mut String, highlights: &[String]) {
    let items: Vec<&String> = highlights.iter().filter(|h| !h.trim().is_empty()).collect();
    if items.is_empty() {
        return;
    }
    md.push_str("\n## Highlights\n\n");
    for h in items {
        md.push_str(&format!("- {}\n", md_cell(h.trim())));
    }
}

#[cfg(test)]
mod tests;
