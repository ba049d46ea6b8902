//! `waooaw budgets show|set`: a running server's LLM budgets per tenant and instance.

use crate::client::{Conn, print};
use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum BudgetsCmd {
    /// Limits in force, spent and reserved today and this month, and what remains.
    Show {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Uuid,
        /// Only this instance (default: every instance of the tenant).
        #[arg(long)]
        instance: Option<Uuid>,
        #[arg(long)]
        json: bool,
    },
    /// Sets the tenant's override, or an instance's with `--instance`; unset limits keep the
    /// level below (instance: the spec file's budget; tenant: none).
    Set {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        instance: Option<Uuid>,
        #[arg(long)]
        tokens_per_day: Option<u64>,
        #[arg(long)]
        usd_per_day: Option<f64>,
        #[arg(long)]
        usd_per_month: Option<f64>,
        #[arg(long)]
        requests_per_minute: Option<u32>,
        #[arg(long)]
        concurrent_llm_calls: Option<u32>,
        #[arg(long)]
        json: bool,
    },
}

impl BudgetsCmd {
    pub async fn run(self) -> Result<()> {
        let (v, as_json) = match self {
            Self::Show { conn, tenant, instance, json } => {
                let mut path = format!("/v1/budgets?tenant_id={tenant}");
                if let Some(i) = instance {
                    path.push_str(&format!("&instance_id={i}"));
                }
                (conn.call(Method::GET, &path, None).await?, json)
            }
            Self::Set {
                conn,
                tenant,
                instance,
                tokens_per_day,
                usd_per_day,
                usd_per_month,
                requests_per_minute,
                concurrent_llm_calls,
                json,
            } => {
                let mut limits = serde_json::Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        limits.insert(k.to_owned(), v);
                    }
                };
                put("tokens_per_day", tokens_per_day.map(Value::from));
                put("usd_per_day", usd_per_day.map(Value::from));
                put("usd_per_month", usd_per_month.map(Value::from));
                put("requests_per_minute", requests_per_minute.map(Value::from));
                put("concurrent_llm_calls", concurrent_llm_calls.map(Value::from));
                let mut body = json!({"tenant_id": tenant, "limits": limits});
                if let Some(i) = instance {
                    body["instance_id"] = json!(i);
                }
                (conn.call(Method::PUT, "/v1/budgets", Some(body)).await?, json)
            }
        };
        if as_json {
            print(&v);
        } else {
            table(&v);
        }
        Ok(())
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) => n.as_f64().filter(|f| f.fract() != 0.0).map_or_else(|| n.to_string(), |f| format!("{f:.2}")),
        other => other.to_string(),
    }
}

fn table(v: &Value) {
    println!("budgets of tenant {} on {} (month {})", v["tenant_id"].as_str().unwrap_or(""), cell(&v["day"]), cell(&v["month"]));
    println!(
        "{:<38} {:>12} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "scope", "tokens/day", "usd/day", "usd/month", "spent tok", "spent usd", "left tok"
    );
    let row = |name: &str, s: &Value| {
        println!(
            "{:<38} {:>12} {:>10} {:>10} {:>12} {:>12} {:>12}",
            name,
            cell(&s["limits"]["tokens_per_day"]),
            cell(&s["limits"]["usd_per_day"]),
            cell(&s["limits"]["usd_per_month"]),
            cell(&s["today"]["spent_tokens"]),
            cell(&s["today"]["spent_usd"]),
            cell(&s["remaining"]["tokens_today"]),
        );
    };
    row("tenant", &v["tenant"]);
    for i in v["instances"].as_array().into_iter().flatten() {
        row(i["instance_id"].as_str().unwrap_or(""), i);
    }
}
