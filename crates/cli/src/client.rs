//! Commands that talk to a running server over its HTTP API.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct Conn {
    /// Base URL of the server.
    #[arg(long, env = "WAOOAW_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    server: String,
    /// Admin token; defaults to the one the server wrote in its data directory.
    #[arg(long, env = "WAOOAW_ADMIN_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    #[arg(long, env = "WAOOAW_DATA_DIR", default_value = "data", global = true)]
    data_dir: PathBuf,
}

impl Conn {
    fn token(&self) -> Result<String> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        let path = self.data_dir.join("admin-token");
        let t = std::fs::read_to_string(&path).with_context(|| format!("no --token given and cannot read {}", path.display()))?;
        Ok(t.trim().to_owned())
    }

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let mut req = reqwest::Client::new().request(method, &url).bearer_auth(self.token()?);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let msg = value.pointer("/error/message").and_then(Value::as_str).map_or_else(|| value.to_string(), str::to_owned);
            let code = value.pointer("/error/code").and_then(Value::as_str).unwrap_or("");
            bail!("{status} {code}: {msg}");
        }
        Ok(value)
    }
}

pub(crate) fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

#[derive(Subcommand)]
pub enum EventsCmd {
    /// Publish an event: `waooaw events publish --tenant T --type file.created --payload '{"path":"docs/a.md"}'`.
    Publish {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        #[arg(long = "type")]
        event_type: String,
        #[arg(long, default_value = "cli")]
        source: String,
        /// JSON payload, or @file to read it from a file.
        #[arg(long, default_value = "{}")]
        payload: String,
        #[arg(long, default_value = "normal")]
        priority: String,
    },
    /// Show an event and its deliveries.
    Show {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        id: String,
    },
}

impl EventsCmd {
    pub async fn run(self) -> Result<()> {
        match self {
            Self::Publish { conn, tenant, event_type, source, payload, priority } => {
                let (text, origin) = match payload.strip_prefix('@') {
                    Some(file) => (std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?, file.to_owned()),
                    None => (payload, "--payload".to_owned()),
                };
                let payload: Value =
                    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
                let body = json!({"type": event_type, "source": source, "tenant_id": tenant, "payload": payload, "priority": priority});
                print(&conn.call(reqwest::Method::POST, "/v1/events", Some(body)).await?);
            }
            Self::Show { conn, tenant, id } => {
                print(&conn.call(reqwest::Method::GET, &format!("/v1/events/{id}?tenant_id={tenant}"), None).await?)
            }
        }
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum TenantsCmd {
    List {
        #[command(flatten)]
        conn: Conn,
    },
    Create {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        name: String,
        #[arg(long)]
        webhook_secret: Option<String>,
    },
}

impl TenantsCmd {
    pub async fn run(self) -> Result<()> {
        let v = match self {
            Self::List { conn } => conn.call(reqwest::Method::GET, "/v1/tenants", None).await?,
            Self::Create { conn, name, webhook_secret } => {
                conn.call(reqwest::Method::POST, "/v1/tenants", Some(json!({"name": name, "webhook_secret": webhook_secret}))).await?
            }
        };
        print(&v);
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum InstancesCmd {
    List {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
    },
    Show {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Hire an agent on trial: `waooaw instances create --tenant T --specialization wowvision-prime --name Vera`.
    Create {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        specialization: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        role_title: String,
        #[arg(long, default_value = "")]
        industry: String,
        #[arg(long, default_value = "")]
        tone: String,
        #[arg(long = "focus")]
        focus_areas: Vec<String>,
        #[arg(long, default_value = "")]
        escalation_contact: String,
    },
    /// Keep the agent after its trial: trial becomes active.
    Hire {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        id: String,
    },
    Pause {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        id: String,
    },
    Resume {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        id: String,
    },
    Retire {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: String,
        id: String,
    },
}

impl InstancesCmd {
    pub async fn run(self) -> Result<()> {
        use reqwest::Method;
        let v = match self {
            Self::List { conn, tenant } => conn.call(Method::GET, &format!("/v1/instances?tenant_id={tenant}"), None).await?,
            Self::Show { conn, tenant, id } => conn.call(Method::GET, &format!("/v1/instances/{id}?tenant_id={tenant}"), None).await?,
            Self::Create { conn, tenant, specialization, name, role_title, industry, tone, focus_areas, escalation_contact } => {
                let body = json!({"tenant_id": tenant, "specialization_id": specialization, "name": name, "role_title": role_title,
                    "industry": industry, "tone": tone, "focus_areas": focus_areas, "escalation_contact": escalation_contact});
                conn.call(Method::POST, "/v1/instances", Some(body)).await?
            }
            Self::Hire { conn, tenant, id } => {
                conn.call(Method::POST, &format!("/v1/instances/{id}/hire?tenant_id={tenant}"), None).await?
            }
            Self::Pause { conn, tenant, id } => {
                conn.call(Method::POST, &format!("/v1/instances/{id}/pause?tenant_id={tenant}"), None).await?
            }
            Self::Resume { conn, tenant, id } => {
                conn.call(Method::POST, &format!("/v1/instances/{id}/resume?tenant_id={tenant}"), None).await?
            }
            Self::Retire { conn, tenant, id } => {
                conn.call(Method::POST, &format!("/v1/instances/{id}/retire?tenant_id={tenant}"), None).await?
            }
        };
        print(&v);
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum DeadLettersCmd {
    List {
        #[command(flatten)]
        conn: Conn,
        /// Only this tenant's (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
    },
    Redrive {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Option<String>,
        id: String,
    },
}

impl DeadLettersCmd {
    pub async fn run(self) -> Result<()> {
        use reqwest::Method;
        let q = |t: &Option<String>| t.as_ref().map_or_else(String::new, |t| format!("?tenant_id={t}"));
        let v = match self {
            Self::List { conn, tenant } => conn.call(Method::GET, &format!("/v1/dead-letters{}", q(&tenant)), None).await?,
            Self::Redrive { conn, tenant, id } => {
                conn.call(Method::POST, &format!("/v1/dead-letters/{id}/redrive{}", q(&tenant)), None).await?
            }
        };
        print(&v);
        Ok(())
    }
}
