//! A coordinated task whose worker hangs: its lease runs out, the coordinator's reclaim loop
//! gives the task to another instance, which finishes it; the hung worker's late completion
//! does not count. Run on SQLite + in-process and on PostgreSQL + Redis.

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use waooaw_bus::DynBus;
use waooaw_domain::{Personality, TaskStatus, Tenant, TenantId};
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig, WakeInput, WorkError, WorkFn, WorkOutput, WorkRegistry};
use waooaw_store::DynStore;

const SPECS: [(&str, &str); 2] = [
    (
        "ops-coordinator.toml",
        "id = \"ops-coordinator\"\nname = \"Ops Coordinator\"\ntype = \"advisory\"\ndomain = \"ops\"\nversion = \"1.0.0\"\n\
         responsibilities = [\"route\"]\nwork = \"coordinator.route\"\n[wake]\nsubscriptions = [\"task.routed\"]\n\
         [[raci]]\ntask = \"report.write\"\nresponsible = \"writer\"\naccountable = \"writer\"\n",
    ),
    (
        "writer.toml",
        "id = \"writer\"\nname = \"Writer\"\ntype = \"specialist\"\ndomain = \"ops\"\nversion = \"1.0.0\"\n\
         responsibilities = [\"write\"]\nwork = \"test.write\"\n[wake]\nsubscriptions = [\"input.received\"]\n",
    ),
];

/// Writes the report, except on the first wake, which never ends (a worker that hung or died
/// holding its lease).
struct Write(std::sync::atomic::AtomicBool);
#[async_trait::async_trait]
impl WorkFn for Write {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        if !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Ok(WorkOutput::new(json!({}), format!("report written by {}", input.instance.personality.name)))
    }
}

async fn reclaimed_after_the_holder_hangs(store: DynStore, bus: DynBus) {
    let mut work = WorkRegistry::default();
    work.register("test.write", Arc::new(Write(Default::default())));
    work.register(waooaw_runtime::tasks::COORDINATOR_WORK, Arc::new(waooaw_runtime::tasks::CoordinatorWork));
    let catalog = Catalog::from_texts(SPECS.iter().copied(), &work.names()).expect("catalog");
    let config = RuntimeConfig {
        task_lease: Duration::from_millis(400),
        task_reap_interval: Duration::from_millis(50),
        shared_store: bus.kind() == "redis",
        ..Default::default()
    };
    let rt = Runtime::start(config, store.clone(), bus, Arc::new(catalog), work, None, None).await.expect("runtime");
    let t =
        Tenant { id: TenantId::new(), name: "Ops".into(), webhook_secret: "whsec-0123456789abcdef".into(), created_at: chrono::Utc::now() };
    store.create_tenant(&t).await.expect("tenant");
    let ada = rt.create_instance(t.id, "writer", Personality { name: "Ada".into(), ..Default::default() }).await.expect("ada");
    let bo = rt.create_instance(t.id, "writer", Personality { name: "Bo".into(), ..Default::default() }).await.expect("bo");
    let package = json!({"filename": "q4.md", "content_type": "text/markdown", "content": "# Q4"});
    let task = rt.submit_task(t.id, "report.write", package).await.expect("routed");
    // Whichever of the two idle writers got it hangs on it; the other must finish it.
    let stuck = task.holder.expect("a holder");
    let (quick, quick_name) = if stuck == ada.id { (bo.id, "Bo") } else { (ada.id, "Ada") };

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let done = loop {
        let now = store.get_task(t.id, task.id).await.expect("read").expect("task");
        if now.status == TaskStatus::Done {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "never reclaimed: {now:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!((done.holder, done.attempts), (Some(quick), 2), "{done:?}");
    assert_eq!(done.outcome, Some(format!("report written by {quick_name}")));
    // The hung worker's lease is gone: were it to finish now, its completion would not count.
    assert!(!store.complete_task(t.id, task.id, stuck, TaskStatus::Done, "late", chrono::Utc::now()).await.expect("complete"));
    rt.shutdown(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_worker_s_task_is_reclaimed_on_sqlite_and_in_process() {
    let deployment = waooaw_testkit::Deployment::embedded().await;
    reclaimed_after_the_holder_hangs(deployment.store.clone(), deployment.bus.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_worker_s_task_is_reclaimed_on_postgres_and_redis() {
    let Some(deployment) = waooaw_testkit::Deployment::scale_out("runtime::leases").await else { return };
    reclaimed_after_the_holder_hangs(deployment.store.clone(), deployment.bus.clone()).await;
    deployment.finish().await;
}
