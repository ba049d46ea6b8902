//! `waooaw bench decide`: latency of the cheap decision tiers (cache, rules, memory) through
//! `Engine::decide`, one decision at a time (one core), with `--memories` stored memories in one
//! tenant (default 100,000) so the memory tier is measured at scale; and the circuit breaker's
//! cost per LLM call (`bench_breaker`), in nanoseconds.

use anyhow::Result;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use waooaw_decisions::canonical::request_text;
use waooaw_decisions::{EmbedSource, Embedder, Engine, EngineConfig, HashedNgramEmbedder, IndexConfig, SemanticMemory};
use waooaw_domain::{DecisionRequest, Instance, Memory, Method, Personality, Specialization, Tenant, TenantId, Urgency};

const SPEC: &str = r#"
id = "content-review"
name = "Content Marketing (healthcare)"
type = "specialist"
domain = "marketing"
version = "1.0.0"
responsibilities = ["Review healthcare marketing drafts for compliance"]
work = "bench.none"

[[rules]]
id = "reject-cure-claims"
applies_to = ["content.compliance"]
outcome = "reject"
reason = "Claims such as 'cure' or 'guaranteed' need clinical substantiation"
confidence = 0.98
[rules.when]
field = "text"
contains_any = ["cure", "cures", "guaranteed", "miracle"]

[wake]
subscriptions = ["file.*"]
"#;

const TOPICS: &[&str] = &[
    "Newsletter on seasonal flu vaccination clinics with opening hours and booking links",
    "Blog post about managing type 2 diabetes through diet, exercise and regular checkups",
    "Social post announcing a new pediatric dental practice and its insurance partners",
    "Landing page for telehealth physiotherapy sessions after knee surgery",
    "Email campaign reminding patients about annual skin cancer screenings",
    "Press release on a hospital's new cardiac rehabilitation program",
    "Brochure describing allergy testing options for children and adults",
    "Video script explaining how to prepare for a colonoscopy appointment",
];
const WORDS: &[&str] = &[
    "patients",
    "clinic",
    "doctor",
    "nurse",
    "appointment",
    "insurance",
    "wellness",
    "screening",
    "therapy",
    "recovery",
    "nutrition",
    "exercise",
    "family",
    "pharmacy",
    "symptoms",
    "prevention",
    "community",
    "weekend",
    "online",
    "referral",
];

fn draft(i: usize) -> String {
    let topic = TOPICS[i % TOPICS.len()];
    let extra: Vec<&str> = (0..5).map(|k| WORDS[(i * 7 + k * 13 + i / 3) % WORDS.len()]).collect();
    format!("{topic}, campaign {i} for region {}: {}.", i % 97, extra.join(" "))
}

fn request(instance: &Instance, text: String) -> DecisionRequest {
    DecisionRequest {
        tenant_id: instance.tenant_id,
        instance_id: instance.id,
        request_type: "content.compliance".into(),
        context: json!({"text": text, "channel": "email"}),
        urgency: Urgency::Normal,
    }
}

struct Tier {
    hist: Histogram<u64>,
    wrong_method: usize,
}

impl Tier {
    fn new() -> Result<Self> {
        Ok(Self { hist: Histogram::new(3)?, wrong_method: 0 })
    }

    fn report(&self) -> Value {
        let mean = self.hist.mean().max(0.001);
        json!({"p50_us": self.hist.value_at_quantile(0.5), "p99_us": self.hist.value_at_quantile(0.99), "max_us": self.hist.max(),
            "per_sec": (1e6 / mean).round(), "samples": self.hist.len(), "other_method": self.wrong_method})
    }
}

async fn measure(engine: &Engine, spec: &Specialization, instance: &Instance, req: DecisionRequest, want: Method, tier: &mut Tier) {
    let t = Instant::now();
    let d = engine.decide(spec, instance, req).await;
    let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
    let _ = tier.hist.record(us.max(1));
    if d.method != want {
        tier.wrong_method += 1;
    }
}

pub async fn run(memories: usize, samples: usize, as_json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    store.migrate().await?;
    let tenant = Tenant {
        id: TenantId::new(),
        name: "Bench Health".into(),
        webhook_secret: "bench-secret-0123456789".into(),
        created_at: chrono::Utc::now(),
    };
    store.create_tenant(&tenant).await?;
    let instance = Instance::on_trial(
        tenant.id,
        "content-review",
        Personality { name: "Maya".into(), ..Default::default() },
        chrono::Utc::now(),
        None,
    );
    store.create_instance(&instance).await?;
    let spec = Specialization::from_toml("content-review.toml", SPEC, &["bench.none"])?;

    // Past decisions, stored as the engine stores them (text = the request's canonical text).
    let t_fill = Instant::now();
    let embedder = HashedNgramEmbedder::new();
    for i in 0..memories {
        let text = request_text(&request(&instance, draft(i)));
        let m = Memory {
            id: uuid::Uuid::now_v7(),
            tenant_id: tenant.id,
            instance_id: Some(instance.id),
            kind: "decision".into(),
            vector: embedder.embed(&text),
            text,
            metadata: json!({"request_type": "content.compliance",
                "decision": {"verdict": "approve", "reason": "no medical claims", "confidence": 0.9, "fields": {}}}),
            embedding_id: embedder.id().to_owned(),
            seq: 0,
            created_at: chrono::Utc::now(),
        };
        store.insert_memory(&m).await?;
    }
    let t_index = Instant::now();
    let memory = SemanticMemory::open(store.clone(), EmbedSource::Offline(HashedNgramEmbedder::new()), IndexConfig::default()).await?;
    eprintln!(
        "bench: stored {memories} memories in {:.1}s, indexed them in {:.1}s",
        (t_index - t_fill).as_secs_f64(),
        t_index.elapsed().as_secs_f64()
    );
    let engine = Engine::new(store.clone(), Arc::new(memory), None, EngineConfig::default());

    let (mut rules, mut mem, mut cache) = (Tier::new()?, Tier::new()?, Tier::new()?);
    let step = (memories / samples.max(1)).max(1);
    for n in 0..samples {
        let i = (n * step) % memories.max(1);
        // Rules: a cure claim.
        let claim = format!("{} This supplement cures it, guaranteed.", draft(i));
        measure(&engine, &spec, &instance, request(&instance, claim), Method::Rules, &mut rules).await;
        // Memory: a stored case with its channel line changed misses the cache, not the memory.
        let mut near = request(&instance, draft(i));
        near.context["channel"] = json!("newsletter email");
        measure(&engine, &spec, &instance, near.clone(), Method::Memory, &mut mem).await;
        // Cache: the same request again.
        measure(&engine, &spec, &instance, near, Method::Cache, &mut cache).await;
    }
    engine.flush_log().await;
    let overhead = crate::bench_overhead::run(store.clone(), &spec, &instance, samples.max(10_000)).await?;
    let breaker = crate::bench_breaker::run(samples.max(10_000))?;
    let report = json!({
        "bench": "decide", "memories": memories, "samples": samples, "cores_used": 1, "store": store.kind(),
        "embedding": embedder.id(),
        "tiers": {"cache": cache.report(), "rules": rules.report(), "memory": mem.report()},
        "llm_overhead": overhead,
        "breaker": breaker,
    });
    if as_json {
        println!("{report}");
    } else {
        println!("{:<8} {:>8} {:>8} {:>8} {:>10} {:>8}", "tier", "p50_us", "p99_us", "max_us", "per_sec", "other");
        for tier in ["cache", "rules", "memory"] {
            let t = &report["tiers"][tier];
            // `Value`'s Display ignores widths: format the numbers as strings.
            let [p50, p99, max, per_sec, other] = ["p50_us", "p99_us", "max_us", "per_sec", "other_method"].map(|k| t[k].to_string());
            println!("{tier:<8} {p50:>8} {p99:>8} {max:>8} {per_sec:>10} {other:>8}");
        }
        for (row, key, note) in [
            ("budget (in memory)", "budget_in_memory_reserve_and_settle", "reserve + settle, the embedded default"),
            ("budget+breaker+metrics", "total_budget_breaker_metrics", "all an LLM call adds"),
        ] {
            let b = &report["llm_overhead"][key];
            println!("{row:<30} p50 {} ns, p99 {} ns, max {} ns  ({note})", b["p50_ns"], b["p99_ns"], b["max_ns"]);
        }
        let b = &report["llm_overhead"]["budget_store_reserve_and_settle"];
        println!("{:<30} p50 {} µs, p99 {} µs  (ledger shared in the store)", "budget (store)", b["p50_us"], b["p99_us"]);
        for (row, key) in
            [("breaker closed allow+success", "closed_allow_success"), ("breaker cycling allow+record", "cycling_allow_record")]
        {
            let b = &report["breaker"][key];
            println!("{row:<30} p50 {} ns, p99 {} ns, max {} ns", b["p50_ns"], b["p99_ns"], b["max_ns"]);
        }
    }
    Ok(())
}
