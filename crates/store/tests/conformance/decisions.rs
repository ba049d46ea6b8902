//! Conformance cases of the decision engine's persistence (`DecisionStore`): the decision
//! cache, memories, the decision log and its summaries, escalations. Listed in `conformance!`
//! with the others, so each runs on SQLite and on PostgreSQL.

use super::{now, setup};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;
use waooaw_domain::{
    Citation, Decision, DecisionRecord, DecisionRequest, Escalation, EscalationStatus, EventId, HumanAnswer, InstanceId, Memory, Method,
    SummaryGroup, TenantId, TierSummaryRow, Urgency, Verdict,
};
use waooaw_store::{DynStore, StoreError};

// ---------------------------------------------------------------------------------------------
// Realistic data
// ---------------------------------------------------------------------------------------------

/// A decision by the LLM tier, priced per million tokens like a real model.
fn llm(verdict: Verdict, reason: &str, confidence: f64, tokens_in: u64, tokens_out: u64) -> Decision {
    let cost = tokens_in as f64 * 3.0e-6 + tokens_out as f64 * 15.0e-6;
    Decision {
        verdict,
        fields: json!({ "severity": "medium" }),
        reason: reason.to_owned(),
        confidence,
        citations: vec![Citation {
            kind: "rule".into(),
            id: "health-claims/unsupported-efficacy".into(),
            excerpt: "no cure claims".into(),
        }],
        method: Method::Llm,
        cost_usd: cost,
        tokens_in,
        tokens_out,
        model: Some("claude-sonnet-4".into()),
        duration_us: 1_840_000,
    }
}

fn free(verdict: Verdict, reason: &str, method: Method) -> Decision {
    let mut d = Decision::free(verdict, reason, 0.97, method);
    d.duration_us = 85;
    d
}

/// A 1536-dimension embedding with varied exponents and signs, plus the awkward values.
fn embedding(seed: f32) -> Vec<f32> {
    let mut v: Vec<f32> = (0..1536).map(|i| ((i as f32 + seed) * 0.618_034).sin() * 10f32.powi(i % 7 - 4)).collect();
    v[0] = -0.0;
    v[1] = 1.0e-42; // subnormal
    v[2] = f32::MAX;
    v[3] = f32::MIN_POSITIVE;
    v
}

fn memory(tenant: TenantId, instance: Option<InstanceId>, kind: &str, text: &str, seed: f32) -> Memory {
    Memory {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        instance_id: instance,
        kind: kind.to_owned(),
        text: text.to_owned(),
        metadata: json!({ "source": "escalation", "request_type": "content.compliance", "tags": ["health-claims"] }),
        embedding_id: "openai/text-embedding-3-small".to_owned(),
        vector: embedding(seed),
        seq: 0,
        created_at: now(),
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn record(tenant: TenantId, instance: InstanceId, spec: &str, request_type: &str, decision: Decision, at: DateTime<Utc>) -> DecisionRecord {
    DecisionRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        instance_id: instance,
        specialization_id: spec.to_owned(),
        request_type: request_type.to_owned(),
        context: json!({ "path": "content/blog/calm-tea.md", "channel": "blog", "author": "dana" }),
        decision,
        created_at: at,
    }
}

fn escalation(tenant: TenantId, instance: InstanceId, question: &str, urgency: Urgency, at: DateTime<Utc>) -> Escalation {
    let request = DecisionRequest {
        tenant_id: tenant,
        instance_id: instance,
        request_type: "content.compliance".to_owned(),
        context: json!({ "path": "content/blog/calm-tea.md", "claim": "clinically proven to reduce anxiety" }),
        urgency,
    };
    Escalation {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        instance_id: instance,
        event_id: Some(EventId::new()),
        request,
        question: question.to_owned(),
        urgency,
        status: EscalationStatus::Pending,
        answer: None,
        created_at: at,
        answered_at: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

pub(crate) async fn decision_cache_expires_purges_by_version_and_stays_in_its_tenant(store: DynStore) {
    let (acme, globex) = (TenantId::new(), TenantId::new());
    let t = now();
    let key = "content.compliance:9b2f4c1e0d7a";
    let reject = llm(Verdict::Reject, "\"Clinically proven to reduce anxiety\" is an unsupported efficacy claim.", 0.1 + 0.2, 1234, 310);
    store.cache_put(acme, key, "content-guardian", "7", &reject, t + Duration::hours(1)).await.unwrap();

    let hit = store.cache_get(acme, key, t).await.unwrap().expect("cached");
    assert_eq!(hit, reject);
    assert_eq!((hit.cost_usd.to_bits(), hit.confidence.to_bits()), (reject.cost_usd.to_bits(), reject.confidence.to_bits()));
    assert_eq!(store.cache_get(globex, key, t).await.unwrap(), None, "never across tenants");
    assert_eq!(store.cache_get(acme, "content.compliance:0000", t).await.unwrap(), None);
    assert_eq!(store.cache_get(acme, key, t + Duration::hours(1)).await.unwrap(), None, "expired at expires_at");

    // Upsert: a newer decision under the same key replaces the old one; another tenant's entry
    // under the same key is its own.
    let approve = free(Verdict::Approve, "Matches approved claim list entry #14 (\"a calming blend\").", Method::Rules);
    store.cache_put(acme, key, "content-guardian", "8", &approve, t + Duration::hours(2)).await.unwrap();
    store.cache_put(globex, key, "content-guardian", "7", &reject, t + Duration::minutes(30)).await.unwrap();
    assert_eq!(store.cache_get(acme, key, t + Duration::hours(1)).await.unwrap(), Some(approve.clone()));
    assert_eq!(store.cache_get(globex, key, t).await.unwrap(), Some(reject.clone()));

    let review = free(Verdict::Approve, "Diff touches docs only; no reviewers required.", Method::Rules);
    store.cache_put(acme, "pr.review:4410", "pr-reviewer", "2", &review, t + Duration::hours(3)).await.unwrap();

    // Version 8 of content-guardian is current: globex's version-7 entry goes, the rest stays.
    assert_eq!(store.cache_purge_spec("content-guardian", "8").await.unwrap(), 1);
    assert_eq!(store.cache_purge_spec("content-guardian", "8").await.unwrap(), 0);
    assert_eq!(store.cache_get(globex, key, t).await.unwrap(), None);
    assert_eq!(store.cache_get(acme, key, t).await.unwrap(), Some(approve));
    assert_eq!(store.cache_get(acme, "pr.review:4410", t).await.unwrap(), Some(review.clone()));

    assert_eq!(store.cache_purge_expired(t + Duration::hours(2)).await.unwrap(), 1, "acme's content entry expires at +2h");
    assert_eq!(store.cache_purge_expired(t + Duration::hours(2)).await.unwrap(), 0);
    assert_eq!(store.cache_get(acme, "pr.review:4410", t).await.unwrap(), Some(review));
    assert_eq!(store.cache_purge_expired(t + Duration::days(1)).await.unwrap(), 1);
}

pub(crate) async fn memories_keep_seq_order_exact_vectors_and_tenant_scope(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let (globex, otto) = setup(&store, "Globex Retail").await;
    let mut m1 = memory(acme.id, Some(vera.id), "human_answer", "Ops approved \"supports restful sleep\" with a citation.", 1.0);
    let mut m2 = memory(acme.id, None, "playbook", "Never state that a product treats, cures or prevents a condition.", 2.0);
    let mut m3 = memory(globex.id, Some(otto.id), "battlecard", "Against FleetCo: we price per delivery, not per seat.", 3.0);
    m2.metadata = json!({});
    m3.vector = Vec::new();
    for m in [&mut m1, &mut m2, &mut m3] {
        m.seq = store.insert_memory(m).await.unwrap();
    }
    assert!(0 < m1.seq && m1.seq < m2.seq && m2.seq < m3.seq, "{} {} {}", m1.seq, m2.seq, m3.seq);
    let dup = store.insert_memory(&m1).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let got = store.get_memory(acme.id, m1.id).await.unwrap().expect("stored");
    assert_eq!(bits(&got.vector), bits(&m1.vector), "vectors come back bit for bit");
    assert_eq!(got, m1);
    assert_eq!(store.get_memory(acme.id, m2.id).await.unwrap(), Some(m2.clone()), "shared knowledge has no instance");
    assert_eq!(store.get_memory(globex.id, m1.id).await.unwrap(), None, "wrong tenant");
    assert_eq!(store.get_memory(acme.id, Uuid::now_v7()).await.unwrap(), None);

    let all = store.memories_after(0, 100).await.unwrap();
    assert_eq!(all, vec![m1.clone(), m2.clone(), m3.clone()], "every tenant, in seq order");
    assert_eq!(store.memories_after(m1.seq, 100).await.unwrap(), vec![m2.clone(), m3.clone()]);
    assert_eq!(store.memories_after(0, 2).await.unwrap(), vec![m1.clone(), m2.clone()]);
    assert!(store.memories_after(m3.seq, 100).await.unwrap().is_empty());

    assert_eq!(store.count_memories(acme.id).await.unwrap(), 2);
    assert_eq!(store.count_memories(globex.id).await.unwrap(), 1);
    assert_eq!(store.count_memories(TenantId::new()).await.unwrap(), 0);

    assert!(!store.delete_memory(globex.id, m1.id).await.unwrap(), "wrong tenant cannot delete");
    assert_eq!(store.count_memories(acme.id).await.unwrap(), 2);
    assert!(store.delete_memory(acme.id, m1.id).await.unwrap());
    assert!(!store.delete_memory(acme.id, m1.id).await.unwrap(), "already gone");
    assert_eq!(store.get_memory(acme.id, m1.id).await.unwrap(), None);
    assert_eq!(store.count_memories(acme.id).await.unwrap(), 1);

    // The newest memory deleted, a new one still gets a higher seq than any handed out, so a
    // reader that saw m3 does not miss it.
    assert!(store.delete_memory(globex.id, m3.id).await.unwrap());
    let mut m4 = memory(globex.id, None, "decision", "Rejected a discount above 30% without finance sign-off.", 4.0);
    m4.seq = store.insert_memory(&m4).await.unwrap();
    assert!(m4.seq > m3.seq, "seq {} reused after {}", m4.seq, m3.seq);
    assert_eq!(store.memories_after(m1.seq, 100).await.unwrap(), vec![m2, m4]);
}

/// Per (group, tier): decisions, cost, tokens in, tokens out; computed from the fixtures.
fn expected_summary(
    records: &[&DecisionRecord],
    tenant: Option<TenantId>,
    since: Option<DateTime<Utc>>,
    group: SummaryGroup,
) -> Vec<TierSummaryRow> {
    let mut sums: BTreeMap<(String, usize), (i64, f64, i64, i64)> = BTreeMap::new();
    for r in records {
        if tenant.is_some_and(|t| t != r.tenant_id) || since.is_some_and(|s| r.created_at < s) {
            continue;
        }
        let key = match group {
            SummaryGroup::Tenant => r.tenant_id.to_string(),
            SummaryGroup::Instance => r.instance_id.to_string(),
            SummaryGroup::Specialization => r.specialization_id.clone(),
            SummaryGroup::Day => r.created_at.format("%Y-%m-%d").to_string(),
        };
        let rank = Method::ALL.iter().position(|m| *m == r.decision.method).unwrap();
        let e = sums.entry((key, rank)).or_default();
        e.0 += 1;
        e.1 += r.decision.cost_usd;
        e.2 += r.decision.tokens_in as i64;
        e.3 += r.decision.tokens_out as i64;
    }
    sums.into_iter()
        .map(|((group, rank), (decisions, cost_usd, tokens_in, tokens_out))| TierSummaryRow {
            group,
            method: Method::ALL[rank],
            decisions,
            cost_usd,
            tokens_in,
            tokens_out,
        })
        .collect()
}

fn assert_summary(got: &[TierSummaryRow], want: &[TierSummaryRow], what: &str) {
    let key = |r: &TierSummaryRow| (r.group.clone(), r.method, r.decisions, r.tokens_in, r.tokens_out);
    assert_eq!(got.iter().map(key).collect::<Vec<_>>(), want.iter().map(key).collect::<Vec<_>>(), "{what}");
    for (g, w) in got.iter().zip(want) {
        // Sums may add in another order than the fixture's; a few units in the last place.
        assert!((g.cost_usd - w.cost_usd).abs() < 1e-12, "{what}: {} cost {} != {}", g.group, g.cost_usd, w.cost_usd);
    }
}

pub(crate) async fn decision_log_lists_newest_first_and_sums_by_tier(store: DynStore) {
    let (acme, globex) = (TenantId::new(), TenantId::new());
    let (vera, rex, otto) = (InstanceId::new(), InstanceId::new(), InstanceId::new());
    // Two decisions 200 ms apart straddle UTC midnight.
    let day1 = Utc.with_ymd_and_hms(2025, 3, 10, 23, 59, 59).unwrap() + Duration::milliseconds(900);
    let day2 = day1 + Duration::milliseconds(200);
    let (cg, pr) = ("content-guardian", "pr-reviewer");
    let r1 = record(acme, vera, cg, "content.compliance", free(Verdict::Approve, "Approved claim list entry #14.", Method::Rules), day1);
    let r2 = record(acme, vera, cg, "content.compliance", llm(Verdict::Reject, "Unsupported efficacy claim.", 0.91, 1234, 310), day2);
    let r3 = record(
        acme,
        rex,
        pr,
        "pr.review",
        llm(Verdict::Act, "Migration drops a column still read by billing; request changes.", 0.84, 2100, 450),
        day2 + Duration::hours(1),
    );
    let r4 = record(
        acme,
        rex,
        pr,
        "pr.review",
        free(Verdict::Approve, "Same diff as an approved review.", Method::Cache),
        day2 + Duration::hours(2),
    );
    let r5 = record(
        globex,
        otto,
        cg,
        "content.compliance",
        llm(Verdict::Escalate, "Comparative pricing claim needs legal review.", 0.55, 980, 120),
        day1 - Duration::hours(1),
    );
    let r6 = record(
        globex,
        otto,
        cg,
        "content.compliance",
        free(Verdict::Reject, "Action `publish` is outside this instance's permissions.", Method::Constraint),
        day2,
    );
    let r7 = record(
        acme,
        vera,
        cg,
        "content.compliance",
        llm(Verdict::Approve, "Wording is descriptive, not a claim.", 0.88, 1500, 90),
        day2 + Duration::minutes(5),
    );
    let all = [&r1, &r2, &r3, &r4, &r5, &r6, &r7];
    for r in all {
        store.insert_decision(r).await.unwrap();
    }
    let dup = store.insert_decision(&r1).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let acme_log = store.list_decisions(acme, None, 10).await.unwrap();
    assert_eq!(acme_log, vec![r4.clone(), r3.clone(), r7.clone(), r2.clone(), r1.clone()], "newest first, exact round trip");
    assert_eq!(store.list_decisions(acme, None, 2).await.unwrap(), vec![r4.clone(), r3.clone()]);
    assert_eq!(store.list_decisions(acme, Some(vera), 10).await.unwrap(), vec![r7.clone(), r2.clone(), r1.clone()]);
    assert!(store.list_decisions(globex, Some(vera), 10).await.unwrap().is_empty(), "another tenant's instance");
    assert_eq!(store.list_decisions(globex, None, 10).await.unwrap(), vec![r6.clone(), r5.clone()]);
    assert!(store.list_decisions(TenantId::new(), None, 10).await.unwrap().is_empty());

    for group in SummaryGroup::ALL {
        for tenant in [Some(acme), Some(globex), None] {
            for since in [None, Some(day2)] {
                let got = store.decision_summary(tenant, group, since).await.unwrap();
                let want = expected_summary(&all, tenant, since, group);
                assert_summary(&got, &want, &format!("{group:?} tenant {tenant:?} since {since:?}"));
            }
        }
    }
    // The expectations are not vacuous: spot-check a few rows by hand.
    let days = store.decision_summary(Some(acme), SummaryGroup::Day, None).await.unwrap();
    let day_keys: Vec<_> = days.iter().map(|r| (r.group.as_str(), r.method, r.decisions)).collect();
    assert_eq!(
        day_keys,
        [("2025-03-10", Method::Rules, 1), ("2025-03-11", Method::Cache, 1), ("2025-03-11", Method::Llm, 3)],
        "a UTC day per decision, tiers cheapest first"
    );
    let llm_day2 = &days[2];
    assert_eq!((llm_day2.tokens_in, llm_day2.tokens_out), (1234 + 2100 + 1500, 310 + 450 + 90));
    let ops = store.decision_summary(None, SummaryGroup::Specialization, None).await.unwrap();
    let cg_llm = ops.iter().find(|r| r.group == cg && r.method == Method::Llm).expect("content-guardian llm row");
    assert_eq!(cg_llm.decisions, 3, "operator view spans tenants");
    assert!((cg_llm.cost_usd - (r2.decision.cost_usd + r5.decision.cost_usd + r7.decision.cost_usd)).abs() < 1e-12);
    assert!(store.decision_summary(Some(TenantId::new()), SummaryGroup::Tenant, None).await.unwrap().is_empty());
}

pub(crate) async fn escalations_list_pending_oldest_first_and_answer_once(store: DynStore) {
    let (acme, globex) = (TenantId::new(), TenantId::new());
    let (vera, otto) = (InstanceId::new(), InstanceId::new());
    let t0 = now() - Duration::hours(3);
    let e1 = escalation(acme, vera, "Post says \"clinically proven to reduce anxiety\". Publish as written?", Urgency::High, t0);
    let mut e2 =
        escalation(acme, vera, "Newsletter compares our price to FleetCo by name. Allowed?", Urgency::Normal, t0 + Duration::minutes(20));
    e2.event_id = None;
    let e3 = escalation(globex, otto, "Customer asks for a 40% discount on renewal. Approve?", Urgency::Urgent, t0 - Duration::minutes(5));
    for e in [&e2, &e1, &e3] {
        store.insert_escalation(e).await.unwrap();
    }
    let dup = store.insert_escalation(&e1).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    assert_eq!(store.get_escalation(acme, e1.id).await.unwrap(), Some(e1.clone()));
    assert_eq!(store.get_escalation(globex, e1.id).await.unwrap(), None, "wrong tenant cannot see it");
    assert_eq!(store.list_escalations(acme, Some(EscalationStatus::Pending), 10).await.unwrap(), vec![e1.clone(), e2.clone()]);
    assert_eq!(store.list_escalations(acme, Some(EscalationStatus::Pending), 1).await.unwrap(), vec![e1.clone()]);
    assert_eq!(store.list_escalations(globex, None, 10).await.unwrap(), vec![e3.clone()]);
    assert!(store.list_escalations(acme, Some(EscalationStatus::Answered), 10).await.unwrap().is_empty());

    let modify = HumanAnswer {
        verdict: Verdict::Act,
        text: "Publish with \"a calming blend for your evening routine\" instead; drop the clinical claim.".to_owned(),
        answered_by: "compliance@acme-health.example".to_owned(),
    };
    let at = now();
    assert_eq!(store.answer_escalation(globex, e1.id, &modify, at).await.unwrap(), None, "wrong tenant cannot answer");
    assert_eq!(store.get_escalation(acme, e1.id).await.unwrap(), Some(e1.clone()), "still pending");
    assert_eq!(store.answer_escalation(acme, Uuid::now_v7(), &modify, at).await.unwrap(), None, "unknown");

    let answered = store.answer_escalation(acme, e1.id, &modify, at).await.unwrap().expect("first answer wins");
    let want = Escalation { status: EscalationStatus::Answered, answer: Some(modify.clone()), answered_at: Some(at), ..e1.clone() };
    assert_eq!(answered, want);
    let reject = HumanAnswer { verdict: Verdict::Reject, text: "No.".to_owned(), answered_by: "ceo@acme-health.example".to_owned() };
    assert_eq!(store.answer_escalation(acme, e1.id, &reject, now()).await.unwrap(), None, "answered once");
    assert_eq!(store.get_escalation(acme, e1.id).await.unwrap(), Some(want.clone()), "the first answer stands");

    assert_eq!(store.list_escalations(acme, Some(EscalationStatus::Pending), 10).await.unwrap(), vec![e2.clone()]);
    assert_eq!(store.list_escalations(acme, Some(EscalationStatus::Answered), 10).await.unwrap(), vec![want.clone()]);
    assert_eq!(store.list_escalations(acme, None, 10).await.unwrap(), vec![e2, want], "pending first, though newer");
}

pub(crate) async fn concurrent_answers_have_one_winner(store: DynStore) {
    let (acme, vera) = (TenantId::new(), InstanceId::new());
    let e = escalation(acme, vera, "Refund of $1,200 outside the 30-day window. Approve?", Urgency::High, now());
    store.insert_escalation(&e).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        let answer = HumanAnswer {
            verdict: if n % 2 == 0 { Verdict::Approve } else { Verdict::Reject },
            text: format!("decided by reviewer {n}"),
            answered_by: format!("reviewer{n}@acme-health.example"),
        };
        tasks.push(tokio::spawn(async move { store.answer_escalation(acme, e.id, &answer, now()).await }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(won) = t.await.expect("task").expect("answer") {
            winners.push(won);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(store.get_escalation(acme, e.id).await.unwrap().as_ref(), winners.first());
}
