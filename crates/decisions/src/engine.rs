//! `Engine::make_decision`: constraints, then cache, rules, memory and the LLM, cheapest first.
//! Whatever a tier answers, a forbidden action never gets through (constraints are checked
//! before the tiers on the request and after them on the answer).

use crate::cache::DecisionCache;
use crate::canonical::{cache_key, request_text};
use crate::decision_log::DecisionLog;
use crate::llm_tier::{LlmTier, build_prompt, parse_answer};
use crate::memory::{MemoryError, SemanticMemory};
use crate::observe::{BudgetRefused, DecisionMade, EscalationRaised, TierFallback};
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use waooaw_domain::{
    Citation, Decider, Decision, DecisionRequest, Escalation, EscalationStatus, HumanAnswer, Instance, Method, Specialization, TenantId,
    Verdict,
};
use waooaw_store::{DynStore, StoreError};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// A rule at or above this confidence decides; below it the next tier runs.
    pub rule_threshold: f64,
    /// A recalled past decision at or above this similarity is reused.
    pub memory_threshold: f32,
    /// Past decisions recalled for the memory tier and as the LLM's examples.
    pub recall_k: usize,
    pub cache_ttl: Duration,
    pub cache_capacity: u64,
    /// The process owns its store (the embedded default): keep the LLM budget ledger in memory
    /// and write it behind (`budget/local.rs`). Processes sharing a store keep it in the store.
    pub in_memory_budgets: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            rule_threshold: 0.95,
            memory_threshold: crate::REUSE_SIMILARITY,
            recall_k: 5,
            cache_ttl: Duration::from_secs(30 * 24 * 3600),
            cache_capacity: 100_000,
            in_memory_budgets: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("memory: {0}")]
    Memory(#[from] MemoryError),
    #[error("escalation {0} not found, or already answered")]
    EscalationNotFound(uuid::Uuid),
}

pub struct Engine {
    store: DynStore,
    cache: DecisionCache,
    memory: Arc<SemanticMemory>,
    llm: Option<LlmTier>,
    log: DecisionLog,
    budgets: crate::budget::Budgets,
    config: EngineConfig,
}

/// How many of a tenant's pending escalations are compared with a new one (oldest first).
const PENDING_SCAN: i64 = 1_000;

fn set_escalation_id(d: &mut Decision, id: uuid::Uuid) {
    if let Value::Object(fields) = &mut d.fields {
        fields.insert("escalation_id".into(), json!(id));
    } else {
        d.fields = json!({"escalation_id": id});
    }
}

/// Memory kinds that hold decisions the memory tier may reuse.
const DECISION_KINDS: &[&str] = &["decision", "human_answer"];

impl Engine {
    pub fn new(store: DynStore, memory: Arc<SemanticMemory>, llm: Option<LlmTier>, config: EngineConfig) -> Self {
        let cache = DecisionCache::new(store.clone(), config.cache_capacity, config.cache_ttl);
        let log = DecisionLog::start(store.clone());
        let budgets = if config.in_memory_budgets {
            crate::budget::Budgets::in_memory(store.clone())
        } else {
            crate::budget::Budgets::new(store.clone())
        };
        Self { store, cache, memory, llm, log, budgets, config }
    }

    pub fn memory(&self) -> &Arc<SemanticMemory> {
        &self.memory
    }

    pub fn budgets(&self) -> &crate::budget::Budgets {
        &self.budgets
    }

    pub fn has_llm(&self) -> bool {
        self.llm.is_some()
    }

    /// Waits until every decision made so far is in the decision log (and its cache entry, if
    /// any, in the store).
    pub async fn flush_log(&self) {
        self.log.flush().await;
        self.budgets.flush().await;
    }

    /// The one entry point. Never fails: trouble in a tier is logged and the engine falls back,
    /// ending with an escalation that says why.
    pub async fn decide(&self, spec: &Specialization, instance: &Instance, request: DecisionRequest) -> Decision {
        let started = Instant::now();
        let mut decision = self.decide_by_tiers(spec, instance, &request).await;
        enforce_constraints(spec, &mut decision);
        decision.duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if decision.verdict == Verdict::Escalate
            && let Err(e) = self.escalate(spec, instance, &request, &mut decision).await
        {
            TierFallback { tenant_id: request.tenant_id, instance_id: request.instance_id, tier: "escalation", error: &e.to_string() }
                .emit();
        }
        DecisionMade {
            tenant_id: request.tenant_id,
            instance_id: request.instance_id,
            specialization: &spec.id,
            request_type: &request.request_type,
            decision: &decision,
        }
        .emit();
        self.log.record(spec, &request, &decision);
        decision
    }

    async fn decide_by_tiers(&self, spec: &Specialization, instance: &Instance, request: &DecisionRequest) -> Decision {
        let fallback = |tier: &'static str, e: &dyn std::fmt::Display| {
            TierFallback { tenant_id: request.tenant_id, instance_id: request.instance_id, tier, error: &e.to_string() }.emit()
        };
        // Constraints first: a request to take a forbidden action is answered without any tier.
        if let Some(d) = constraint_decision(spec, &request.context) {
            return d;
        }
        // Tier 1: exact cache. Its in-memory part is read first; the store (shared with other
        // processes, kept across restarts) only after the rules, because an entry exists only for
        // a request no rule decides (rules are fixed per spec version, which is in the key), so
        // the answer is the same either way and a rule decision needs no I/O.
        let key = cache_key(spec, request);
        let from_cache = |hit: Arc<Decision>| {
            let mut d = (*hit).clone();
            let first = format!("first decided by {}", d.method.as_str());
            d.citations.insert(0, Citation { kind: "cache".into(), id: key.get(..16).unwrap_or(&key).to_owned(), excerpt: first });
            d.method = Method::Cache;
            (d.cost_usd, d.tokens_in, d.tokens_out) = (0.0, 0, 0);
            d
        };
        if let Some(hit) = self.cache.get_local(request.tenant_id, &key) {
            return from_cache(hit);
        }
        // Tier 2: rules.
        if let Some(m) = spec.rules.evaluate(&request.request_type, &request.context)
            && m.confidence >= self.config.rule_threshold
        {
            return m.to_decision();
        }
        match self.cache.get(request.tenant_id, &key).instrument(tracing::info_span!("tier.cache")).await {
            Ok(Some(hit)) => return from_cache(hit),
            Ok(None) => {}
            Err(e) => fallback("cache", &e),
        }
        // Tier 3: semantic memory of past decisions and human answers.
        let text = request_text(request);
        let recalled = match self
            .memory
            .recall(request.tenant_id, Some(request.instance_id), Some(DECISION_KINDS), &text, self.config.recall_k)
            .instrument(tracing::info_span!("tier.memory"))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                fallback("memory", &e);
                Vec::new()
            }
        };
        // Recall ranks with feedback; reuse asks for the most similar memory itself.
        if let Some(best) = recalled.iter().max_by(|a, b| a.score.total_cmp(&b.score))
            && best.score >= self.config.memory_threshold
            && best.memory.metadata.get("request_type").and_then(Value::as_str) == Some(request.request_type.as_str())
            && let Some(mut d) = stored_decision(&best.memory.metadata)
        {
            d.method = Method::Memory;
            d.citations.insert(
                0,
                Citation {
                    kind: best.memory.kind.clone(),
                    id: best.memory.id.to_string(),
                    excerpt: format!("similarity {:.3}", best.score),
                },
            );
            self.cache_put(spec, request, &key, &d);
            return d;
        }
        // Tier 4: the LLM, when one is configured.
        let Some(llm) = &self.llm else {
            return Decision::free(
                Verdict::Escalate,
                "no rule, cached or remembered decision applies and no LLM provider is configured, so a human decides",
                0.0,
                Method::Fallback,
            );
        };
        match self.ask_llm(llm, spec, instance, request, &recalled).await {
            Ok(d) => {
                if d.verdict != Verdict::Escalate {
                    self.remember_decision(request, &text, "decision", &d, json!({"source": "llm"})).await;
                    self.cache_put(spec, request, &key, &d);
                }
                d
            }
            Err(d) => *d,
        }
    }

    /// Asks the model; any failure becomes an escalation carrying the reason (and the cost of
    /// a call that was paid for but unusable).
    async fn ask_llm(
        &self,
        llm: &LlmTier,
        spec: &Specialization,
        instance: &Instance,
        request: &DecisionRequest,
        recalled: &[crate::memory::Recalled],
    ) -> Result<Decision, Box<Decision>> {
        let (system, messages) = build_prompt(spec, instance, request, recalled);
        let escalate = |reason: String| Box::new(Decision::free(Verdict::Escalate, reason, 0.0, Method::Fallback));
        let chat = llm.request(system, messages);
        let grant = match self.budgets.reserve(spec, instance, request.urgency, crate::budget::estimate(llm, &chat), Utc::now()).await {
            Ok(g) => g,
            Err(refusal) => {
                BudgetRefused {
                    tenant_id: request.tenant_id,
                    instance_id: request.instance_id,
                    specialization: &spec.id,
                    refusal: &refusal,
                }
                .emit();
                return Err(escalate(format!("the LLM was not asked: {refusal}; a human decides")));
            }
        };
        let call = tracing::info_span!("tier.llm", provider = llm.provider.name(), model = %llm.model);
        let response = match llm.provider.complete(&chat).instrument(call).await {
            Ok(r) => r,
            Err(e) => {
                self.budgets.settle(grant, 0, 0.0).await;
                TierFallback { tenant_id: request.tenant_id, instance_id: request.instance_id, tier: "llm", error: &e.to_string() }.emit();
                return Err(escalate(format!("the LLM ({}) could not answer: {e}", llm.provider.name())));
            }
        };
        let cost = llm.prices.cost_usd(&response.model, response.tokens_in, response.tokens_out).unwrap_or(0.0);
        self.budgets.settle(grant, response.tokens_in + response.tokens_out, cost).await;
        let with_usage = |mut d: Decision| {
            (d.cost_usd, d.tokens_in, d.tokens_out, d.model) =
                (cost, response.tokens_in, response.tokens_out, Some(response.model.clone()));
            d
        };
        match parse_answer(&response.text) {
            Ok(answer) => {
                let mut d = Decision::free(answer.verdict, answer.reason, answer.confidence, Method::Llm);
                d.fields = answer.fields;
                d.citations = recalled
                    .iter()
                    .filter(|r| r.memory.metadata.get("decision").is_some())
                    .map(|r| Citation {
                        kind: r.memory.kind.clone(),
                        id: r.memory.id.to_string(),
                        excerpt: "example given to the model".into(),
                    })
                    .collect();
                Ok(with_usage(d))
            }
            Err(e) => {
                TierFallback { tenant_id: request.tenant_id, instance_id: request.instance_id, tier: "llm", error: &e.to_string() }.emit();
                Err(Box::new(with_usage(*escalate(format!("the LLM's answer was unusable ({e}), so a human decides")))))
            }
        }
    }

    fn cache_put(&self, spec: &Specialization, request: &DecisionRequest, key: &str, d: &Decision) {
        self.cache.put_local(request.tenant_id, key, d);
        self.log.cache_put(request.tenant_id, key, spec, d, self.cache.expires_at());
    }

    async fn remember_decision(&self, request: &DecisionRequest, text: &str, kind: &str, d: &Decision, extra: Value) {
        let metadata = json!({
            "request_type": request.request_type,
            "decision": {"verdict": d.verdict, "reason": d.reason, "confidence": d.confidence, "fields": d.fields},
            "meta": extra,
        });
        if let Err(e) = self.memory.remember(request.tenant_id, Some(request.instance_id), kind, text, metadata).await {
            TierFallback { tenant_id: request.tenant_id, instance_id: request.instance_id, tier: "memory", error: &e.to_string() }.emit();
        }
    }

    /// Files the escalation; its id goes into the decision's `fields.escalation_id`, so the
    /// agent can say where to answer it. For a tenant with a GitHub connection it is also
    /// announced as an issue (queued in the outbox; the dispatcher posts it), where a member's
    /// reply answers it.
    async fn escalate(
        &self,
        spec: &Specialization,
        instance: &Instance,
        request: &DecisionRequest,
        d: &mut Decision,
    ) -> Result<(), StoreError> {
        // The same question from the same instance, still waiting for a human, is not asked
        // again (a re-reviewed pull request, a retried wake): the decision names the pending one.
        let pending = self.store.list_escalations(request.tenant_id, Some(EscalationStatus::Pending), PENDING_SCAN).await?;
        if let Some(open) = pending.iter().find(|e| {
            e.instance_id == instance.id && e.request.request_type == request.request_type && e.request.context == request.context
        }) {
            set_escalation_id(d, open.id);
            return Ok(());
        }
        let e = Escalation {
            id: uuid::Uuid::now_v7(),
            tenant_id: request.tenant_id,
            instance_id: instance.id,
            event_id: None,
            request: request.clone(),
            question: d.reason.clone(),
            urgency: request.urgency,
            status: EscalationStatus::Pending,
            answer: None,
            created_at: Utc::now(),
            answered_at: None,
        };
        self.store.insert_escalation(&e).await?;
        set_escalation_id(d, e.id);
        EscalationRaised { tenant_id: e.tenant_id, instance_id: e.instance_id, escalation_id: e.id, question: &e.question }.emit();
        let issue = crate::escalation_issue::issue(spec, instance, &e);
        if let Err(err) = self.store.enqueue_github_output(e.tenant_id, e.instance_id, &issue, e.created_at).await {
            TierFallback { tenant_id: e.tenant_id, instance_id: e.instance_id, tier: "escalation_issue", error: &err.to_string() }.emit();
        }
        Ok(())
    }

    /// Records a human's answer (once) and learns it: the same case is then decided from
    /// memory and cache without a human. Returns the answered escalation.
    pub async fn answer_escalation(
        &self,
        spec: &Specialization,
        tenant: TenantId,
        id: uuid::Uuid,
        answer: HumanAnswer,
    ) -> Result<Escalation, EngineError> {
        let answered = self.store.answer_escalation(tenant, id, &answer, Utc::now()).await?.ok_or(EngineError::EscalationNotFound(id))?;
        let request = &answered.request;
        let mut d =
            Decision::free(answer.verdict, format!("a human ({}) answered: {}", answer.answered_by, answer.text), 1.0, Method::Fallback);
        d.citations.push(Citation { kind: "human".into(), id: id.to_string(), excerpt: answer.text.clone() });
        if answer.verdict == Verdict::Act {
            d.fields = json!({"instruction": answer.text});
        }
        enforce_constraints(spec, &mut d);
        if d.verdict != Verdict::Escalate {
            self.remember_decision(request, &request_text(request), "human_answer", &d, json!({"escalation_id": id})).await;
            self.cache_put(spec, request, &cache_key(spec, request), &d);
        }
        Ok(answered)
    }
}

#[async_trait::async_trait]
impl Decider for Engine {
    async fn make_decision(&self, spec: &Specialization, instance: &Instance, request: DecisionRequest) -> Decision {
        // A child of the wake's span: the trace shows which tier decided, at what cost.
        let span = tracing::info_span!("decision", request_type = %request.request_type, method = tracing::field::Empty,
            verdict = tracing::field::Empty, cost_usd = tracing::field::Empty);
        let d = self.decide(spec, instance, request).instrument(span.clone()).await;
        span.record("method", d.method.as_str());
        span.record("verdict", d.verdict.as_str());
        span.record("cost_usd", d.cost_usd);
        d
    }

    async fn activity(&self, instance: &Instance, since: chrono::DateTime<Utc>) -> waooaw_domain::Activity {
        let tenant = instance.tenant_id;
        let mut out = waooaw_domain::Activity::default();
        match self.store.decision_summary(Some(tenant), waooaw_domain::SummaryGroup::Instance, Some(since)).await {
            Ok(rows) => {
                let me = instance.id.to_string();
                out.by_method = rows.into_iter().filter(|r| r.group == me).map(|r| (r.method, r.decisions, r.cost_usd)).collect();
            }
            Err(e) => TierFallback { tenant_id: tenant, instance_id: instance.id, tier: "report", error: &e.to_string() }.emit(),
        }
        match self.store.list_escalations(tenant, Some(EscalationStatus::Pending), 1000).await {
            Ok(list) => out.pending_escalations = list.iter().filter(|e| e.instance_id == instance.id).count(),
            Err(e) => TierFallback { tenant_id: tenant, instance_id: instance.id, tier: "report", error: &e.to_string() }.emit(),
        }
        out
    }

    async fn draft(
        &self,
        spec: &Specialization,
        instance: &Instance,
        request: waooaw_domain::DraftRequest,
    ) -> Result<waooaw_domain::Draft, waooaw_domain::DraftError> {
        let Some(llm) = &self.llm else { return Err(waooaw_domain::DraftError::NoProvider) };
        if request.tenant_id != instance.tenant_id || request.instance_id != instance.id {
            return Err(waooaw_domain::DraftError::Refused("the draft request names another instance or tenant".into()));
        }
        let started = Instant::now();
        let (draft, logged) = crate::drafting::write(llm, &self.budgets, spec, instance, &request).await;
        if let Some(mut d) = logged {
            d.duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let as_request = DecisionRequest {
                request_type: format!("draft.{}", request.kind),
                tenant_id: request.tenant_id,
                instance_id: request.instance_id,
                context: json!({"brief": request.brief}),
                urgency: waooaw_domain::Urgency::Normal,
            };
            DecisionMade {
                tenant_id: request.tenant_id,
                instance_id: request.instance_id,
                specialization: &spec.id,
                request_type: &as_request.request_type,
                decision: &d,
            }
            .emit();
            self.log.record(spec, &as_request, &d);
        }
        if let Err(e) = &draft {
            TierFallback { tenant_id: request.tenant_id, instance_id: request.instance_id, tier: "draft", error: &e.to_string() }.emit();
        }
        draft
    }

    async fn recall(&self, instance: &Instance, kinds: &[&str], query: &str, k: usize) -> Vec<waooaw_domain::Recollection> {
        match self.memory.recall(instance.tenant_id, Some(instance.id), Some(kinds), query, k).await {
            Ok(hits) => hits
                .into_iter()
                .map(|h| waooaw_domain::Recollection {
                    id: h.memory.id,
                    kind: h.memory.kind.clone(),
                    text: h.memory.text.clone(),
                    metadata: h.memory.metadata.clone(),
                    score: h.score,
                })
                .collect(),
            Err(e) => {
                TierFallback { tenant_id: instance.tenant_id, instance_id: instance.id, tier: "memory", error: &e.to_string() }.emit();
                Vec::new()
            }
        }
    }
}

/// Actions named by a request context or a decision's fields: `action`, or `actions` (a list).
fn proposed_actions(v: &Value) -> impl Iterator<Item = &str> {
    let one = v.get("action").and_then(Value::as_str);
    let many = v.get("actions").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    one.into_iter().chain(many)
}

fn constraint_decision(spec: &Specialization, v: &Value) -> Option<Decision> {
    let (action, c) = proposed_actions(v).find_map(|a| spec.forbids(a).map(|c| (a, c)))?;
    let mut d = Decision::free(c.on_violation.verdict(), format!("`{action}` is forbidden: {}", c.reason), 1.0, Method::Constraint);
    d.citations.push(Citation { kind: "constraint".into(), id: action.to_owned(), excerpt: c.reason.clone() });
    Some(d)
}

/// Applied to every answer: one that would take a forbidden action becomes the constraint's.
fn enforce_constraints(spec: &Specialization, d: &mut Decision) {
    if matches!(d.verdict, Verdict::Reject | Verdict::Escalate) {
        return;
    }
    if let Some(mut forced) = constraint_decision(spec, &d.fields) {
        forced.citations.push(Citation { kind: "overridden".into(), id: d.method.as_str().into(), excerpt: d.reason.clone() });
        (forced.cost_usd, forced.tokens_in, forced.tokens_out, forced.model) = (d.cost_usd, d.tokens_in, d.tokens_out, d.model.take());
        *d = forced;
    }
}

fn stored_decision(metadata: &Value) -> Option<Decision> {
    let d = metadata.get("decision")?;
    let verdict = Verdict::parse(d.get("verdict")?.as_str()?)?;
    let reason = d.get("reason")?.as_str()?.to_owned();
    let confidence = d.get("confidence").and_then(Value::as_f64).unwrap_or(0.0).clamp(0.0, 1.0);
    let mut out = Decision::free(verdict, reason, confidence, Method::Memory);
    out.fields = d.get("fields").cloned().unwrap_or(Value::Null);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn guardian() -> Specialization {
        let text = include_str!("../../../catalog/wowvision-prime.toml");
        Specialization::from_toml("wowvision-prime.toml", text, &["wowvision.watch"]).expect("catalog spec")
    }

    fn any_verdict() -> impl Strategy<Value = Verdict> {
        prop::sample::select(Verdict::ALL.to_vec())
    }

    fn any_method() -> impl Strategy<Value = Method> {
        prop::sample::select(vec![Method::Cache, Method::Rules, Method::Memory, Method::Llm, Method::Fallback])
    }

    fn any_action() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["merge_pull_request", "delete_file", "change_layer1_principle", "comment", "open_issue", "label"])
            .prop_map(str::to_owned)
    }

    proptest! {
        /// Whatever a tier answers, no decision approves or acts on a forbidden action.
        #[test]
        fn no_tier_overrides_a_constraint(verdict in any_verdict(), method in any_method(), action in any_action(),
                                          extra in prop::collection::vec(any_action(), 0..3), confidence in 0.0f64..=1.0) {
            let spec = guardian();
            let mut d = Decision::free(verdict, "tier said so", confidence, method);
            d.fields = json!({"action": action, "actions": extra});
            enforce_constraints(&spec, &mut d);
            let forbidden: Vec<&str> = std::iter::once(action.as_str()).chain(extra.iter().map(String::as_str))
                .filter(|a| spec.forbids(a).is_some()).collect();
            if !forbidden.is_empty() {
                prop_assert!(matches!(d.verdict, Verdict::Reject | Verdict::Escalate), "{d:?}");
            }
            if let Some(first) = forbidden.first().filter(|_| matches!(verdict, Verdict::Approve | Verdict::Act)) {
                prop_assert_eq!(d.method, Method::Constraint);
                prop_assert_eq!(d.verdict, spec.forbids(first).map(|c| c.on_violation.verdict()).unwrap());
            }
        }
    }

    #[test]
    fn a_forbidden_request_is_decided_by_its_constraint() {
        let spec = guardian();
        let d = constraint_decision(&spec, &json!({"action": "merge_pull_request", "pr": 42})).expect("forbidden");
        assert_eq!((d.verdict, d.method), (Verdict::Reject, Method::Constraint));
        assert!(d.reason.contains("merging is a human decision"), "{}", d.reason);
        let d = constraint_decision(&spec, &json!({"actions": ["comment", "change_layer1_principle"]})).expect("forbidden");
        assert_eq!(d.verdict, Verdict::Escalate, "layer 1 changes go to a human");
        assert!(constraint_decision(&spec, &json!({"action": "comment"})).is_none());
        assert!(constraint_decision(&spec, &json!("not an object")).is_none());
    }
}
