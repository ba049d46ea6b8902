//! Account Executive: pipeline hygiene from a deals CSV, turned into one follow-up task per deal
//! that needs attention, and a summary by owner.
//!
//! Checks on open deals (a stage containing a `closed_stages` word is closed and skipped):
//! - slipped close date: the close date is before today (error, due today);
//! - no close date (warning, due next business day);
//! - stale: no activity for more than `stale_days` days, or none recorded (warning, due next
//!   business day);
//! - missing next step (warning, due next business day);
//! - missing amount on a late-stage deal (a stage containing a `late_stages` word; error, due in
//!   two business days).
//!
//! A check whose column the file lacks is not run, and the report says so.

mod report;

use super::SkillError;
use super::csv_input::{CellError, Column, RejectedRow, RowRef, Severity, TableSpec, read_table};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

const REQUIRED: &[Column] = &[
    Column::new("deal", &["deal name", "opportunity", "opportunity name", "name"]),
    Column::new("owner", &["deal owner", "opportunity owner", "rep", "account executive", "ae"]),
    Column::new("stage", &["deal stage", "stage name", "sales stage"]),
    Column::new("close_date", &["expected close date", "closing date", "close"]),
];
const OPTIONAL: &[Column] = &[
    Column::new("account", &["account name", "company", "company name"]),
    Column::new("amount", &["deal amount", "value", "deal value", "arr", "acv"]),
    Column::new("last_activity", &["last activity date", "last activity", "last contacted", "last activity at"]),
    Column::new("next_step", &["next steps", "next action"]),
];

/// Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineOptions {
    /// Days without activity after which an open deal is stale [14].
    pub stale_days: u32,
    /// Stage words that mean late stage, where an amount is required
    /// [proposal, negotiation, contract, commit, verbal].
    pub late_stages: Vec<String>,
    /// Stage words that mean closed [closed, won, lost].
    pub closed_stages: Vec<String>,
    /// Upload limit in bytes [10 MiB].
    pub max_bytes: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        Self {
            stale_days: 14,
            late_stages: words(&["proposal", "negotiation", "contract", "commit", "verbal"]),
            closed_stages: words(&["closed", "won", "lost"]),
            max_bytes: super::csv_input::DEFAULT_MAX_BYTES,
        }
    }
}

/// One hygiene problem of one deal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Issue {
    SlippedClose { close_date: NaiveDate, days_overdue: i64 },
    NoCloseDate,
    Stale { last_activity: NaiveDate, days_since: i64 },
    NoActivity,
    MissingNextStep,
    MissingAmount { stage: String },
    NoOwner,
}

impl Issue {
    pub fn severity(&self) -> Severity {
        match self {
            Issue::SlippedClose { .. } | Issue::MissingAmount { .. } | Issue::NoOwner => Severity::Error,
            _ => Severity::Warning,
        }
    }

    /// Business days from today until the fix is due.
    fn due_in(&self) -> u64 {
        match self {
            Issue::SlippedClose { .. } | Issue::NoOwner => 0,
            Issue::MissingAmount { .. } => 2,
            _ => 1,
        }
    }

    /// What the owner should do, with the numbers.
    pub fn action(&self) -> String {
        match self {
            Issue::SlippedClose { close_date, days_overdue } => format!(
                "close date {close_date} passed {days_overdue} day(s) ago: confirm the timeline with the buyer and move the date, or close the deal as lost"
            ),
            Issue::NoCloseDate => "no close date: set an expected close date".into(),
            Issue::Stale { last_activity, days_since } => {
                format!("no activity for {days_since} days (last {last_activity}): re-engage with a call or follow-up and log it")
            }
            Issue::NoActivity => "no activity recorded: log the last touch or reach out".into(),
            Issue::MissingNextStep => "no next step: agree a dated next step with the buyer and record it".into(),
            Issue::MissingAmount { stage } => format!("no amount at stage `{stage}`: add the deal value so the forecast is right"),
            Issue::NoOwner => "no owner: assign the deal to an account executive".into(),
        }
    }
}

/// The follow-up for one deal: every issue, the owner, and when it is due.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUpTask {
    pub line: usize,
    pub deal: String,
    pub account: Option<String>,
    pub owner: String,
    pub stage: String,
    pub amount: Option<f64>,
    pub priority: Severity,
    pub due: NaiveDate,
    pub issues: Vec<Issue>,
    /// The issues' actions, joined.
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerSummary {
    pub owner: String,
    pub open_deals: usize,
    pub open_amount: f64,
    pub tasks: usize,
    pub slipped: usize,
    pub stale: usize,
    pub missing_next_step: usize,
    pub missing_amount: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineReport {
    pub today: NaiveDate,
    pub open_deals: usize,
    pub closed_deals: usize,
    pub open_amount: f64,
    /// Sorted by due date, then priority (errors first), then owner.
    pub tasks: Vec<FollowUpTask>,
    pub by_owner: Vec<OwnerSummary>,
    /// Checks not run (a column missing) and other remarks.
    pub notes: Vec<String>,
    pub rejected: Vec<RejectedRow>,
}

struct Deal {
    line: usize,
    name: String,
    account: Option<String>,
    owner: Option<String>,
    stage: String,
    amount: Option<f64>,
    close_date: Option<NaiveDate>,
    last_activity: Option<NaiveDate>,
    next_step: Option<String>,
}

const UNASSIGNED: &str = "(unassigned)";

/// Reviews the deals in `csv` as of `today`.
pub fn review_pipeline(csv: &[u8], opts: &PipelineOptions, today: NaiveDate) -> Result<PipelineReport, SkillError> {
    let spec = TableSpec::new(REQUIRED, OPTIONAL).with_max_bytes(opts.max_bytes);
    let mut table = read_table(csv, &spec)?;
    let has = |c: &str| table.has_column(c);
    let (has_activity, has_next, has_amount) = (has("last_activity"), has("next_step"), has("amount"));
    let mut notes = Vec::new();
    for (present, col, check) in [
        (has_activity, "last_activity", "stale-deal check"),
        (has_next, "next_step", "missing-next-step check"),
        (has_amount, "amount", "missing-amount check and pipeline totals"),
    ] {
        if !present {
            notes.push(format!("No `{col}` column: the {check} was not run."));
        }
    }
    let deals = table.parse_rows(parse_row);
    if deals.is_empty() && table.rejected.is_empty() {
        return Err(SkillError::Invalid("the file has a header but no deal rows".into()));
    }
    let is = |stage: &str, words: &[String]| {
        let stage_words: Vec<String> = stage.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).collect();
        words.iter().any(|w| stage_words.iter().any(|s| s == &w.to_lowercase()))
    };
    let (closed, open): (Vec<&Deal>, Vec<&Deal>) = deals.iter().partition(|d| is(&d.stage, &opts.closed_stages));

    let mut tasks = Vec::new();
    for d in &open {
        let mut issues = Vec::new();
        if d.owner.is_none() {
            issues.push(Issue::NoOwner);
        }
        match d.close_date {
            Some(c) if c < today => issues.push(Issue::SlippedClose { close_date: c, days_overdue: (today - c).num_days() }),
            Some(_) => {}
            None => issues.push(Issue::NoCloseDate),
        }
        if has_activity {
            match d.last_activity {
                Some(a) if (today - a).num_days() > i64::from(opts.stale_days) => {
                    issues.push(Issue::Stale { last_activity: a, days_since: (today - a).num_days() })
                }
                Some(_) => {}
                None => issues.push(Issue::NoActivity),
            }
        }
        if has_next && d.next_step.is_none() {
            issues.push(Issue::MissingNextStep);
        }
        if has_amount && d.amount.is_none_or(|a| a <= 0.0) && is(&d.stage, &opts.late_stages) {
            issues.push(Issue::MissingAmount { stage: d.stage.clone() });
        }
        if issues.is_empty() {
            continue;
        }
        let due = issues.iter().map(|i| add_business_days(today, i.due_in())).min().unwrap_or(today);
        let priority = issues.iter().map(Issue::severity).max().unwrap_or(Severity::Warning);
        let action = issues.iter().map(Issue::action).collect::<Vec<_>>().join("; ");
        tasks.push(FollowUpTask {
            line: d.line,
            deal: d.name.clone(),
            account: d.account.clone(),
            owner: d.owner.clone().unwrap_or_else(|| UNASSIGNED.into()),
            stage: d.stage.clone(),
            amount: d.amount,
            priority,
            due,
            issues,
            action,
        });
    }
    tasks.sort_by(|a, b| a.due.cmp(&b.due).then(b.priority.cmp(&a.priority)).then_with(|| a.owner.cmp(&b.owner)).then(a.line.cmp(&b.line)));

    Ok(PipelineReport {
        today,
        open_deals: open.len(),
        closed_deals: closed.len(),
        open_amount: open.iter().filter_map(|d| d.amount).sum(),
        by_owner: summarise(&open, &tasks),
        tasks,
        notes,
        rejected: table.rejected,
    })
}

fn parse_row(r: RowRef<'_>) -> Result<Deal, CellError> {
    let amount = r.get_f64("amount")?;
    if let Some(a) = amount.filter(|a| *a < 0.0) {
        return Err(r.error("amount", &format!("{a} is negative")));
    }
    Ok(Deal {
        line: r.line,
        name: r.require_str("deal")?.to_string(),
        account: r.get_str("account").map(str::to_string),
        owner: r.get_str("owner").map(str::to_string),
        stage: r.require_str("stage")?.to_string(),
        amount,
        close_date: r.get_date("close_date")?,
        last_activity: r.get_date("last_activity")?,
        next_step: r
            .get_str("next_step")
            .filter(|s| !matches!(s.to_lowercase().as_str(), "-" | "n/a" | "none" | "tbd"))
            .map(str::to_string),
    })
}

/// `days` business days after `from` (0: `from` itself, or the next Monday on a weekend).
fn add_business_days(from: NaiveDate, days: u64) -> NaiveDate {
    let weekend = |d: NaiveDate| matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let mut d = from;
    while weekend(d) {
        d = d.checked_add_days(Days::new(1)).unwrap_or(d);
    }
    for _ in 0..days {
        d = d.checked_add_days(Days::new(1)).unwrap_or(d);
        while weekend(d) {
            d = d.checked_add_days(Days::new(1)).unwrap_or(d);
        }
    }
    d
}

fn summarise(open: &[&Deal], tasks: &[FollowUpTask]) -> Vec<OwnerSummary> {
    let owner_of = |d: &Deal| d.owner.clone().unwrap_or_else(|| UNASSIGNED.into());
    let mut owners: Vec<String> = open.iter().map(|d| owner_of(d)).collect();
    owners.sort();
    owners.dedup();
    owners
        .into_iter()
        .map(|owner| {
            let mine: Vec<&FollowUpTask> = tasks.iter().filter(|t| t.owner == owner).collect();
            let count = |f: fn(&Issue) -> bool| mine.iter().filter(|t| t.issues.iter().any(f)).count();
            OwnerSummary {
                open_deals: open.iter().filter(|d| owner_of(d) == owner).count(),
                open_amount: open.iter().filter(|d| owner_of(d) == owner).filter_map(|d| d.amount).sum(),
                tasks: mine.len(),
                slipped: count(|i| matches!(i, Issue::SlippedClose { .. })),
                stale: count(|i| matches!(i, Issue::Stale { .. } | Issue::NoActivity)),
                missing_next_step: count(|i| matches!(i, Issue::MissingNextStep)),
                missing_amount: count(|i| matches!(i, Issue::MissingAmount { .. })),
                owner,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
