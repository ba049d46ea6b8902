//! Spend limits on the LLM tier, per instance, per tenant and per specialization (within a
//! tenant). A spec file gives a specialization's defaults (`[budget]`, else by its type); the API
//! overrides them per tenant and per instance. Every limit applicable to a call holds at once.

use serde::{Deserialize, Serialize};

/// Overridable limits; `None` keeps the level below (instance → tenant → specialization).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_day: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_month: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_llm_calls: Option<u32>,
}

/// Largest values accepted: anything above is a typo, not a budget.
pub const MAX_TOKENS_PER_DAY: u64 = 1_000_000_000;
pub const MAX_USD: f64 = 1_000_000.0;
pub const MAX_REQUESTS_PER_MINUTE: u32 = 100_000;
pub const MAX_CONCURRENT_CALLS: u32 = 1_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("budget `{field}`: {reason}")]
pub struct BudgetError {
    pub field: &'static str,
    pub reason: String,
}

impl BudgetLimits {
    /// Refuses negative, non-finite and absurd values, naming the field.
    pub fn validate(&self) -> Result<(), BudgetError> {
        let err = |field, reason: String| Err(BudgetError { field, reason });
        if let Some(t) = self.tokens_per_day
            && t > MAX_TOKENS_PER_DAY
        {
            return err("tokens_per_day", format!("{t} is above the maximum of {MAX_TOKENS_PER_DAY}"));
        }
        for (field, v) in [("usd_per_day", self.usd_per_day), ("usd_per_month", self.usd_per_month)] {
            match v {
                Some(v) if !v.is_finite() => return err(field, "must be a finite number".into()),
                Some(v) if v < 0.0 => return err(field, format!("{v} is negative")),
                Some(v) if v > MAX_USD => return err(field, format!("{v} is above the maximum of {MAX_USD}")),
                _ => {}
            }
        }
        if let Some(r) = self.requests_per_minute
            && (r == 0 || r > MAX_REQUESTS_PER_MINUTE)
        {
            return err("requests_per_minute", format!("{r} is not within 1..={MAX_REQUESTS_PER_MINUTE}"));
        }
        if let Some(c) = self.concurrent_llm_calls
            && (c == 0 || c > MAX_CONCURRENT_CALLS)
        {
            return err("concurrent_llm_calls", format!("{c} is not within 1..={MAX_CONCURRENT_CALLS}"));
        }
        Ok(())
    }

    /// `self` where set, else `below`.
    pub fn over(self, below: BudgetLimits) -> BudgetLimits {
        BudgetLimits {
            tokens_per_day: self.tokens_per_day.or(below.tokens_per_day),
            usd_per_day: self.usd_per_day.or(below.usd_per_day),
            usd_per_month: self.usd_per_month.or(below.usd_per_month),
            requests_per_minute: self.requests_per_minute.or(below.requests_per_minute),
            concurrent_llm_calls: self.concurrent_llm_calls.or(below.concurrent_llm_calls),
        }
    }
}

impl From<crate::Budget> for BudgetLimits {
    fn from(b: crate::Budget) -> Self {
        Self {
            tokens_per_day: Some(b.tokens_per_day),
            usd_per_day: b.usd_per_day,
            usd_per_month: b.usd_per_month,
            requests_per_minute: Some(b.requests_per_minute),
            concurrent_llm_calls: b.concurrent_llm_calls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_field() {
        let bad = |l: BudgetLimits| l.validate().unwrap_err().field;
        assert_eq!(bad(BudgetLimits { usd_per_day: Some(-1.0), ..Default::default() }), "usd_per_day");
        assert_eq!(bad(BudgetLimits { usd_per_month: Some(f64::NAN), ..Default::default() }), "usd_per_month");
        assert_eq!(bad(BudgetLimits { usd_per_month: Some(2e6), ..Default::default() }), "usd_per_month");
        assert_eq!(bad(BudgetLimits { tokens_per_day: Some(5_000_000_000), ..Default::default() }), "tokens_per_day");
        assert_eq!(bad(BudgetLimits { requests_per_minute: Some(0), ..Default::default() }), "requests_per_minute");
        assert_eq!(bad(BudgetLimits { concurrent_llm_calls: Some(5000), ..Default::default() }), "concurrent_llm_calls");
        assert!(BudgetLimits { usd_per_day: Some(0.0), tokens_per_day: Some(0), ..Default::default() }.validate().is_ok());
        let e: Result<BudgetLimits, _> = serde_json::from_str(r#"{"tokens_per_day": "lots"}"#);
        assert!(e.is_err());
        let e: Result<BudgetLimits, _> = serde_json::from_str(r#"{"tokens_per_day": -5}"#);
        assert!(e.is_err());
    }

    #[test]
    fn an_override_wins_field_by_field() {
        let spec = BudgetLimits { tokens_per_day: Some(50_000), requests_per_minute: Some(30), ..Default::default() };
        let tenant = BudgetLimits { usd_per_day: Some(5.0), ..Default::default() };
        let inst = BudgetLimits { tokens_per_day: Some(1_000), ..Default::default() };
        let eff = inst.over(tenant.over(spec));
        assert_eq!((eff.tokens_per_day, eff.usd_per_day, eff.requests_per_minute), (Some(1_000), Some(5.0), Some(30)));
    }
}
