//! One conformance suite, run against both stores: SQLite in a temporary directory and
//! PostgreSQL (at `WAOOAW_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`)
//! in a fresh schema per test. Without PostgreSQL the PostgreSQL cases are skipped with a note on
//! stderr, unless `WAOOAW_REQUIRE_SERVICES=1`, which makes them fail.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::json;
use std::sync::Arc;
use waooaw_domain::{
    DeadLetter, DeliveryOutcome, DeliveryStatus, Event, EventId, EventStatus, EventType, ExternalAction, Instance, InstanceId,
    InstanceStatus, OutboxItem, OutboxStatus, Personality, Priority, Tenant, TenantId,
};
use waooaw_store::postgres::PgStore;
use waooaw_store::sqlite::SqliteStore;
use waooaw_store::{DynStore, Store, StoreError, WakeCommit, WakeResult};

/// The decision engine's cases (`DecisionStore`), in a subdirectory so Cargo does not build
/// them as a test target of their own.
#[path = "conformance/decisions.rs"]
mod decisions;
use decisions::*;
#[path = "conformance/budgets.rs"]
mod budgets;
use budgets::*;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn pg_url() -> String {
    std::env::var("WAOOAW_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

async fn sqlite_store() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data/waooaw.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path")).await.expect("open sqlite");
    let applied = store.migrate().await.expect("migrate sqlite");
    assert!(applied >= 1, "a fresh database applies every migration");
    (Arc::new(store), dir)
}

struct PgHarness {
    store: DynStore,
    schema: String,
    url: String,
}

/// A store in a fresh schema, or `None` (after noting why on stderr) when PostgreSQL is not
/// reachable and the services are not required.
async fn pg_store(test: &str) -> Option<PgHarness> {
    let url = pg_url();
    let schema = format!("waooaw_test_{}", uuid::Uuid::new_v4().simple());
    let connect = tokio::time::timeout(std::time::Duration::from_secs(10), PgStore::connect_with_schema(&url, &schema));
    let connected = match connect.await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("timed out after 10s".to_owned()),
    };
    match connected {
        Ok(store) => {
            let applied = store.migrate().await.expect("migrate postgres");
            assert!(applied >= 1, "a fresh schema applies every migration");
            Some(PgHarness { store: Arc::new(store), schema, url })
        }
        Err(e) => {
            if std::env::var("WAOOAW_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{test}: PostgreSQL required (WAOOAW_REQUIRE_SERVICES=1) but not reachable at {url}: {e}");
            }
            eprintln!("{test}: skipped: PostgreSQL not reachable at {url}: {e}");
            None
        }
    }
}

impl PgHarness {
    async fn drop_schema(self) {
        use sqlx::{Connection, Executor};
        drop(self.store);
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.url).await {
            let _ = conn.execute(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema).as_str()).await;
            let _ = conn.close().await;
        }
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$case(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(h) = super::pg_store(concat!("postgres::", stringify!($case))).await else { return };
                    super::$case(h.store.clone()).await;
                    h.drop_schema().await;
                }
            )*
        }
    };
}

conformance!(
    migrate_twice_is_idempotent,
    tenant_crud,
    instances_are_scoped_by_tenant,
    transition_is_conditional,
    insert_events_batches_and_ignores_duplicates,
    dispatch_and_undispatched_events,
    commit_wake_happy_repeat_and_conflict,
    deferred_deliveries_are_listed_oldest_first,
    batched_commits_decide_each_wake_alone,
    expire_deferred_marks_old_deliveries,
    dead_letters_insert_list_and_redrive_once,
    concurrent_commits_have_one_winner,
    bulk_ingest_in_batches,
    prune_contexts_keeps_the_newest,
    deliverables_are_saved_once_with_their_wake,
    outbox_items_are_saved_with_their_wake_once_per_key,
    handoffs_a_wake_sends_itself_are_due_to_the_task_only_after_their_grace,
    github_connections_are_per_tenant,
    github_outputs_outside_a_wake_need_a_connection_and_go_once,
    task_leases_move_only_from_their_holder,
    conversations_list_a_correlation_in_order_within_the_tenant,
    decision_cache_expires_purges_by_version_and_stays_in_its_tenant,
    memories_keep_seq_order_exact_vectors_and_tenant_scope,
    decision_log_lists_newest_first_and_sums_by_tier,
    escalations_list_pending_oldest_first_and_answer_once,
    concurrent_answers_have_one_winner,
    budget_overrides_are_per_tenant_and_instance,
    budget_reservations_never_pass_a_limit,
    concurrent_reservations_race_for_the_last_of_a_budget,
);

// ---------------------------------------------------------------------------------------------
// Realistic data
// ---------------------------------------------------------------------------------------------

/// Now, at the microsecond precision both stores keep.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn tenant(name: &str) -> Tenant {
    Tenant { id: TenantId::new(), name: name.to_owned(), webhook_secret: format!("whsec-{name}"), created_at: now() }
}

fn instance(tenant: TenantId, status: InstanceStatus) -> Instance {
    let t = now();
    Instance {
        id: InstanceId::new(),
        tenant_id: tenant,
        specialization_id: "wowvision-prime".to_owned(),
        personality: Personality {
            name: "Vera".to_owned(),
            role_title: "Vision Guardian".to_owned(),
            industry: "healthcare".to_owned(),
            tone: "warm, precise".to_owned(),
            focus_areas: vec!["docs/vision.md".to_owned(), "brand voice".to_owned()],
            escalation_contact: "cto@acme-health.example".to_owned(),
        },
        status,
        hired_at: None,
        trial_ends_at: Some(t + Duration::days(7)),
        wake_count: 0,
        last_woken_at: None,
        context_version: 0,
        created_at: t,
        updated_at: t,
    }
}

fn event(tenant: TenantId, event_type: &str, path: &str, ts: DateTime<Utc>) -> Event {
    let id = EventId::new();
    Event {
        id,
        event_type: EventType::parse(event_type).expect("valid type"),
        source: "github:acme-health/platform".to_owned(),
        tenant_id: tenant,
        timestamp: ts,
        payload: json!({ "path": path, "author": "dana", "sha": "9f2c1e7" }),
        correlation_id: id,
        parent_id: None,
        priority: Priority::Normal,
        target_instance: None,
    }
}

/// A tenant with one trial instance, both stored.
async fn setup(store: &DynStore, name: &str) -> (Tenant, Instance) {
    let t = tenant(name);
    store.create_tenant(&t).await.expect("create tenant");
    let i = instance(t.id, InstanceStatus::Trial);
    store.create_instance(&i).await.expect("create instance");
    (t, i)
}

/// Deferrals are for instances that are asleep: the commit refuses one for an awake instance.
async fn set_status(store: &DynStore, i: &Instance, from: InstanceStatus, to: InstanceStatus) {
    store.transition_instance(i.tenant_id, i.id, from, to, now()).await.unwrap().expect("transition");
}

fn done(outcome: &str) -> DeliveryOutcome {
    DeliveryOutcome { status: DeliveryStatus::Done, attempts: 1, outcome: outcome.to_owned() }
}

fn deferred() -> DeliveryOutcome {
    DeliveryOutcome { status: DeliveryStatus::Deferred, attempts: 0, outcome: "instance paused".to_owned() }
}

fn wake(i: &Instance, e: &Event, read_version: i64, state: Option<serde_json::Value>, outcome: DeliveryOutcome) -> WakeCommit {
    WakeCommit {
        tenant_id: i.tenant_id,
        instance_id: i.id,
        event_id: e.id,
        read_version,
        new_state: state,
        deliverables: Vec::new(),
        outbox: Vec::new(),
        handoffs_due_at: None,
        outcome,
        now: now(),
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

async fn migrate_twice_is_idempotent(store: DynStore) {
    assert_eq!(store.migrate().await.unwrap(), 0);
    assert_eq!(store.migrate().await.unwrap(), 0);
    store.ping().await.unwrap();
    assert!(matches!(store.kind(), "sqlite" | "postgres"));
}

async fn tenant_crud(store: DynStore) {
    let acme = tenant("Acme Health");
    let globex = tenant("Globex Logistics");
    store.create_tenant(&acme).await.unwrap();
    store.create_tenant(&globex).await.unwrap();
    assert_eq!(store.get_tenant(acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(store.get_tenant(TenantId::new()).await.unwrap(), None);
    let all = store.list_tenants().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&acme) && all.contains(&globex));
    let dup = store.create_tenant(&acme).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
}

async fn instances_are_scoped_by_tenant(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let globex = tenant("Globex Logistics");
    store.create_tenant(&globex).await.unwrap();

    assert_eq!(store.get_instance(acme.id, vera.id).await.unwrap(), Some(vera.clone()));
    assert_eq!(store.get_instance(globex.id, vera.id).await.unwrap(), None, "wrong tenant sees nothing");
    assert_eq!(store.list_instances(acme.id).await.unwrap(), vec![vera.clone()]);
    assert!(store.list_instances(globex.id).await.unwrap().is_empty());

    let dup = store.create_instance(&vera).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let mut retired = instance(acme.id, InstanceStatus::Retired);
    retired.specialization_id = "brand-voice".to_owned();
    store.create_instance(&retired).await.unwrap();
    let mut hired = instance(globex.id, InstanceStatus::Active);
    hired.hired_at = Some(now());
    store.create_instance(&hired).await.unwrap();
    assert_eq!(store.get_instance(globex.id, hired.id).await.unwrap(), Some(hired.clone()));

    let routes = store.list_routes().await.unwrap();
    assert_eq!(routes.len(), 2, "retired instances are not routed: {routes:?}");
    let vera_route = routes.iter().find(|r| r.id == vera.id).expect("vera routed");
    assert_eq!((vera_route.tenant_id, vera_route.status), (acme.id, InstanceStatus::Trial));
    assert_eq!(vera_route.specialization_id, "wowvision-prime");
    assert!(routes.iter().any(|r| r.id == hired.id && r.tenant_id == globex.id));
}

async fn transition_is_conditional(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let later = now() + Duration::seconds(5);
    let paused = store
        .transition_instance(acme.id, vera.id, InstanceStatus::Trial, InstanceStatus::Paused, later)
        .await
        .unwrap()
        .expect("transition from the current status wins");
    assert_eq!(paused.status, InstanceStatus::Paused);
    assert_eq!(paused.updated_at, later);
    assert_eq!(paused.hired_at, vera.hired_at);
    assert_eq!(paused.context_version, vera.context_version);

    let stale = store.transition_instance(acme.id, vera.id, InstanceStatus::Trial, InstanceStatus::Retired, later).await.unwrap();
    assert_eq!(stale, None, "a transition from a stale status loses");
    let other = store.transition_instance(TenantId::new(), vera.id, InstanceStatus::Paused, InstanceStatus::Trial, later).await.unwrap();
    assert_eq!(other, None, "wrong tenant cannot transition");
    let got = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!(got, paused);

    // Hiring (becoming active) stamps hired_at once; a later pause and resume keep it.
    let resumed = store.transition_instance(acme.id, vera.id, InstanceStatus::Paused, InstanceStatus::Trial, later).await.unwrap().unwrap();
    assert_eq!(resumed.hired_at, None, "back on trial: not hired yet");
    let hired_at = later + Duration::seconds(1);
    let hired =
        store.transition_instance(acme.id, vera.id, InstanceStatus::Trial, InstanceStatus::Active, hired_at).await.unwrap().unwrap();
    assert_eq!(hired.hired_at, Some(hired_at));
    let again = hired_at + Duration::seconds(1);
    store.transition_instance(acme.id, vera.id, InstanceStatus::Active, InstanceStatus::Paused, again).await.unwrap().unwrap();
    let back = store.transition_instance(acme.id, vera.id, InstanceStatus::Paused, InstanceStatus::Active, again).await.unwrap().unwrap();
    assert_eq!(back.hired_at, Some(hired_at), "hired once");
}

async fn insert_events_batches_and_ignores_duplicates(store: DynStore) {
    let acme = TenantId::new();
    let base = now() - Duration::minutes(10);
    let mut events: Vec<Event> =
        (0..1_203).map(|n| event(acme, "file.modified", &format!("docs/vision-{n}.md"), base + Duration::milliseconds(n))).collect();
    events[1].parent_id = Some(events[0].id);
    events[1].correlation_id = events[0].id;
    events[1].priority = Priority::Urgent;
    events[1].target_instance = Some(InstanceId::new());
    events[2].payload = json!({ "files": ["docs/vision.md", "README.md"], "nested": { "ok": true, "n": 1.5 } });
    store.insert_events(&events).await.unwrap();
    store.insert_events(&[]).await.unwrap();

    for e in [&events[0], &events[1], &events[2], &events[600], &events[1_202]] {
        let rec = store.get_event(acme, e.id).await.unwrap().expect("stored");
        assert_eq!(&rec.event, e);
        assert_eq!(rec.status, EventStatus::Accepted);
    }
    assert_eq!(store.get_event(TenantId::new(), events[0].id).await.unwrap(), None, "wrong tenant");
    assert_eq!(store.get_event(acme, EventId::new()).await.unwrap(), None);

    // A retried batch: already-stored ids are ignored (first write wins), new ones are stored.
    let mut retry = events[..3].to_vec();
    retry[0].source = "tampered".to_owned();
    let fresh = event(acme, "commit.pushed", "src/main.rs", now());
    retry.push(fresh.clone());
    store.insert_events(&retry).await.unwrap();
    assert_eq!(store.get_event(acme, events[0].id).await.unwrap().unwrap().event, events[0]);
    assert_eq!(store.get_event(acme, fresh.id).await.unwrap().unwrap().event, fresh);
    let pending = store.undispatched_events(now() + Duration::seconds(5), 10_000).await.unwrap();
    assert_eq!(pending.len(), 1_204);
}

async fn dispatch_and_undispatched_events(store: DynStore) {
    let acme = TenantId::new();
    let first: Vec<Event> = (0..3).map(|n| event(acme, "file.created", &format!("docs/a{n}.md"), now())).collect();
    store.insert_events(&first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second: Vec<Event> = (0..2).map(|n| event(acme, "issue.opened", &format!("docs/b{n}.md"), now())).collect();
    store.insert_events(&second).await.unwrap();

    let horizon = now() + Duration::seconds(5);
    let pending = store.undispatched_events(horizon, 100).await.unwrap();
    let ids: Vec<_> = pending.iter().map(|e| e.id).collect();
    let mut first_ids: Vec<_> = first.iter().map(|e| e.id).collect();
    first_ids.sort();
    let mut second_ids: Vec<_> = second.iter().map(|e| e.id).collect();
    second_ids.sort();
    assert_eq!(ids, [first_ids.clone(), second_ids.clone()].concat(), "accepted_at, then id order");
    assert_eq!(store.undispatched_events(horizon, 2).await.unwrap().len(), 2);
    assert!(store.undispatched_events(now() - Duration::hours(1), 100).await.unwrap().is_empty());

    store.mark_dispatched(&first_ids).await.unwrap();
    store.mark_dispatched(&[]).await.unwrap();
    let pending: Vec<_> = store.undispatched_events(horizon, 100).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(pending, second_ids);
    let rec = store.get_event(acme, first_ids[0]).await.unwrap().unwrap();
    assert_eq!(rec.status, EventStatus::Dispatched);
    assert!(rec.accepted_at <= now());

    // A mark of hundreds (an implementation may split it) marks every one, repeats included.
    let many: Vec<Event> = (0..150).map(|n| event(acme, "file.modified", &format!("src/m{n}.rs"), now())).collect();
    store.insert_events(&many).await.unwrap();
    let mut many_ids: Vec<_> = many.iter().map(|e| e.id).collect();
    many_ids.push(first_ids[0]);
    store.mark_dispatched(&many_ids).await.unwrap();
    let pending: Vec<_> = store.undispatched_events(horizon, 1_000).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(pending, second_ids, "all 150 marked; the earlier ones untouched");
}

async fn batched_commits_decide_each_wake_alone(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let quinn = instance(acme.id, InstanceStatus::Paused);
    store.create_instance(&quinn).await.unwrap();
    let (globex, _) = setup(&store, "Globex Retail").await;
    let e1 = event(acme.id, "file.modified", "docs/vision.md", now());
    let e2 = event(acme.id, "file.modified", "docs/roadmap.md", now());
    store.insert_events(&[e1.clone(), e2.clone()]).await.unwrap();
    assert_eq!(store.commit_wake(&wake(&vera, &e1, 0, Some(json!({"n": 1})), done("first"))).await.unwrap(), WakeResult::Committed(1));

    let mut foreign = wake(&quinn, &e2, 0, Some(json!({"n": 9})), done("foreign"));
    foreign.tenant_id = globex.id;
    let batch = vec![
        wake(&vera, &e1, 1, Some(json!({"n": 99})), done("repeat")), // already done
        wake(&vera, &e2, 1, Some(json!({"n": 2})), done("second")),  // next version
        wake(&quinn, &e1, 5, Some(json!({"n": 1})), done("stale")),  // read a version that is not current
        wake(&quinn, &e2, 0, None, deferred()),                      // paused: delivery kept
        foreign,                                                     // wrong tenant
    ];
    let results = store.commit_wakes(&batch).await.unwrap();
    assert_eq!(
        results,
        vec![WakeResult::AlreadyDone, WakeResult::Committed(2), WakeResult::Conflict, WakeResult::Committed(0), WakeResult::Conflict]
    );
    let v = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((v.context_version, v.wake_count), (2, 2));
    assert_eq!(store.latest_context(acme.id, vera.id).await.unwrap().unwrap().state, json!({"n": 2}));
    let q = store.get_instance(acme.id, quinn.id).await.unwrap().unwrap();
    assert_eq!((q.context_version, q.wake_count), (0, 0), "refused and deferred commits are not wakes");
    assert_eq!(store.get_delivery(acme.id, e1.id, quinn.id).await.unwrap(), None, "a refused commit writes nothing");
    assert_eq!(store.get_delivery(acme.id, e2.id, quinn.id).await.unwrap().unwrap().status, DeliveryStatus::Deferred);
    assert_eq!(store.commit_wakes(&[]).await.unwrap(), vec![]);
}

async fn commit_wake_happy_repeat_and_conflict(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let e1 = event(acme.id, "file.modified", "docs/vision.md", now());
    let e2 = event(acme.id, "file.modified", "docs/roadmap.md", now());
    store.insert_events(&[e1.clone(), e2.clone()]).await.unwrap();
    assert_eq!(store.latest_context(acme.id, vera.id).await.unwrap(), None);

    let state = json!({ "reviewed": ["docs/vision.md"], "open_findings": 2 });
    let c1 = wake(&vera, &e1, 0, Some(state.clone()), done("reviewed docs/vision.md: 2 findings"));
    assert_eq!(store.commit_wake(&c1).await.unwrap(), WakeResult::Committed(1));

    let got = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((got.context_version, got.wake_count), (1, 1));
    assert_eq!(got.last_woken_at, Some(c1.now));
    let ctx = store.latest_context(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((ctx.version, &ctx.state, ctx.event_id), (1, &state, Some(e1.id)));
    assert_eq!(store.latest_context(TenantId::new(), vera.id).await.unwrap(), None, "wrong tenant");
    let d = store.get_delivery(acme.id, e1.id, vera.id).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts, d.context_version), (DeliveryStatus::Done, 1, Some(1)));
    assert_eq!(d.outcome, "reviewed docs/vision.md: 2 findings");
    assert_eq!(store.get_delivery(TenantId::new(), e1.id, vera.id).await.unwrap(), None, "wrong tenant");
    assert_eq!(store.list_deliveries(acme.id, e1.id).await.unwrap(), vec![d.clone()]);
    assert!(store.list_deliveries(TenantId::new(), e1.id).await.unwrap().is_empty());

    // The same event again (a redelivery after a crash): no effect.
    let repeat = wake(&vera, &e1, 1, Some(json!({ "clobbered": true })), done("again"));
    assert_eq!(store.commit_wake(&repeat).await.unwrap(), WakeResult::AlreadyDone);
    let after = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!(after, got);
    assert_eq!(store.latest_context(acme.id, vera.id).await.unwrap().unwrap(), ctx);
    assert_eq!(store.get_delivery(acme.id, e1.id, vera.id).await.unwrap().unwrap(), d);

    // A wake that read version 0 after version 1 was saved: conflict, nothing written.
    let stale = wake(&vera, &e2, 0, Some(json!({ "stale": true })), done("reviewed docs/roadmap.md"));
    assert_eq!(store.commit_wake(&stale).await.unwrap(), WakeResult::Conflict);
    assert_eq!(store.get_delivery(acme.id, e2.id, vera.id).await.unwrap(), None);
    assert_eq!(store.get_instance(acme.id, vera.id).await.unwrap().unwrap(), got);

    // Under the wrong tenant nothing is written either.
    let mut foreign = wake(&vera, &e2, 1, Some(json!({})), done("x"));
    foreign.tenant_id = TenantId::new();
    assert_ne!(store.commit_wake(&foreign).await.unwrap(), WakeResult::Committed(2));
    assert_eq!(store.get_instance(acme.id, vera.id).await.unwrap().unwrap(), got);

    // Reloaded and rerun: saved as version 2.
    let retry = wake(&vera, &e2, 1, Some(json!({ "reviewed": ["docs/vision.md", "docs/roadmap.md"] })), done("ok"));
    assert_eq!(store.commit_wake(&retry).await.unwrap(), WakeResult::Committed(2));
    let got = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((got.context_version, got.wake_count), (2, 2));
    assert_eq!(store.latest_context(acme.id, vera.id).await.unwrap().unwrap().version, 2);
}

async fn deferred_deliveries_are_listed_oldest_first(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let t0 = now() - Duration::minutes(30);
    let older = event(acme.id, "file.created", "docs/vision.md", t0);
    let newer = event(acme.id, "pull_request.opened", "docs/roadmap.md", t0 + Duration::minutes(1));
    store.insert_events(&[newer.clone(), older.clone()]).await.unwrap();

    let awake_deferral = wake(&vera, &older, 0, None, deferred());
    assert_eq!(store.commit_wake(&awake_deferral).await.unwrap(), WakeResult::Conflict, "vera is awake: deliver, do not defer");
    set_status(&store, &vera, InstanceStatus::Trial, InstanceStatus::Paused).await;
    for e in [&newer, &older] {
        let c = wake(&vera, e, 0, None, deferred());
        assert_eq!(store.commit_wake(&c).await.unwrap(), WakeResult::Committed(0));
    }
    let asleep_work = wake(&vera, &older, 0, Some(json!({ "seen": 1 })), done("reviewed while paused"));
    assert_eq!(store.commit_wake(&asleep_work).await.unwrap(), WakeResult::Conflict, "work needs an awake instance");
    let d = store.get_delivery(acme.id, older.id, vera.id).await.unwrap().unwrap();
    assert_eq!((d.status, d.context_version), (DeliveryStatus::Deferred, None));
    let unchanged = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((unchanged.context_version, unchanged.wake_count), (0, 0), "a deferral is not a wake");

    let listed = store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Deferred, 10).await.unwrap();
    assert_eq!(listed, vec![older.clone(), newer.clone()]);
    assert_eq!(store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Deferred, 1).await.unwrap(), vec![older.clone()]);
    assert!(store.deliveries_in_status(TenantId::new(), vera.id, DeliveryStatus::Deferred, 10).await.unwrap().is_empty());
    assert!(store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Done, 10).await.unwrap().is_empty());
    assert_eq!(store.count_deliveries(acme.id, vera.id, DeliveryStatus::Deferred).await.unwrap(), 2);
    assert_eq!(store.count_deliveries(TenantId::new(), vera.id, DeliveryStatus::Deferred).await.unwrap(), 0);
    assert!(!store.awake_with_deferred().await.unwrap().contains(&(acme.id, vera.id)), "still paused");
    set_status(&store, &vera, InstanceStatus::Paused, InstanceStatus::Trial).await;
    // The instance is awake again with deferred deliveries: recovery finds it.
    assert!(store.awake_with_deferred().await.unwrap().contains(&(acme.id, vera.id)));

    // On resume the deferred event is delivered for real.
    let c = wake(&vera, &older, 0, Some(json!({ "seen": 1 })), done("reviewed on resume"));
    assert_eq!(store.commit_wake(&c).await.unwrap(), WakeResult::Committed(1));
    assert_eq!(store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Deferred, 10).await.unwrap(), vec![newer.clone()]);
    assert_eq!(store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Done, 10).await.unwrap(), vec![older]);
    assert_eq!(store.count_deliveries(acme.id, vera.id, DeliveryStatus::Deferred).await.unwrap(), 1);
}

async fn expire_deferred_marks_old_deliveries(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let old = event(acme.id, "file.modified", "docs/vision.md", now() - Duration::days(10));
    let recent = event(acme.id, "file.modified", "docs/vision.md", now() - Duration::hours(1));
    store.insert_events(&[old.clone(), recent.clone()]).await.unwrap();
    set_status(&store, &vera, InstanceStatus::Trial, InstanceStatus::Paused).await;
    for e in [&old, &recent] {
        assert_eq!(store.commit_wake(&wake(&vera, e, 0, None, deferred())).await.unwrap(), WakeResult::Committed(0));
    }
    set_status(&store, &vera, InstanceStatus::Paused, InstanceStatus::Trial).await;
    let cutoff = now() - Duration::days(7);
    assert_eq!(store.expire_deferred(TenantId::new(), vera.id, cutoff).await.unwrap(), 0, "wrong tenant");
    assert_eq!(store.expire_deferred(acme.id, vera.id, cutoff).await.unwrap(), 1);
    assert_eq!(store.expire_deferred(acme.id, vera.id, cutoff).await.unwrap(), 0);
    let d = store.get_delivery(acme.id, old.id, vera.id).await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Expired);
    assert_eq!(store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Deferred, 10).await.unwrap(), vec![recent]);
    // An expired delivery is terminal.
    let late = wake(&vera, &old, 0, Some(json!({})), done("too late"));
    assert_eq!(store.commit_wake(&late).await.unwrap(), WakeResult::AlreadyDone);
}

async fn dead_letters_insert_list_and_redrive_once(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let (globex, otto) = setup(&store, "Globex Logistics").await;
    let e1 = event(acme.id, "pull_request.opened", "docs/vision.md", now());
    let e2 = event(globex.id, "issue.opened", "ops/runbook.md", now());
    store.insert_events(&[e1.clone(), e2.clone()]).await.unwrap();
    // A failed attempt recorded first, then the dead letter overrides it.
    set_status(&store, &vera, InstanceStatus::Trial, InstanceStatus::Paused).await;
    let c = wake(&vera, &e1, 0, None, DeliveryOutcome { status: DeliveryStatus::Deferred, attempts: 2, outcome: "retrying".into() });
    assert_eq!(store.commit_wake(&c).await.unwrap(), WakeResult::Committed(0));
    set_status(&store, &vera, InstanceStatus::Paused, InstanceStatus::Trial).await;

    let dead = |i: &Instance, e: &Event, error: &str| DeadLetter {
        id: uuid::Uuid::now_v7(),
        tenant_id: i.tenant_id,
        event_id: e.id,
        instance_id: i.id,
        event_type: e.event_type.to_string(),
        error: error.to_owned(),
        attempts: 5,
        created_at: now(),
        redriven_at: None,
    };
    let d1 = dead(&vera, &e1, "llm call failed: timeout after 30s");
    let d2 = dead(&otto, &e2, "github api: 502 bad gateway");
    store.insert_dead_letter(&d1).await.unwrap();
    store.insert_dead_letter(&d2).await.unwrap();
    assert!(matches!(store.insert_dead_letter(&d1).await, Err(StoreError::Conflict(_))));

    let del = store.get_delivery(acme.id, e1.id, vera.id).await.unwrap().unwrap();
    assert_eq!((del.status, del.attempts, del.outcome.as_str()), (DeliveryStatus::Dead, 5, d1.error.as_str()));
    // A dead delivery is terminal until redriven.
    assert_eq!(store.commit_wake(&wake(&vera, &e1, 0, Some(json!({})), done("x"))).await.unwrap(), WakeResult::AlreadyDone);

    assert_eq!(store.list_dead_letters(Some(acme.id), false).await.unwrap(), vec![d1.clone()]);
    assert_eq!(store.list_dead_letters(Some(globex.id), false).await.unwrap(), vec![d2.clone()]);
    assert!(store.list_dead_letters(Some(TenantId::new()), true).await.unwrap().is_empty());
    assert_eq!(store.list_dead_letters(None, false).await.unwrap().len(), 2, "operator sees all tenants");

    let t = now();
    assert_eq!(store.redrive_dead_letter(Some(globex.id), d1.id, t).await.unwrap(), None, "wrong tenant");
    assert_eq!(store.redrive_dead_letter(Some(acme.id), uuid::Uuid::now_v7(), t).await.unwrap(), None, "unknown");
    let redriven = store.redrive_dead_letter(Some(acme.id), d1.id, t).await.unwrap().expect("redriven");
    assert_eq!(redriven, DeadLetter { redriven_at: Some(t), ..d1.clone() });
    assert_eq!(store.get_delivery(acme.id, e1.id, vera.id).await.unwrap(), None, "delivery retryable");
    assert_eq!(store.redrive_dead_letter(Some(acme.id), d1.id, t).await.unwrap(), None, "only once");

    assert!(store.list_dead_letters(Some(acme.id), false).await.unwrap().is_empty());
    assert_eq!(store.list_dead_letters(Some(acme.id), true).await.unwrap(), vec![redriven]);

    // The operator redrives across tenants.
    let op = store.redrive_dead_letter(None, d2.id, t).await.unwrap().expect("operator redrive");
    assert_eq!(op.tenant_id, globex.id);
    assert!(store.list_dead_letters(None, false).await.unwrap().is_empty());
    assert_eq!(store.list_dead_letters(None, true).await.unwrap().len(), 2);

    // Redelivered after the redrive, the event can now be handled.
    let c = wake(&vera, &e1, 0, Some(json!({ "fixed": true })), done("reviewed after redrive"));
    assert_eq!(store.commit_wake(&c).await.unwrap(), WakeResult::Committed(1));
}

async fn concurrent_commits_have_one_winner(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let events: Vec<Event> = (0..8).map(|n| event(acme.id, "file.modified", &format!("docs/section-{n}.md"), now())).collect();
    store.insert_events(&events).await.unwrap();
    let mut tasks = Vec::new();
    for (n, e) in events.iter().enumerate() {
        let store = store.clone();
        let c = wake(&vera, e, 0, Some(json!({ "writer": n })), done("reviewed"));
        tasks.push(tokio::spawn(async move { store.commit_wake(&c).await }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task").expect("commit"));
    }
    let winners = results.iter().filter(|r| **r == WakeResult::Committed(1)).count();
    let conflicts = results.iter().filter(|r| **r == WakeResult::Conflict).count();
    assert_eq!((winners, conflicts), (1, 7), "{results:?}");
    let got = store.get_instance(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((got.context_version, got.wake_count), (1, 1));
    let done: Vec<_> = store.deliveries_in_status(acme.id, vera.id, DeliveryStatus::Done, 10).await.unwrap();
    assert_eq!(done.len(), 1, "only the winner's delivery is recorded");
}

async fn bulk_ingest_in_batches(store: DynStore) {
    let acme = TenantId::new();
    let total = 20_000;
    let batch = 1_000;
    let events: Vec<Event> = (0..total).map(|n| event(acme, "file.modified", &format!("docs/page-{n}.md"), now())).collect();
    let start = std::time::Instant::now();
    for chunk in events.chunks(batch) {
        store.insert_events(chunk).await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("{}: inserted {total} events in batches of {batch}: {:.0} events/s", store.kind(), total as f64 / secs);
    let pending = store.undispatched_events(now() + Duration::seconds(5), total as i64 + 10).await.unwrap();
    assert_eq!(pending.len(), total);
}

async fn prune_contexts_keeps_the_newest(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let (_globex, otto) = setup(&store, "Globex Logistics").await;
    let mut events = Vec::new();
    for n in 0..5 {
        events.push(event(acme.id, "file.modified", &format!("docs/page-{n}.md"), now()));
    }
    let otto_event = event(otto.tenant_id, "issue.opened", "ops/runbook.md", now());
    store.insert_events(&events).await.unwrap();
    store.insert_events(std::slice::from_ref(&otto_event)).await.unwrap();
    for (n, e) in events.iter().enumerate() {
        let v = i64::try_from(n).unwrap();
        assert_eq!(
            store.commit_wake(&wake(&vera, e, v, Some(json!({ "n": n })), done("seen"))).await.unwrap(),
            WakeResult::Committed(v + 1)
        );
    }
    assert_eq!(
        store.commit_wake(&wake(&otto, &otto_event, 0, Some(json!({ "n": 0 })), done("seen"))).await.unwrap(),
        WakeResult::Committed(1)
    );

    // vera has versions 1..=5, otto has 1: keeping 2 drops vera's 1..=3 only.
    assert_eq!(store.prune_contexts(2).await.unwrap(), 3);
    assert_eq!(store.prune_contexts(2).await.unwrap(), 0, "nothing left to prune");
    let latest = store.latest_context(acme.id, vera.id).await.unwrap().unwrap();
    assert_eq!((latest.version, latest.state), (5, json!({ "n": 4 })));
    assert_eq!(store.latest_context(otto.tenant_id, otto.id).await.unwrap().unwrap().version, 1);
    // Keeping 0 is treated as 1: the current context is never pruned.
    assert_eq!(store.prune_contexts(0).await.unwrap(), 1);
    assert_eq!(store.latest_context(acme.id, vera.id).await.unwrap().unwrap().version, 5);
}

async fn deliverables_are_saved_once_with_their_wake(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let e = event(acme.id, "input.received", "uploads/product-page.html", now());
    store.insert_events(std::slice::from_ref(&e)).await.unwrap();
    let report = |title: &str| waooaw_domain::Deliverable {
        id: uuid::Uuid::now_v7(),
        tenant_id: acme.id,
        instance_id: vera.id,
        event_id: e.id,
        kind: "seo_audit".into(),
        title: title.into(),
        body_markdown: "# SEO audit\n\n| Check | Result |\n|---|---|\n| title length | 72 chars: too long |\n".into(),
        created_at: now(),
    };
    let mut stale = wake(&vera, &e, 7, Some(json!({"audits": 1})), done("audited"));
    stale.deliverables = vec![report("lost the race")];
    assert_eq!(store.commit_wake(&stale).await.unwrap(), WakeResult::Conflict);
    let mut first = wake(&vera, &e, 0, Some(json!({"audits": 1})), done("audited"));
    first.deliverables = vec![report("SEO audit: /products/trail-runner-x"), report("Fix list")];
    assert_eq!(store.commit_wake(&first).await.unwrap(), WakeResult::Committed(1));
    let mut repeat = wake(&vera, &e, 1, Some(json!({"audits": 2})), done("audited again"));
    repeat.deliverables = vec![report("duplicate")];
    assert_eq!(store.commit_wake(&repeat).await.unwrap(), WakeResult::AlreadyDone);

    let listed = store.list_deliverables(acme.id, vera.id, 10).await.unwrap();
    let mut titles: Vec<_> = listed.iter().map(|d| d.title.as_str()).collect();
    titles.sort_unstable();
    assert_eq!(titles, vec!["Fix list", "SEO audit: /products/trail-runner-x"], "saved once, refused commits saved nothing");
    let got = store.get_deliverable(acme.id, first.deliverables[0].id).await.unwrap().unwrap();
    assert_eq!(got, first.deliverables[0]);
    assert_eq!(store.get_deliverable(TenantId::new(), got.id).await.unwrap(), None, "wrong tenant");
    assert!(store.list_deliverables(TenantId::new(), vera.id, 10).await.unwrap().is_empty());
}

async fn outbox_items_are_saved_with_their_wake_once_per_key(store: DynStore) {
    use waooaw_domain::{ExternalAction, OutboxItem, OutboxStatus};
    let (acme, vera) = setup(&store, "Acme Health").await;
    set_status(&store, &vera, InstanceStatus::Trial, InstanceStatus::Active).await;
    let issue = |key: &str, path: &str| OutboxItem {
        key: key.into(),
        action: ExternalAction::GithubIssue {
            title: format!("Vision policy: banned term in {path}"),
            body: format!("`{path}` says \"guaranteed\".\n\n<!-- waooaw:key={key} -->"),
            labels: vec!["waooaw".into(), "vision".into()],
        },
    };
    let (e1, e2) = (
        event(acme.id, "pull_request.opened", "docs/pricing.md", now()),
        event(acme.id, "pull_request.synchronize", "docs/pricing.md", now()),
    );
    store.insert_events(&[e1.clone(), e2.clone()]).await.unwrap();
    let mut stale = wake(&vera, &e1, 5, Some(json!({})), done("reviewed"));
    stale.outbox = vec![issue("vision:lost", "docs/x.md")];
    assert_eq!(store.commit_wake(&stale).await.unwrap(), WakeResult::Conflict);
    let mut first = wake(&vera, &e1, 0, Some(json!({})), done("reviewed"));
    first.outbox = vec![
        issue("vision:9f2c", "docs/pricing.md"),
        OutboxItem { key: "pr:42:abc".into(), action: ExternalAction::GithubComment { number: 42, body: "Changes requested.".into() } },
    ];
    assert_eq!(store.commit_wake(&first).await.unwrap(), WakeResult::Committed(1));
    // The same violation found again by the next wake is not queued twice.
    let mut second = wake(&vera, &e2, 1, Some(json!({})), done("reviewed again"));
    second.outbox = vec![issue("vision:9f2c", "docs/pricing.md"), issue("vision:77ab", "docs/faq.md")];
    assert_eq!(store.commit_wake(&second).await.unwrap(), WakeResult::Committed(2));

    let listed = store.list_outbox(acme.id, 10).await.unwrap();
    let mut keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["pr:42:abc", "vision:77ab", "vision:9f2c"]);
    assert!(listed.iter().all(|o| o.status == OutboxStatus::Pending && o.attempts == 0 && o.instance_id == vera.id));
    let due = store.due_outbox(now() + Duration::seconds(1), 10, false).await.unwrap();
    assert_eq!(due.len(), 3);
    assert!(store.due_outbox(now() + Duration::seconds(1), 10, true).await.unwrap().is_empty(), "no handoff among them");
    let url = "https://github.com/acme-health/vision-docs/issues/7";
    let attempt = |status, error: Option<&str>, url: Option<&str>, next| waooaw_store::OutboxAttempt {
        status,
        attempts: 1,
        last_error: error.map(str::to_owned),
        url: url.map(str::to_owned),
        next_attempt_at: next,
    };
    store.update_outbox(acme.id, "vision:9f2c", &attempt(OutboxStatus::Done, None, Some(url), now())).await.unwrap();
    let later = attempt(OutboxStatus::Pending, Some("GitHub could not be reached"), None, now() + Duration::minutes(5));
    store.update_outbox(acme.id, "pr:42:abc", &later).await.unwrap();
    let due = store.due_outbox(now() + Duration::seconds(1), 10, false).await.unwrap();
    assert_eq!(due.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["vision:77ab"], "done and backed-off rows are not due");
    let done_row = store.list_outbox(acme.id, 10).await.unwrap().into_iter().find(|o| o.key == "vision:9f2c").unwrap();
    assert_eq!((done_row.status, done_row.url.as_deref()), (OutboxStatus::Done, Some(url)));
    assert!(store.list_outbox(TenantId::new(), 10).await.unwrap().is_empty(), "another tenant sees none");
}

async fn handoffs_a_wake_sends_itself_are_due_to_the_task_only_after_their_grace(store: DynStore) {
    use waooaw_domain::{ExternalAction, OutboxItem};
    let (acme, vera) = setup(&store, "Acme Health").await;
    set_status(&store, &vera, InstanceStatus::Trial, InstanceStatus::Active).await;
    let e = event(acme.id, "input.received", "leads.csv", now());
    store.insert_events(std::slice::from_ref(&e)).await.unwrap();
    let handoff = OutboxItem {
        key: format!("handoff:{}:{}:sales-sdr", vera.id, e.id),
        action: ExternalAction::Handoff {
            to: "sales-sdr".into(),
            action: "lead.qualified".into(),
            package: json!({"company": "Brightline Dental", "score": 82}),
            cause: Some(e.id.0),
            correlation: Some(e.correlation_id.0),
        },
    };
    let comment = OutboxItem { key: "pr:7:f00d".into(), action: ExternalAction::GithubComment { number: 7, body: "Looks good.".into() } };
    let mut commit = wake(&vera, &e, 0, Some(json!({})), done("qualified"));
    commit.outbox = vec![handoff.clone(), comment];
    commit.handoffs_due_at = Some(commit.now + Duration::seconds(10));
    assert_eq!(store.commit_wake(&commit).await.unwrap(), WakeResult::Committed(1));
    // Only the handoff waits: other outputs are due at once.
    let soon = commit.now + Duration::seconds(1);
    assert!(store.due_outbox(soon, 10, true).await.unwrap().is_empty(), "the wake sends it; the task waits");
    assert_eq!(store.due_outbox(soon, 10, false).await.unwrap().iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["pr:7:f00d"]);
    let late = store.due_outbox(commit.now + Duration::seconds(11), 10, true).await.unwrap();
    assert_eq!(late.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), [handoff.key.as_str()], "the task's fallback");
}

async fn github_connections_are_per_tenant(store: DynStore) {
    let (acme, _) = setup(&store, "Acme Health").await;
    let (globex, _) = setup(&store, "Globex").await;
    assert!(store.get_github_connection(acme.id).await.unwrap().is_none());
    store.set_github_connection(acme.id, "acme-health/vision-docs", "v1:00aa", now()).await.unwrap();
    store.set_github_connection(acme.id, "acme-health/handbook", "v1:00bb", now()).await.unwrap();
    let c = store.get_github_connection(acme.id).await.unwrap().unwrap();
    assert_eq!((c.repository.as_str(), c.token_sealed.as_str()), ("acme-health/handbook", "v1:00bb"));
    assert!(!format!("{c:?}").contains("00bb"), "Debug hides the sealed token");
    assert!(store.get_github_connection(globex.id).await.unwrap().is_none());
    assert!(!store.delete_github_connection(globex.id).await.unwrap());
    assert!(store.delete_github_connection(acme.id).await.unwrap());
    assert!(store.get_github_connection(acme.id).await.unwrap().is_none());
}

async fn github_outputs_outside_a_wake_need_a_connection_and_go_once(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let (globex, gus) = setup(&store, "Globex").await;
    let issue = |key: &str, title: &str| OutboxItem {
        key: key.into(),
        action: ExternalAction::GithubIssue { title: title.into(), body: "Needs a decision".into(), labels: vec!["waooaw".into()] },
    };
    let first = issue("escalation:0193", "Needs a decision: refund over limit");
    assert!(!store.enqueue_github_output(acme.id, vera.id, &first, now()).await.unwrap(), "no connection, no row");
    assert!(store.list_outbox(acme.id, 10).await.unwrap().is_empty());
    store.set_github_connection(acme.id, "acme-health/ops", "v1:00aa", now()).await.unwrap();
    assert!(store.enqueue_github_output(acme.id, vera.id, &first, now()).await.unwrap());
    let again = issue("escalation:0193", "a second title");
    assert!(!store.enqueue_github_output(acme.id, vera.id, &again, now()).await.unwrap(), "the key is kept as it is");
    let rows = store.list_outbox(acme.id, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].instance_id, rows[0].status, &rows[0].action), (vera.id, OutboxStatus::Pending, &first.action));
    let due = store.due_outbox(now() + Duration::seconds(1), 10, false).await.unwrap();
    assert_eq!(due.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["escalation:0193"]);
    // Several outcomes in one transaction, each on its own tenant's row.
    let second = issue("escalation:0194", "Needs a decision: second");
    assert!(store.enqueue_github_output(acme.id, vera.id, &second, now()).await.unwrap());
    let done = |url: &str| waooaw_store::OutboxAttempt {
        status: OutboxStatus::Done,
        attempts: 1,
        last_error: None,
        url: Some(url.into()),
        next_attempt_at: now(),
    };
    let batch = [
        (acme.id, "escalation:0193".to_owned(), done("https://github.com/acme-health/ops/issues/1")),
        (acme.id, "escalation:0194".to_owned(), done("https://github.com/acme-health/ops/issues/2")),
        (globex.id, "escalation:0193".to_owned(), done("https://github.com/globex/x/issues/9")),
    ];
    store.update_outbox_many(&batch).await.unwrap();
    store.update_outbox_many(&[]).await.unwrap();
    let rows = store.list_outbox(acme.id, 10).await.unwrap();
    assert!(rows.iter().all(|r| r.status == OutboxStatus::Done && r.url.as_deref().is_some_and(|u| u.contains("acme-health"))), "{rows:?}");
    // Another tenant's connection does not open the door for one without.
    assert!(!store.enqueue_github_output(globex.id, gus.id, &first, now()).await.unwrap());
    assert!(store.list_outbox(globex.id, 10).await.unwrap().is_empty());
}

async fn task_leases_move_only_from_their_holder(store: DynStore) {
    use waooaw_domain::{Task, TaskStatus};
    let (acme, vera) = setup(&store, "Acme Health").await;
    let (globex, _) = setup(&store, "Globex").await;
    let iris = InstanceId::new();
    let task = |id: uuid::Uuid, holder: InstanceId, expires: DateTime<Utc>| Task {
        tenant_id: acme.id,
        id,
        task_type: "content.review".into(),
        coordinator: "marketing-coordinator".into(),
        package: json!({"filename": "post.md", "content_type": "text/markdown", "content": "Hello"}),
        status: TaskStatus::Assigned,
        holder: Some(holder),
        lease_expires_at: expires,
        attempts: 1,
        outcome: None,
        created_at: now(),
        updated_at: now(),
    };
    let (t1, t2) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let first = task(t1, vera.id, now() - Duration::seconds(1));
    store.insert_task(&first).await.unwrap();
    store.insert_task(&task(t2, vera.id, now() + Duration::minutes(5))).await.unwrap();
    assert!(matches!(store.insert_task(&task(t1, vera.id, now())).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.get_task(acme.id, t1).await.unwrap().unwrap(), first);
    assert!(store.get_task(globex.id, t1).await.unwrap().is_none(), "another tenant sees none");
    assert_eq!(store.list_tasks(acme.id, 10).await.unwrap().iter().map(|t| t.id).collect::<Vec<_>>(), [t2, t1]);
    assert_eq!(store.outstanding_tasks(acme.id).await.unwrap(), [(vera.id, 2)]);
    let expired = store.expired_tasks(now(), 10).await.unwrap();
    assert_eq!(expired.iter().map(|t| t.id).collect::<Vec<_>>(), [t1]);

    // Only from the holder it names, and only once.
    let later = now() + Duration::minutes(5);
    assert!(!store.reassign_task(acme.id, t1, iris, vera.id, later, now()).await.unwrap());
    assert!(!store.reassign_task(globex.id, t1, vera.id, iris, later, now()).await.unwrap());
    let (a, b) = tokio::join!(
        store.reassign_task(acme.id, t1, vera.id, iris, later, now()),
        store.reassign_task(acme.id, t1, vera.id, iris, later, now())
    );
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|w| **w).count(), 1, "one reclaim wins");
    let moved = store.get_task(acme.id, t1).await.unwrap().unwrap();
    assert_eq!((moved.holder, moved.attempts, moved.lease_expires_at), (Some(iris), 2, later));
    assert!(store.expired_tasks(now(), 10).await.unwrap().is_empty());
    // The old holder cannot complete it; the new one does, once.
    assert!(!store.complete_task(acme.id, t1, vera.id, TaskStatus::Done, "late", now()).await.unwrap());
    assert!(store.complete_task(acme.id, t1, iris, TaskStatus::Done, "reviewed", now()).await.unwrap());
    assert!(!store.complete_task(acme.id, t1, iris, TaskStatus::Done, "again", now()).await.unwrap());
    let done = store.get_task(acme.id, t1).await.unwrap().unwrap();
    assert_eq!((done.status, done.outcome.as_deref()), (TaskStatus::Done, Some("reviewed")));
    assert_eq!(store.outstanding_tasks(acme.id).await.unwrap(), [(vera.id, 1)]);
    assert!(store.outstanding_tasks(globex.id).await.unwrap().is_empty());
}

async fn conversations_list_a_correlation_in_order_within_the_tenant(store: DynStore) {
    let (acme, vera) = setup(&store, "Acme Health").await;
    let (globex, _) = setup(&store, "Globex").await;
    let upload = event(acme.id, "input.received", "uploads/leads.csv", now());
    let mut handoff = event(acme.id, "agent.handoff", "", now() + Duration::milliseconds(5));
    (handoff.correlation_id, handoff.parent_id, handoff.target_instance) = (upload.correlation_id, Some(upload.id), Some(vera.id));
    let mut foreign = event(globex.id, "agent.handoff", "", now());
    foreign.correlation_id = upload.correlation_id;
    let unrelated = event(acme.id, "file.modified", "docs/a.md", now());
    store.insert_events(&[handoff.clone(), upload.clone(), foreign, unrelated]).await.unwrap();
    let conv = store.conversation_events(acme.id, upload.correlation_id, 10).await.unwrap();
    assert_eq!(conv.iter().map(|e| e.id).collect::<Vec<_>>(), [upload.id, handoff.id], "in order, this tenant's only");
    assert_eq!(conv[1].parent_id, Some(upload.id));
    assert!(store.conversation_events(TenantId::new(), upload.correlation_id, 10).await.unwrap().is_empty());
}
