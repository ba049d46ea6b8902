//! Content calendar: topics assigned round-robin to publishing dates.

use super::text::md_cell;
use crate::skills::SkillError;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Longest calendar: five years of weeks.
pub const MAX_WEEKS: u32 = 260;

/// How often to publish: `per_week` posts on the first allowed `weekdays` of each week that are
/// not blackout dates. Defaults: 2 a week, Tuesday and Thursday, no blackout dates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cadence {
    pub per_week: u32,
    /// Allowed publishing days, e.g. `["Tue", "Thu"]`. Empty means Monday to Friday.
    pub weekdays: Vec<Weekday>,
    /// Dates never to publish on (holidays, launch freezes).
    pub blackout_dates: Vec<NaiveDate>,
}

impl Default for Cadence {
    fn default() -> Self {
        Self { per_week: 2, weekdays: vec![Weekday::Tue, Weekday::Thu], blackout_dates: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarEntry {
    pub date: NaiveDate,
    pub weekday: Weekday,
    /// 1-based week of the calendar.
    pub week: u32,
    pub topic: String,
}

/// A publishing date the cadence wanted but could not use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedDate {
    pub date: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calendar {
    pub start: NaiveDate,
    pub weeks: u32,
    pub entries: Vec<CalendarEntry>,
    /// Blackout dates that displaced a post (to the next allowed day of the week, if any).
    pub skipped: Vec<SkippedDate>,
    /// Weeks that got fewer than `per_week` posts, and why.
    pub shortfalls: Vec<String>,
}

/// Assigns `topics` round-robin to the publishing dates of `weeks` weeks from `start` (week 1 is
/// `start` and the six days after it). A blackout date moves its post to the next allowed day of
/// the same week; if none is left the week is short, and the calendar says so. Topics are not
/// consumed by skipped dates, so none is lost.
pub fn content_calendar(topics: &[String], start: NaiveDate, cadence: &Cadence, weeks: u32) -> Result<Calendar, SkillError> {
    if topics.is_empty() {
        return Err(SkillError::Invalid("no topics to schedule".into()));
    }
    if let Some(i) = topics.iter().position(|t| t.trim().is_empty()) {
        return Err(SkillError::Invalid(format!("topic {} is blank", i + 1)));
    }
    if weeks == 0 || weeks > MAX_WEEKS {
        return Err(SkillError::Invalid(format!("weeks must be 1..={MAX_WEEKS}, got {weeks}")));
    }
    let weekdays: Vec<Weekday> = if cadence.weekdays.is_empty() {
        vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
    } else {
        cadence.weekdays.clone()
    };
    let distinct = (0..7).filter(|d| weekdays.iter().any(|w| w.num_days_from_monday() == *d)).count() as u32;
    if cadence.per_week == 0 || cadence.per_week > distinct {
        return Err(SkillError::Invalid(format!(
            "per_week must be 1..={distinct} (the number of allowed weekdays), got {}",
            cadence.per_week
        )));
    }
    let mut cal = Calendar { start, weeks, entries: Vec::new(), skipped: Vec::new(), shortfalls: Vec::new() };
    for week in 0..weeks {
        let mut placed = 0;
        for day in 0..7u64 {
            if placed == cadence.per_week {
                break;
            }
            let Some(date) = start.checked_add_days(Days::new(u64::from(week) * 7 + day)) else {
                return Err(SkillError::Invalid("the calendar runs past the last representable date".into()));
            };
            if !weekdays.contains(&date.weekday()) {
                continue;
            }
            if cadence.blackout_dates.contains(&date) {
                cal.skipped.push(SkippedDate { date, reason: "blackout date".into() });
                continue;
            }
            let topic = topics.get(cal.entries.len() % topics.len()).cloned().unwrap_or_default();
            cal.entries.push(CalendarEntry { date, weekday: date.weekday(), week: week + 1, topic });
            placed += 1;
        }
        if placed < cadence.per_week {
            cal.shortfalls.push(format!(
                "week {} ({}): {placed} of {} posts; blackout dates left no other allowed day",
                week + 1,
                start + Days::new(u64::from(week) * 7),
                cadence.per_week
            ));
        }
    }
    Ok(cal)
}

impl Calendar {
    pub fn to_markdown(&self) -> String {
        let mut md = format!("# Content calendar\n\n{} posts over {} weeks from {}.\n\n", self.entries.len(), self.weeks, self.start);
        md.push_str("| Week | Date | Day | Topic |\n|---|---|---|---|\n");
        for e in &self.entries {
            md.push_str(&format!("| {} | {} | {} | {} |\n", e.week, e.date, e.weekday, md_cell(&e.topic)));
        }
        if !self.skipped.is_empty() {
            md.push_str("\n## Skipped dates\n\n");
            for s in &self.skipped {
                md.push_str(&format!("- {} ({}): {}\n", s.date, s.date.weekday(), s.reason));
            }
        }
        if !self.shortfalls.is_empty() {
            md.push_str("\n## Short weeks\n\n");
            for s in &self.shortfalls {
                md.push_str(&format!("- {s}\n"));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn round_robin_on_allowed_days_with_blackouts_moving_posts() {
        let topics: Vec<String> = ["A", "B", "C"].map(String::from).to_vec();
        let cadence =
            Cadence { per_week: 2, weekdays: vec![Weekday::Tue, Weekday::Thu, Weekday::Fri], blackout_dates: vec![d("2025-03-13")] };
        // 2025-03-10 is a Monday.
        let cal = content_calendar(&topics, d("2025-03-10"), &cadence, 2).unwrap();
        let got: Vec<(String, &str)> = cal.entries.iter().map(|e| (e.date.to_string(), e.topic.as_str())).collect();
        assert_eq!(
            got,
            vec![("2025-03-11".into(), "A"), ("2025-03-14".into(), "B"), ("2025-03-18".into(), "C"), ("2025-03-20".into(), "A")]
        );
        assert_eq!(cal.skipped, vec![SkippedDate { date: d("2025-03-13"), reason: "blackout date".into() }]);
        assert!(cal.shortfalls.is_empty());
    }

    #[test]
    fn a_week_without_free_days_is_reported_short() {
        let cadence = Cadence { per_week: 1, weekdays: vec![Weekday::Wed], blackout_dates: vec![d("2025-12-24")] };
        let cal = content_calendar(&["Flu season".into()], d("2025-12-22"), &cadence, 2).unwrap();
        assert_eq!(cal.entries.len(), 1);
        assert_eq!(cal.entries[0].date, d("2025-12-31"));
        assert_eq!(cal.shortfalls.len(), 1);
        assert!(cal.shortfalls[0].starts_with("week 1 (2025-12-22): 0 of 1"), "{}", cal.shortfalls[0]);
    }

    #[test]
    fn bad_cadences_are_errors() {
        let t = vec!["x".to_string()];
        let start = d("2025-01-06");
        assert!(content_calendar(&[], start, &Cadence::default(), 4).is_err());
        assert!(content_calendar(&[" ".into()], start, &Cadence::default(), 4).is_err());
        assert!(content_calendar(&t, start, &Cadence::default(), 0).is_err());
        assert!(content_calendar(&t, start, &Cadence::default(), MAX_WEEKS + 1).is_err());
        let too_many = Cadence { per_week: 3, ..Cadence::default() };
        assert!(content_calendar(&t, start, &too_many, 4).is_err());
        let weekdays_default = Cadence { per_week: 5, weekdays: vec![], blackout_dates: vec![] };
        assert_eq!(content_calendar(&t, start, &weekdays_default, 1).unwrap().entries.len(), 5);
    }
}
