//! Cron schedules: one task sleeps until the next due schedule, then publishes a targeted
//! `schedule.tick` event for every awake instance of that specialization. No per-instance timer.

use crate::observe::{InfrastructureError, InternalEvent, ScheduleFired};
use crate::runtime::Shared;
use chrono::Utc;
use std::str::FromStr;
use std::sync::Arc;
use tokio::sync::watch;
use waooaw_bus::BusMessage;
use waooaw_domain::{EventType, NewEvent, Priority};

pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let schedules: Vec<(String, String, cron::Schedule)> = shared
        .catalog
        .iter()
        .filter_map(|s| {
            let expr = s.schedule.as_ref()?;
            cron::Schedule::from_str(expr).ok().map(|c| (s.id.clone(), expr.clone(), c))
        })
        .collect();
    let Ok(tick) = EventType::parse("schedule.tick") else { return };
    loop {
        let now = Utc::now();
        let Some((when, due)) =
            schedules.iter().filter_map(|(id, expr, c)| c.after(&now).next().map(|t| (t, (id, expr)))).min_by_key(|(t, _)| *t)
        else {
            return;
        };
        let wait = (when - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        for (spec_id, expr, c) in &schedules {
            if c.after(&(when - chrono::Duration::seconds(1))).next() != Some(when) && spec_id != due.0 {
                continue;
            }
            let targets = shared.registry.awake_of(spec_id);
            let mut events = Vec::with_capacity(targets.len());
            for (instance, tenant) in &targets {
                let mut e = NewEvent::new(
                    tick.clone(),
                    "waooaw.scheduler",
                    *tenant,
                    serde_json::json!({"schedule": expr, "specialization_id": spec_id, "due_at": when}),
                );
                e.priority = Priority::Low;
                e.target_instance = Some(*instance);
                if let Ok(ev) = e.into_event(Utc::now()) {
                    events.push(ev);
                }
            }
            if let Err(e) = shared.store.insert_events(&events).await {
                InfrastructureError { during: "schedule", error: &e }.emit();
                continue;
            }
            for event in events {
                if let Err(e) = shared.bus.publish(&BusMessage { event, only_instance: None }).await {
                    InfrastructureError { during: "schedule publish", error: &e }.emit();
                }
            }
            ScheduleFired { specialization: spec_id, instances: targets.len() }.emit();
        }
    }
}
