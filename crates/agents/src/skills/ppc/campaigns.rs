//! Campaign metrics CSV -> per-campaign KPIs, monthly budget pacing and bid recommendations.
//!
//! Input: one row per campaign and day (or per campaign and period) with impressions, clicks,
//! cost, conversions, and optionally a date, a daily or monthly budget and conversion value.
//!
//! Pacing: the month paced is the month of the latest date in the file (without a date column:
//! the file is month-to-date through yesterday). Expected spend to date = monthly budget × days
//! elapsed / days in month; a campaign more than `pace_tolerance_percent` above or below is over
//! or under pace. A monthly budget comes from `monthly_budget`, else `daily_budget` × days in the
//! month.
//!
//! Bid rules, first match wins (numbers from [`PacingOptions`]):
//! 1. `no-conversions`: no conversion and cost ≥ `pause_cpa_multiple` × target CPA → pause.
//! 2. `low-data`: fewer than `min_clicks` clicks → hold.
//! 3. `cpa-pause`: CPA > `pause_cpa_multiple` × target → pause.
//! 4. `cpa-high`: CPA > `lower_cpa_multiple` × target → lower bids `lower_step_percent`.
//! 5. `ctr-low`: CTR < `min_ctr_percent` → lower bids `lower_step_percent`, review relevance.
//! 6. `efficient`: CPA < target, conversion rate ≥ `good_conversion_rate_percent` and projected
//!    month spend ≤ (100 − `headroom_percent`)% of budget → raise bids `raise_step_percent`;
//!    `budget-limited` when the budget has no room (raise the budget, not bids).
//! 7. `on-target`: hold.

use super::super::SkillError;
use super::super::csv_input::{CellError, Column, RejectedRow, RowRef, TableSpec, parse_date, read_table};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

mod report;
mod rules;

use rules::{pace, recommend};

const REQUIRED: &[Column] = &[
    Column::new("campaign", &["campaign name"]),
    Column::new("impressions", &["impr", "imps"]),
    Column::new("clicks", &["link clicks", "clicks all"]),
    Column::new("cost", &["spend", "amount spent", "cost usd", "spend usd", "amount spent usd"]),
    Column::new("conversions", &["conv", "convs", "results", "purchases", "leads"]),
];
const OPTIONAL: &[Column] = &[
    Column::new("date", &["day", "period", "reporting date", "reporting starts"]),
    Column::new("daily_budget", &["budget", "avg daily budget", "budget per day"]),
    Column::new("monthly_budget", &["budget monthly", "month budget"]),
    Column::new("conversion_value", &["conv value", "revenue", "purchase value", "conversions value"]),
];

/// Thresholds for pacing and bid rules. Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingOptions {
    /// Target cost per acquisition [unset: the account's blended CPA over the file].
    pub target_cpa: Option<f64>,
    /// Allowed deviation of spend from the pro-rata budget before over/under pace [10].
    pub pace_tolerance_percent: f64,
    /// CTR below which bids are lowered and relevance reviewed [1.0].
    pub min_ctr_percent: f64,
    /// Conversion rate (conversions / clicks) that counts as good for raising bids [3.0].
    pub good_conversion_rate_percent: f64,
    /// Clicks needed before any bid change but a no-conversion pause [100].
    pub min_clicks: u64,
    /// CPA multiple of target above which bids are lowered [1.5].
    pub lower_cpa_multiple: f64,
    /// CPA multiple of target above which the campaign is paused [2.5].
    pub pause_cpa_multiple: f64,
    /// Bid raise in percent [15].
    pub raise_step_percent: f64,
    /// Bid cut in percent [20].
    pub lower_step_percent: f64,
    /// Budget room required to raise bids: projected spend ≤ (100 − this)% of budget [10].
    pub headroom_percent: f64,
    /// Upload limit in bytes [10 MiB].
    pub max_bytes: usize,
}

impl Default for PacingOptions {
    fn default() -> Self {
        Self {
            target_cpa: None,
            pace_tolerance_percent: 10.0,
            min_ctr_percent: 1.0,
            good_conversion_rate_percent: 3.0,
            min_clicks: 100,
            lower_cpa_multiple: 1.5,
            pause_cpa_multiple: 2.5,
            raise_step_percent: 15.0,
            lower_step_percent: 20.0,
            headroom_percent: 10.0,
            max_bytes: super::super::csv_input::DEFAULT_MAX_BYTES,
        }
    }
}

/// Totals and ratios for one campaign (or the account). Ratios are `None` when their
/// denominator is zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignMetrics {
    pub campaign: String,
    pub rows: usize,
    pub impressions: f64,
    pub clicks: f64,
    pub cost: f64,
    pub conversions: f64,
    pub conversion_value: Option<f64>,
    pub ctr_percent: Option<f64>,
    pub cpc: Option<f64>,
    pub cpa: Option<f64>,
    pub conversion_rate_percent: Option<f64>,
    /// Conversion value / cost, when a value column exists.
    pub roas: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceStatus {
    OnPace,
    OverPace,
    UnderPace,
    /// Already spent more than the whole month's budget.
    Overspent,
    NoBudget,
}

impl PaceStatus {
    pub fn label(self) -> &'static str {
        match self {
            PaceStatus::OnPace => "on pace",
            PaceStatus::OverPace => "over pace",
            PaceStatus::UnderPace => "under pace",
            PaceStatus::Overspent => "overspent",
            PaceStatus::NoBudget => "no budget",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pacing {
    pub campaign: String,
    pub monthly_budget: Option<f64>,
    /// `monthly_budget`, or `daily_budget × N days`.
    pub budget_source: String,
    pub spend_to_date: f64,
    pub expected_to_date: Option<f64>,
    /// Spend to date as a percentage of the expected spend to date.
    pub pace_percent: Option<f64>,
    pub projected_month_spend: f64,
    pub status: PaceStatus,
    pub severity: super::super::csv_input::Severity,
    /// Daily budget that lands the month on budget from here.
    pub recommended_daily_budget: Option<f64>,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BidAction {
    Raise,
    Lower,
    Pause,
    Hold,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BidRecommendation {
    pub campaign: String,
    pub action: BidAction,
    /// Signed bid change in percent (`None` for pause and hold).
    pub change_percent: Option<f64>,
    /// The rule that fired (see the module documentation).
    pub rule: &'static str,
    /// The rule with this campaign's numbers.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignReport {
    /// Latest day the data covers.
    pub through: NaiveDate,
    /// The paced month, `YYYY-MM`.
    pub month: String,
    pub days_elapsed: u32,
    pub days_in_month: u32,
    pub target_cpa: Option<f64>,
    /// `options` or `account average`.
    pub target_cpa_source: String,
    pub campaigns: Vec<CampaignMetrics>,
    pub totals: CampaignMetrics,
    pub pacing: Vec<Pacing>,
    pub recommendations: Vec<BidRecommendation>,
    pub notes: Vec<String>,
    pub rejected: Vec<RejectedRow>,
}

struct MetricRow {
    campaign: String,
    date: Option<NaiveDate>,
    line: usize,
    impressions: f64,
    clicks: f64,
    cost: f64,
    conversions: f64,
    value: Option<f64>,
    daily_budget: Option<f64>,
    monthly_budget: Option<f64>,
}

/// Analyses a campaign metrics CSV as of `today` (rows dated after `today` are rejected).
pub fn analyse_campaigns(csv: &[u8], opts: &PacingOptions, today: NaiveDate) -> Result<CampaignReport, SkillError> {
    let spec = TableSpec::new(REQUIRED, OPTIONAL).with_max_bytes(opts.max_bytes);
    let mut table = read_table(csv, &spec)?;
    let dated = table.has_column("date");
    let rows = table.parse_rows(|r| parse_row(r, dated, today));
    if rows.is_empty() {
        return Err(no_rows(&table.rejected));
    }
    let through = if dated { rows.iter().filter_map(|r| r.date).max().unwrap_or(today) } else { today.pred_opt().unwrap_or(today) };
    let days_in_month = days_in_month(through);
    let days_elapsed = through.day();
    let mut notes = Vec::new();
    if !dated {
        notes.push(format!("No date column: the figures are taken as month-to-date through {through} (yesterday)."));
    }

    let campaigns = aggregate(&rows, |r| r.campaign.clone());
    let totals = metrics("All campaigns".into(), rows.iter());
    let (target_cpa, target_cpa_source) = match (opts.target_cpa, totals.cpa) {
        (Some(t), _) if t > 0.0 => (Some(t), "options".to_string()),
        (_, Some(avg)) => (Some(avg), "account average (no target_cpa set)".to_string()),
        _ => (None, "none (no target_cpa set and no conversions)".to_string()),
    };

    let in_month = |r: &&MetricRow| !dated || r.date.is_some_and(|d| d.year() == through.year() && d.month() == through.month());
    let outside = rows.iter().filter(|r| !in_month(r)).count();
    if outside > 0 {
        notes.push(format!("{outside} row(s) fall outside {}: they count in the metrics but not in pacing.", through.format("%B %Y")));
    }
    let pacing: Vec<Pacing> = campaigns
        .iter()
        .map(|c| {
            let month_rows: Vec<&MetricRow> = rows.iter().filter(|r| r.campaign == c.campaign).filter(in_month).collect();
            pace(&c.campaign, &month_rows, days_elapsed, days_in_month, opts)
        })
        .collect();
    let recommendations = campaigns.iter().zip(&pacing).map(|(c, p)| recommend(c, p, target_cpa, opts)).collect();

    Ok(CampaignReport {
        through,
        month: through.format("%Y-%m").to_string(),
        days_elapsed,
        days_in_month,
        target_cpa,
        target_cpa_source,
        campaigns,
        totals,
        pacing,
        recommendations,
        notes,
        rejected: table.rejected,
    })
}

fn no_rows(rejected: &[RejectedRow]) -> SkillError {
    if rejected.is_empty() {
        return SkillError::Invalid("the file has a header but no data rows".into());
    }
    let first: Vec<String> = rejected.iter().take(3).map(|r| format!("line {}: {}", r.line, r.reason)).collect();
    SkillError::Invalid(format!("no usable rows ({} rejected; {})", rejected.len(), first.join("; ")))
}

fn parse_row(r: RowRef<'_>, dated: bool, today: NaiveDate) -> Result<MetricRow, CellError> {
    let non_negative = |col: &str| -> Result<f64, CellError> {
        let v = r.require_f64(col)?;
        if v < 0.0 { Err(r.error(col, &format!("{v} is negative"))) } else { Ok(v) }
    };
    let optional = |col: &str| -> Result<Option<f64>, CellError> {
        match r.get_f64(col)? {
            Some(v) if v < 0.0 => Err(r.error(col, &format!("{v} is negative"))),
            v => Ok(v),
        }
    };
    let impressions = non_negative("impressions")?;
    let clicks = non_negative("clicks")?;
    if clicks > impressions {
        return Err(r.error("clicks", &format!("{clicks} clicks exceed {impressions} impressions")));
    }
    let date = if dated {
        let raw = r.require_str("date")?;
        let d = period_end(raw).ok_or_else(|| r.error("date", &format!("`{raw}` is not a date or a date range")))?;
        if d > today {
            return Err(r.error("date", &format!("{d} is after the report date {today}")));
        }
        Some(d)
    } else {
        None
    };
    Ok(MetricRow {
        campaign: r.require_str("campaign")?.to_string(),
        date,
        line: r.line,
        impressions,
        clicks,
        cost: non_negative("cost")?,
        conversions: non_negative("conversions")?,
        value: optional("conversion_value")?,
        daily_budget: optional("daily_budget")?,
        monthly_budget: optional("monthly_budget")?,
    })
}

/// A date, or the end of a range written `A - B`, `A – B` or `A to B`.
fn period_end(raw: &str) -> Option<NaiveDate> {
    parse_date(raw).or_else(|| [" to ", " – ", " - "].iter().find_map(|sep| raw.rsplit_once(sep)).and_then(|(_, end)| parse_date(end)))
}

fn days_in_month(d: NaiveDate) -> u32 {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).and_then(|n| n.pred_opt()).map_or(30, |last| last.day())
}

/// Per-campaign metrics in order of first appearance.
fn aggregate(rows: &[MetricRow], key: impl Fn(&MetricRow) -> String) -> Vec<CampaignMetrics> {
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        let k = key(r);
        if !order.contains(&k) {
            order.push(k);
        }
    }
    order.into_iter().map(|k| metrics(k.clone(), rows.iter().filter(|r| key(r) == k))).collect()
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

fn metrics<'a>(campaign: String, rows: impl Iterator<Item = &'a MetricRow>) -> CampaignMetrics {
    let (mut n, mut imp, mut clk, mut cost, mut conv, mut value, mut has_value) = (0, 0.0, 0.0, 0.0, 0.0, 0.0, false);
    for r in rows {
        n += 1;
        imp += r.impressions;
        clk += r.clicks;
        cost += r.cost;
        conv += r.conversions;
        if let Some(v) = r.value {
            value += v;
            has_value = true;
        }
    }
    CampaignMetrics {
        campaign,
        rows: n,
        impressions: imp,
        clicks: clk,
        cost,
        conversions: conv,
        conversion_value: has_value.then_some(value),
        ctr_percent: ratio(clk * 100.0, imp),
        cpc: ratio(cost, clk),
        cpa: ratio(cost, conv),
        conversion_rate_percent: ratio(conv * 100.0, clk),
        roas: if has_value { ratio(value, cost) } else { None },
    }
}

#[cfg(test)]
mod tests;
