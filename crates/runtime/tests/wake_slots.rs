//! The runtime wakes at most `wake_concurrency` instances at once, and a wake waiting for a
//! consult's answer lends its slot, so even one slot never deadlocks an ask and its answer.
//! Both deployments: SQLite + in-process bus, and PostgreSQL + Redis Streams.

use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waooaw_bus::DynBus;
use waooaw_domain::{EventType, NewEvent, Personality, Recipient, Reply, Tenant, TenantId};
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig, WakeInput, WorkError, WorkFn, WorkOutput, WorkRegistry, message_of};
use waooaw_store::DynStore;

/// Counts the wakes running at once and keeps the highest count seen.
#[derive(Default)]
struct Overlap {
    now: AtomicUsize,
    most: AtomicUsize,
    done: AtomicUsize,
}

struct Slow(Arc<Overlap>);

#[async_trait::async_trait]
impl WorkFn for Slow {
    async fn run(&self, _input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let running = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.most.fetch_max(running, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.0.now.fetch_sub(1, Ordering::SeqCst);
        self.0.done.fetch_add(1, Ordering::SeqCst);
        Ok(WorkOutput::new(json!({}), "slept"))
    }
}

/// On `ask.now`, consults the tenant's answerer and records what came back (or the error).
struct Ask(Arc<Mutex<Vec<Result<Value, String>>>>);

#[async_trait::async_trait]
impl WorkFn for Ask {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        if input.event.event_type.as_str() != "ask.now" {
            return Ok(WorkOutput::new(json!({}), "not a question"));
        }
        let to = Recipient::Specialization("answerer".into());
        let answer = input.consult(to, "echo.twice", json!({"n": 21}), Duration::from_secs(20)).await.map_err(|e| e.to_string());
        self.0.lock().unwrap().push(answer);
        Ok(WorkOutput::new(json!({}), "asked"))
    }
}

struct Answer;

#[async_trait::async_trait]
impl WorkFn for Answer {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let n = message_of(input.event).and_then(|m| m.payload.get("n").and_then(Value::as_i64)).unwrap_or(0);
        Ok(WorkOutput::new(json!({}), "answered").with_reply(Reply::Ok { result: json!({"twice": n * 2}) }))
    }
}

const SPECS: &[(&str, &str)] = &[
    (
        "sleeper.toml",
        "id = \"sleeper\"\nname = \"Sleeper\"\ntype = \"specialist\"\ndomain = \"platform\"\nversion = \"1.0.0\"\nresponsibilities = [\"sleep\"]\nwork = \"test.slow\"\n[wake]\nsubscriptions = [\"burst.go\"]\n",
    ),
    (
        "asker.toml",
        "id = \"asker\"\nname = \"Asker\"\ntype = \"specialist\"\ndomain = \"platform\"\nversion = \"1.0.0\"\nresponsibilities = [\"ask\"]\nwork = \"test.ask\"\n[wake]\nsubscriptions = [\"ask.now\"]\n",
    ),
    (
        "answerer.toml",
        "id = \"answerer\"\nname = \"Answerer\"\ntype = \"advisory\"\ndomain = \"platform\"\nversion = \"1.0.0\"\nresponsibilities = [\"answer\"]\nwork = \"test.answer\"\n[wake]\nsubscriptions = [\"answer.never\"]\n[messages.\"echo.twice\"]\ndescription = \"Doubles n.\"\n[messages.\"echo.twice\".schema]\ntype = \"object\"\nrequired = [\"n\"]\n",
    ),
];

struct Env {
    rt: Arc<Runtime>,
    store: DynStore,
    overlap: Arc<Overlap>,
    answers: Arc<Mutex<Vec<Result<Value, String>>>>,
}

async fn start(store: DynStore, bus: DynBus, slots: usize) -> Env {
    let overlap = Arc::new(Overlap::default());
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut work = WorkRegistry::default();
    work.register("test.slow", Arc::new(Slow(overlap.clone())));
    work.register("test.ask", Arc::new(Ask(answers.clone())));
    work.register("test.answer", Arc::new(Answer));
    let catalog = Catalog::from_texts(SPECS.iter().copied(), &work.names()).expect("test catalog");
    let config = RuntimeConfig { wake_concurrency: slots, shared_store: bus.kind() == "redis", ..Default::default() };
    let rt = Runtime::start(config, store.clone(), bus, Arc::new(catalog), work, None, None).await.expect("runtime starts");
    Env { rt, store, overlap, answers }
}

async fn tenant(env: &Env) -> TenantId {
    let t = Tenant {
        id: TenantId::new(),
        name: "Slots Co".into(),
        webhook_secret: "whsec-0123456789abcdef".into(),
        created_at: chrono::Utc::now(),
    };
    env.store.create_tenant(&t).await.expect("tenant");
    t.id
}

async fn hire(env: &Env, t: TenantId, spec: &str, name: &str) {
    env.rt.create_instance(t, spec, Personality { name: name.into(), ..Default::default() }).await.expect("instance");
}

fn ev(t: TenantId, ty: &str) -> NewEvent {
    NewEvent::new(EventType::parse(ty).expect("type"), "test", t, json!({}))
}

/// Polls until `f` holds (tests may wait; benchmarks measure).
async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// One event concerning ten instances, two slots: never more than two wakes at once.
async fn an_event_for_many_instances_wakes_them_two_at_a_time(env: Env) {
    let t = tenant(&env).await;
    for i in 0..10 {
        hire(&env, t, "sleeper", &format!("Sleeper {i}")).await;
    }
    env.rt.publish(ev(t, "burst.go")).await.unwrap();
    env.rt.publish(ev(t, "burst.go")).await.unwrap();
    eventually("all twenty wakes", || env.overlap.done.load(Ordering::SeqCst) == 20).await;
    assert_eq!(env.overlap.most.load(Ordering::SeqCst), 2, "the two slots were used, and never more");
}

/// One slot: the asker's wake holds it, and the answer needs a wake of its own.
async fn a_consult_is_answered_with_a_single_slot(env: Env) {
    let t = tenant(&env).await;
    hire(&env, t, "asker", "Asker").await;
    hire(&env, t, "answerer", "Answerer").await;
    env.rt.publish(ev(t, "ask.now")).await.unwrap();
    env.rt.publish(ev(t, "ask.now")).await.unwrap();
    eventually("both consults come back", || env.answers.lock().unwrap().len() == 2).await;
    for answer in env.answers.lock().unwrap().iter() {
        assert_eq!(answer.as_ref().expect("answered, not past its deadline"), &json!({"twice": 42}));
    }
}

macro_rules! on_both {
    ($($case:ident: $slots:expr),* $(,)?) => {
        mod sqlite_inprocess {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let deployment = waooaw_testkit::Deployment::embedded().await;
                let env = start(deployment.store.clone(), deployment.bus.clone(), $slots).await;
                let rt = env.rt.clone();
                super::$case(env).await;
                rt.shutdown(Duration::from_secs(1)).await;
            })*
        }
        mod postgres_redis {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(deployment) = waooaw_testkit::Deployment::scale_out(stringify!($case)).await else { return };
                let env = start(deployment.store.clone(), deployment.bus.clone(), $slots).await;
                let rt = env.rt.clone();
                super::$case(env).await;
                rt.shutdown(Duration::from_secs(1)).await;
                deployment.finish().await;
            })*
        }
    };
}

on_both!(
    an_event_for_many_instances_wakes_them_two_at_a_time: 2,
    a_consult_is_answered_with_a_single_slot: 1,
);
