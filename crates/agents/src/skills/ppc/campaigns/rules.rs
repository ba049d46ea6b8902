//! Budget pacing and the bid rules (documented in the parent module).

use super::{BidAction, BidRecommendation, CampaignMetrics, MetricRow, PaceStatus, Pacing, PacingOptions, ratio};
use crate::skills::csv_input::Severity;
use crate::skills::ppc::money;

/// The campaign's budget from its latest row that states one.
fn budget(rows: &[&MetricRow], days_in_month: u32) -> Option<(f64, String)> {
    let latest =
        |f: fn(&MetricRow) -> Option<f64>| rows.iter().filter(|r| f(r).is_some()).max_by_key(|r| (r.date, r.line)).and_then(|r| f(r));
    if let Some(m) = latest(|r| r.monthly_budget).filter(|m| *m > 0.0) {
        return Some((m, "monthly_budget".into()));
    }
    latest(|r| r.daily_budget)
        .filter(|d| *d > 0.0)
        .map(|d| (d * f64::from(days_in_month), format!("daily_budget {} × {days_in_month} days", money(d))))
}

pub(super) fn pace(campaign: &str, rows: &[&MetricRow], elapsed: u32, dim: u32, opts: &PacingOptions) -> Pacing {
    let spend: f64 = rows.iter().map(|r| r.cost).sum();
    let projected = spend / f64::from(elapsed.max(1)) * f64::from(dim);
    let remaining_days = dim.saturating_sub(elapsed);
    let mut p = Pacing {
        campaign: campaign.to_string(),
        monthly_budget: None,
        budget_source: String::new(),
        spend_to_date: spend,
        expected_to_date: None,
        pace_percent: None,
        projected_month_spend: projected,
        status: PaceStatus::NoBudget,
        severity: Severity::Info,
        recommended_daily_budget: None,
        message: "no daily_budget or monthly_budget given: pacing not checked".into(),
        fix: "add a daily_budget or monthly_budget column to the export".into(),
    };
    let Some((budget, source)) = budget(rows, dim) else { return p };
    let expected = budget * f64::from(elapsed) / f64::from(dim);
    let pace_percent = ratio(spend * 100.0, expected);
    let recommended = (remaining_days > 0).then(|| (budget - spend).max(0.0) / f64::from(remaining_days));
    let deviation = pace_percent.map_or(0.0, |pp| pp - 100.0);
    let tol = opts.pace_tolerance_percent;
    let (status, severity, message, fix) = if spend > budget {
        (
            PaceStatus::Overspent,
            Severity::Error,
            format!(
                "spent {} of a {} monthly budget ({:.0}%) with {remaining_days} day(s) left",
                money(spend),
                money(budget),
                spend / budget * 100.0
            ),
            "pause or cap the campaign for the rest of the month; check for a budget change or overdelivery".to_string(),
        )
    } else if deviation > tol {
        (
            PaceStatus::OverPace,
            if deviation > 2.0 * tol { Severity::Error } else { Severity::Warning },
            format!(
                "spent {} vs {} expected by day {elapsed} ({:.0}% of pace); projected {} against a {} budget",
                money(spend),
                money(expected),
                100.0 + deviation,
                money(projected),
                money(budget)
            ),
            recommended.map_or("the month is over; review the budget for next month".into(), |d| {
                format!("lower the daily budget to {} for the remaining {remaining_days} day(s)", money(d))
            }),
        )
    } else if deviation < -tol {
        (
            PaceStatus::UnderPace,
            if deviation < -2.0 * tol { Severity::Error } else { Severity::Warning },
            format!(
                "spent {} vs {} expected by day {elapsed} ({:.0}% of pace); projected {} leaves {} of a {} budget unspent",
                money(spend),
                money(expected),
                100.0 + deviation,
                money(projected),
                money((budget - projected).max(0.0)),
                money(budget)
            ),
            recommended.map_or("the month is over; review the budget for next month".into(), |d| {
                format!(
                    "it averages {} a day and would need {} a day for the remaining {remaining_days} day(s): the budget is not the limit, so raise bids or widen targeting, or move the projected {} surplus to a campaign that is capped",
                    money(spend / f64::from(elapsed.max(1))),
                    money(d),
                    money((budget - projected).max(0.0))
                )
            }),
        )
    } else {
        (
            PaceStatus::OnPace,
            Severity::Info,
            format!("spent {} vs {} expected ({:.0}% of pace)", money(spend), money(expected), 100.0 + deviation),
            "no change needed".to_string(),
        )
    };
    p.monthly_budget = Some(budget);
    p.budget_source = source;
    p.expected_to_date = Some(expected);
    p.pace_percent = pace_percent;
    p.status = status;
    p.severity = severity;
    p.recommended_daily_budget = recommended;
    p.message = message;
    p.fix = fix;
    p
}

pub(super) fn recommend(c: &CampaignMetrics, p: &Pacing, target: Option<f64>, o: &PacingOptions) -> BidRecommendation {
    let rec = |action, change: Option<f64>, rule, reason: String| BidRecommendation {
        campaign: c.campaign.clone(),
        action,
        change_percent: change,
        rule,
        reason,
    };
    let lower = Some(-o.lower_step_percent);
    if let Some(t) = target
        && c.conversions == 0.0
        && c.cost >= o.pause_cpa_multiple * t
    {
        let why = format!(
            "{} spent with no conversion, at least {} × the {} target CPA ({})",
            money(c.cost),
            o.pause_cpa_multiple,
            money(t),
            money(o.pause_cpa_multiple * t)
        );
        return rec(BidAction::Pause, None, "no-conversions", format!("Pause: {why}."));
    }
    if c.clicks < o.min_clicks as f64 {
        return rec(
            BidAction::Hold,
            None,
            "low-data",
            format!("Hold: {} clicks, fewer than the {} needed to judge bids.", c.clicks, o.min_clicks),
        );
    }
    if let (Some(t), Some(cpa)) = (target, c.cpa) {
        let multiple = cpa / t;
        if multiple > o.pause_cpa_multiple {
            let why = format!("CPA {} is {multiple:.1} × the {} target (pause above {} ×)", money(cpa), money(t), o.pause_cpa_multiple);
            return rec(BidAction::Pause, None, "cpa-pause", format!("Pause: {why}."));
        }
        if multiple > o.lower_cpa_multiple {
            let why = format!("CPA {} is {multiple:.1} × the {} target (lower above {} ×)", money(cpa), money(t), o.lower_cpa_multiple);
            return rec(BidAction::Lower, lower, "cpa-high", format!("Lower bids {}%: {why}.", o.lower_step_percent));
        }
    }
    if let Some(ctr) = c.ctr_percent.filter(|ctr| *ctr < o.min_ctr_percent) {
        let why = format!("CTR {ctr:.2}% is below {:.2}%; review keywords, negatives and ad relevance", o.min_ctr_percent);
        return rec(BidAction::Lower, lower, "ctr-low", format!("Lower bids {}%: {why}.", o.lower_step_percent));
    }
    if let (Some(t), Some(cpa), Some(cr)) = (target, c.cpa, c.conversion_rate_percent)
        && cpa < t
        && cr >= o.good_conversion_rate_percent
    {
        let efficiency = format!(
            "CPA {} is {:.0}% below the {} target and conversion rate {cr:.1}% ≥ {:.1}%",
            money(cpa),
            (1.0 - cpa / t) * 100.0,
            money(t),
            o.good_conversion_rate_percent
        );
        let room_limit = 100.0 - o.headroom_percent;
        return match p.monthly_budget {
            Some(b) if p.projected_month_spend / b * 100.0 > room_limit => {
                let why = format!(
                    "{efficiency}, but projected spend {} is {:.0}% of the {} budget (raise only under {room_limit:.0}%)",
                    money(p.projected_month_spend),
                    p.projected_month_spend / b * 100.0,
                    money(b)
                );
                rec(BidAction::Hold, None, "budget-limited", format!("Hold bids, raise the budget instead: {why}."))
            }
            Some(b) => {
                let why = format!(
                    "{efficiency}; projected spend {} is {:.0}% of the {} budget (raise only under {room_limit:.0}%)",
                    money(p.projected_month_spend),
                    p.projected_month_spend / b * 100.0,
                    money(b)
                );
                rec(BidAction::Raise, Some(o.raise_step_percent), "efficient", format!("Raise bids {}%: {why}.", o.raise_step_percent))
            }
            None => rec(
                BidAction::Raise,
                Some(o.raise_step_percent),
                "efficient",
                format!("Raise bids {}%: {efficiency}; no budget given, so check there is room.", o.raise_step_percent),
            ),
        };
    }
    let cpa = c.cpa.map_or("no conversions".to_string(), |v| format!("CPA {}", money(v)));
    let target_text = target.map_or("no target".to_string(), |t| format!("target {}", money(t)));
    let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}%"));
    rec(
        BidAction::Hold,
        None,
        "on-target",
        format!(
            "Hold: {cpa} ({target_text}), CTR {}, conversion rate {}: no rule calls for a change.",
            pct(c.ctr_percent),
            pct(c.conversion_rate_percent)
        ),
    )
}
