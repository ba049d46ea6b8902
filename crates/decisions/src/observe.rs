//! The engine's observable occurrences: each is one typed value that writes its log line and
//! its metrics in one place, so the two never drift apart.

use std::time::Duration;
use waooaw_domain::{Decision, InstanceId, TenantId};

pub struct DecisionMade<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub specialization: &'a str,
    pub request_type: &'a str,
    pub decision: &'a Decision,
}

impl DecisionMade<'_> {
    pub fn emit(self) {
        let d = self.decision;
        tracing::info!(tenant_id = %self.tenant_id, instance_id = %self.instance_id, specialization = self.specialization,
            request_type = self.request_type, method = d.method.as_str(), verdict = d.verdict.as_str(), confidence = d.confidence,
            cost_usd = d.cost_usd, tokens_in = d.tokens_in, tokens_out = d.tokens_out, duration_us = d.duration_us, "decision made");
        let method = d.method.as_str();
        metrics::counter!("waooaw_decisions_total", "method" => method, "verdict" => d.verdict.as_str()).increment(1);
        metrics::histogram!("waooaw_decision_duration_seconds", "method" => method)
            .record(Duration::from_micros(d.duration_us).as_secs_f64());
        if let Some(model) = &d.model {
            llm_usage_metrics(self.specialization, model, d.tokens_in, d.tokens_out, d.cost_usd);
        }
    }
}

/// The usage counters of one answered LLM call (part of [`DecisionMade`]; public so that
/// `waooaw bench decide` times exactly what a call adds).
#[doc(hidden)]
pub fn llm_usage_metrics(specialization: &str, model: &str, tokens_in: u64, tokens_out: u64, cost_usd: f64) {
    let labels = [("specialization", specialization.to_owned()), ("model", model.to_owned())];
    metrics::counter!("waooaw_llm_tokens_in_total", &labels).increment(tokens_in);
    metrics::counter!("waooaw_llm_tokens_out_total", &labels).increment(tokens_out);
    // Counters are integers: spend is counted in micro-dollars.
    metrics::counter!("waooaw_llm_cost_microusd_total", &labels).increment((cost_usd * 1e6).round().max(0.0) as u64);
}

/// A tier could not answer (provider error, invalid answer, store trouble) and the engine fell
/// back to the next option.
pub struct TierFallback<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub tier: &'static str,
    pub error: &'a str,
}

impl TierFallback<'_> {
    pub fn emit(self) {
        tracing::warn!(tenant_id = %self.tenant_id, instance_id = %self.instance_id, tier = self.tier, error = self.error,
            "decision tier failed; falling back");
        metrics::counter!("waooaw_decision_fallbacks_total", "tier" => self.tier).increment(1);
    }
}

pub struct EscalationRaised<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub escalation_id: uuid::Uuid,
    pub question: &'a str,
}

impl EscalationRaised<'_> {
    pub fn emit(self) {
        tracing::info!(tenant_id = %self.tenant_id, instance_id = %self.instance_id, escalation_id = %self.escalation_id,
            question = self.question, "escalated to a human");
        metrics::counter!("waooaw_escalations_total").increment(1);
    }
}

/// An LLM call was not made: a budget, rate limit, pace or slot limit refused it.
pub struct BudgetRefused<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub specialization: &'a str,
    pub refusal: &'a crate::budget::Refusal,
}

impl BudgetRefused<'_> {
    pub fn emit(self) {
        tracing::warn!(tenant_id = %self.tenant_id, instance_id = %self.instance_id, specialization = self.specialization,
            reason = self.refusal.reason(), refusal = %self.refusal, "LLM call refused by its budget");
        metrics::counter!("waooaw_budget_refusals_total", "reason" => self.refusal.reason(), "specialization" => self.specialization.to_owned())
            .increment(1);
    }
}
