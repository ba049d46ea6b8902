//! Pacing: spend should follow the day. An instance that has spent more than 120% of the
//! pro-rata share of its daily budget at this hour is throttled until the day catches up.

use super::Refusal;
use chrono::{DateTime, Timelike, Utc};
use waooaw_domain::BudgetLimits;

/// Spend may run this far above the straight line before calls are throttled.
pub const PACE_TOLERANCE: f64 = 1.2;
/// The pace never counts less than this share of the day: early in the UTC day the straight
/// line is near zero, and one call must still be possible.
pub const PACE_FLOOR: f64 = 0.05;

/// `Some` refusal when `spent` (today, tokens and micro-dollars) is above the pace at `now`.
pub fn over_pace(limits: &BudgetLimits, spent_tokens: i64, spent_microusd: i64, now: DateTime<Utc>) -> Option<Refusal> {
    let elapsed = f64::from(now.num_seconds_from_midnight()) / 86_400.0;
    let share = elapsed.max(PACE_FLOOR) * PACE_TOLERANCE;
    if let Some(limit) = limits.tokens_per_day {
        let pace = limit as f64 * share;
        if spent_tokens as f64 > pace {
            return Some(Refusal::Pacing { spent: format!("{spent_tokens} tokens"), pace: format!("{pace:.0}-token") });
        }
    }
    if let Some(limit) = limits.usd_per_day {
        let pace = limit * share;
        let spent = spent_microusd as f64 / 1e6;
        if spent > pace {
            return Some(Refusal::Pacing { spent: format!("${spent:.2}"), pace: format!("${pace:.2}") });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn spend_above_120_percent_of_the_hour_s_share_is_throttled() {
        let limits = BudgetLimits { tokens_per_day: Some(48_000), usd_per_day: Some(2.4), ..Default::default() };
        let noon = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        // At noon the straight line is 24,000 tokens; 120% of it is 28,800.
        assert!(over_pace(&limits, 28_000, 0, noon).is_none());
        assert!(matches!(over_pace(&limits, 29_000, 0, noon), Some(Refusal::Pacing { .. })));
        // Dollars too: $1.20 at noon, $1.44 with the tolerance.
        assert!(over_pace(&limits, 0, 1_400_000, noon).is_none());
        assert!(over_pace(&limits, 0, 1_500_000, noon).is_some());
        // Just after midnight the floor leaves room: 5% of the day, 2,880 tokens.
        let early = Utc.with_ymd_and_hms(2026, 11, 25, 0, 10, 0).unwrap();
        assert!(over_pace(&limits, 2_000, 0, early).is_none());
        assert!(over_pace(&limits, 3_000, 0, early).is_some());
        assert!(over_pace(&BudgetLimits::default(), i64::MAX, i64::MAX, noon).is_none(), "no limit, no pace");
    }
}
