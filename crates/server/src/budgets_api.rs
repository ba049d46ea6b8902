//! Budgets: `GET /v1/budgets?tenant_id=[&instance_id=]` shows the limits in force, what was spent
//! and reserved today and this month, and what remains, for the tenant and each instance (or the
//! one asked for); `PUT /v1/budgets` sets the tenant's override or an instance's.

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::extract::{json_body, optional_param, query_param, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use waooaw_decisions::budget::{day, month};
use waooaw_domain::{BudgetLimits, Instance, InstanceId, TenantId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBudget {
    tenant_id: TenantId,
    #[serde(default)]
    instance_id: Option<InstanceId>,
    limits: BudgetLimits,
}

pub async fn set_budget(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let req: SetBudget = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    req.limits.validate().map_err(|e| ApiError::new(Code::InvalidRequest, e.to_string()))?;
    s.runtime.require_tenant(req.tenant_id).await?;
    if let Some(id) = req.instance_id {
        instance(&s, req.tenant_id, id).await?;
    }
    s.runtime.store().set_budget_override(req.tenant_id, req.instance_id, &req.limits, chrono::Utc::now()).await?;
    view(&s, req.tenant_id, req.instance_id).await.map(Json)
}

pub async fn get_budgets(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let only: Option<InstanceId> = optional_param(&q, "instance_id")?;
    s.runtime.require_tenant(tenant).await?;
    view(&s, tenant, only).await.map(Json)
}

async fn instance(s: &AppState, tenant: TenantId, id: InstanceId) -> Result<Instance, ApiError> {
    s.runtime
        .store()
        .get_instance(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::InstanceNotFound, format!("instance {id} not found in tenant {tenant}")))
}

async fn view(s: &AppState, tenant: TenantId, only: Option<InstanceId>) -> Result<Value, ApiError> {
    let store = s.runtime.store();
    let now = chrono::Utc::now();
    let overrides = store.budget_overrides(tenant).await?;
    let tenant_limits = overrides.iter().find(|(i, _)| i.is_none()).map(|(_, l)| *l).unwrap_or_default();
    let instances = match only {
        Some(id) => vec![instance(s, tenant, id).await?],
        None => store.list_instances(tenant).await?,
    };
    let (d, m) = (day(now), month(now));
    let usage = |scope: String| {
        let keys = [(scope.clone(), d.clone()), (scope, m.clone())];
        async move { store.budget_ledger(tenant, &keys).await }
    };
    let rows = usage("tenant".into()).await?;
    let tenant_view = scope_view(&tenant_limits, &rows, &d, &m);
    let mut list = Vec::with_capacity(instances.len());
    for i in &instances {
        let own = overrides.iter().find(|(id, _)| *id == Some(i.id)).map(|(_, l)| *l).unwrap_or_default();
        let spec_budget = s.runtime.catalog().get(&i.specialization_id).map(|spec| BudgetLimits::from(spec.budget)).unwrap_or_default();
        let effective = own.over(spec_budget);
        let rows = usage(format!("instance:{}", i.id)).await?;
        let mut v = scope_view(&effective, &rows, &d, &m);
        v["instance_id"] = json!(i.id);
        v["specialization_id"] = json!(i.specialization_id);
        v["override"] = json!(own);
        list.push(v);
    }
    Ok(json!({"tenant_id": tenant, "day": d, "month": m, "tenant": tenant_view, "instances": list}))
}

fn scope_view(limits: &BudgetLimits, rows: &[waooaw_store::LedgerRow], d: &str, m: &str) -> Value {
    let row = |p: &str| rows.iter().find(|r| r.period == p).cloned().unwrap_or_default();
    let (today, this_month) = (row(d), row(m));
    let usd = |micro: i64| micro as f64 / 1e6;
    let remaining_tokens = limits.tokens_per_day.map(|t| (t as i64 - today.spent_tokens - today.reserved_tokens).max(0));
    let remaining_day = limits.usd_per_day.map(|u| (u - usd(today.spent_microusd + today.reserved_microusd)).max(0.0));
    let remaining_month = limits.usd_per_month.map(|u| (u - usd(this_month.spent_microusd + this_month.reserved_microusd)).max(0.0));
    json!({
        "limits": limits,
        "today": {"spent_tokens": today.spent_tokens, "spent_usd": usd(today.spent_microusd),
                  "reserved_tokens": today.reserved_tokens, "reserved_usd": usd(today.reserved_microusd)},
        "month": {"spent_usd": usd(this_month.spent_microusd), "reserved_usd": usd(this_month.reserved_microusd)},
        "remaining": {"tokens_today": remaining_tokens, "usd_today": remaining_day, "usd_month": remaining_month},
    })
}
