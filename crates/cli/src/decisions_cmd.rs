//! `waooaw decisions` and `waooaw escalations`: the decision engine of a running server. Ids are
//! parsed as UUIDs here, so a typo fails before any request and nothing needs URL-encoding.

use crate::client::{Conn, print};
use anyhow::{Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum DecisionsCmd {
    /// Ask the engine: `waooaw decisions make --tenant T --instance I --type pr.review --context '{"title":"docs: fix typo","files":["docs/a.md"]}'`.
    Make {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        instance: Uuid,
        /// Request type, dotted: `pr.review`, `file.change`.
        #[arg(long = "type")]
        request_type: String,
        /// The facts to decide on, a JSON object, or @file to read it from a file.
        #[arg(long, default_value = "{}")]
        context: String,
        #[arg(long, value_enum, default_value_t = Urgency::Normal)]
        urgency: Urgency,
    },
    /// The decision log, newest first.
    List {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Uuid,
        /// Only this instance's decisions.
        #[arg(long)]
        instance: Option<Uuid>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// Decisions, cost and tokens per tier (method), grouped.
    Summary {
        #[command(flatten)]
        conn: Conn,
        /// Only this tenant's (default: every tenant's).
        #[arg(long)]
        tenant: Option<Uuid>,
        #[arg(long, value_enum, default_value_t = GroupBy::Instance)]
        group_by: GroupBy,
    },
}

#[derive(Subcommand)]
pub enum EscalationsCmd {
    /// Escalations of a tenant, newest first.
    List {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Uuid,
        #[arg(long, value_enum, default_value_t = Status::All)]
        status: Status,
    },
    /// Answer a pending escalation once: `waooaw escalations answer --tenant T ID --answer approve --answered-by maria@acme.example`.
    Answer {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        tenant: Uuid,
        /// The escalation's id (from `escalations list`).
        id: Uuid,
        #[arg(long, value_enum)]
        answer: Answer,
        /// Why; for `modify`, what to do instead (required then).
        #[arg(long, default_value = "")]
        text: String,
        /// Who answers: an email or user handle.
        #[arg(long)]
        answered_by: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Urgency {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    Tenant,
    Instance,
    Specialization,
    Day,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Status {
    Pending,
    Answered,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Answer {
    Approve,
    Reject,
    Modify,
}

/// The name clap shows for a value, which is also what the API takes.
fn name(v: impl ValueEnum) -> String {
    v.to_possible_value().map(|p| p.get_name().to_owned()).unwrap_or_default()
}

/// A JSON object given inline or as `@file`; errors name the flag (or file), line and column.
pub fn json_object_arg(flag: &str, raw: &str) -> Result<Value> {
    let (text, origin) = match raw.strip_prefix('@') {
        Some(file) => (std::fs::read_to_string(file).map_err(|e| anyhow!("{flag} @{file}: cannot read the file: {e}"))?, file.to_owned()),
        None => (raw.to_owned(), flag.to_owned()),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| anyhow!("{origin}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    if !value.is_object() {
        bail!("{flag} must be a JSON object, like '{{\"path\":\"docs/a.md\"}}'");
    }
    Ok(value)
}

fn decide_body(tenant: Uuid, instance: Uuid, request_type: &str, context: &str, urgency: Urgency) -> Result<Value> {
    let context = json_object_arg("--context", context)?;
    Ok(json!({"tenant_id": tenant, "instance_id": instance, "request_type": request_type, "context": context, "urgency": name(urgency)}))
}

fn answer_body(answer: Answer, text: &str, answered_by: &str) -> Result<Value> {
    if answer == Answer::Modify && text.trim().is_empty() {
        bail!("--answer modify needs --text saying what to do instead");
    }
    if answered_by.trim().is_empty() {
        bail!("--answered-by must name who answers");
    }
    Ok(json!({"answer": name(answer), "text": text, "answered_by": answered_by}))
}

impl DecisionsCmd {
    pub async fn run(self) -> Result<()> {
        let v = match self {
            Self::Make { conn, tenant, instance, request_type, context, urgency } => {
                let body = decide_body(tenant, instance, &request_type, &context, urgency)?;
                conn.call(Method::POST, "/v1/decisions", Some(body)).await?
            }
            Self::List { conn, tenant, instance, limit } => {
                let only = instance.map_or_else(String::new, |i| format!("&instance_id={i}"));
                conn.call(Method::GET, &format!("/v1/decisions?tenant_id={tenant}{only}&limit={limit}"), None).await?
            }
            Self::Summary { conn, tenant, group_by } => {
                let only = tenant.map_or_else(String::new, |t| format!("&tenant_id={t}"));
                conn.call(Method::GET, &format!("/v1/decisions/summary?group_by={}{only}", name(group_by)), None).await?
            }
        };
        print(&v);
        Ok(())
    }
}

impl EscalationsCmd {
    pub async fn run(self) -> Result<()> {
        let v = match self {
            Self::List { conn, tenant, status } => {
                conn.call(Method::GET, &format!("/v1/escalations?tenant_id={tenant}&status={}", name(status)), None).await?
            }
            Self::Answer { conn, tenant, id, answer, text, answered_by } => {
                let body = answer_body(answer, &text, &answered_by)?;
                conn.call(Method::POST, &format!("/v1/escalations/{id}/answer?tenant_id={tenant}"), Some(body)).await?
            }
        };
        print(&v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Decisions {
        #[command(subcommand)]
        cmd: DecisionsCmd,
    }

    #[derive(Parser)]
    struct Escalations {
        #[command(subcommand)]
        cmd: EscalationsCmd,
    }

    const T: &str = "0192f0c4-6a1e-7c3d-9b2a-5e8f1d7c4b21";
    const I: &str = "0192f0c4-7b20-7aa1-8c44-1f2e3d4c5b6a";

    #[test]
    fn a_decision_body_carries_the_context_object() {
        let t: Uuid = T.parse().unwrap();
        let i: Uuid = I.parse().unwrap();
        let body = decide_body(t, i, "pr.review", r#"{"title":"docs: fix typo","files":["docs/a.md"]}"#, Urgency::High).unwrap();
        assert_eq!(
            body,
            json!({"tenant_id": T, "instance_id": I, "request_type": "pr.review", "urgency": "high",
                "context": {"title": "docs: fix typo", "files": ["docs/a.md"]}})
        );
    }

    #[test]
    fn bad_context_names_the_flag_and_where() {
        let t = Uuid::now_v7();
        let err = decide_body(t, t, "pr.review", r#"{"title": docs}"#, Urgency::Normal).unwrap_err().to_string();
        assert!(err.starts_with("--context:1:11: invalid JSON"), "{err}");
        let err = decide_body(t, t, "pr.review", r#"["docs/a.md"]"#, Urgency::Normal).unwrap_err().to_string();
        assert!(err.contains("--context must be a JSON object"), "{err}");
        let err = decide_body(t, t, "pr.review", "@/nonexistent/ctx.json", Urgency::Normal).unwrap_err().to_string();
        assert!(err.contains("--context @/nonexistent/ctx.json"), "{err}");
    }

    #[test]
    fn context_is_read_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pr.json");
        std::fs::write(&path, "{\n  \"title\": \"feat: billing\",\n  \"files\": [\"src/a.rs\"\n}").unwrap();
        let err = json_object_arg("--context", &format!("@{}", path.display())).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:4:1: invalid JSON", path.display())), "{err}");
        std::fs::write(&path, r#"{"title": "feat: billing", "files": ["src/a.rs"]}"#).unwrap();
        assert_eq!(json_object_arg("--context", &format!("@{}", path.display())).unwrap()["files"][0], "src/a.rs");
    }

    #[test]
    fn answers_are_checked_before_sending() {
        assert_eq!(answer_body(Answer::Approve, "", "maria").unwrap(), json!({"answer": "approve", "text": "", "answered_by": "maria"}));
        let err = answer_body(Answer::Modify, "  ", "maria").unwrap_err().to_string();
        assert!(err.contains("--text"), "{err}");
        assert_eq!(answer_body(Answer::Modify, "split the PR", "maria").unwrap()["answer"], "modify");
        assert!(answer_body(Answer::Reject, "no", " ").unwrap_err().to_string().contains("--answered-by"));
    }

    #[test]
    fn flags_parse_and_bad_values_are_refused() {
        let ok = Decisions::try_parse_from(["d", "summary", "--group-by", "day"]).unwrap();
        assert!(matches!(ok.cmd, DecisionsCmd::Summary { tenant: None, group_by: GroupBy::Day, .. }));
        let ok = Decisions::try_parse_from(["d", "list", "--tenant", T, "--instance", I]).unwrap();
        assert!(matches!(ok.cmd, DecisionsCmd::List { instance: Some(_), limit: 100, .. }));
        assert!(Decisions::try_parse_from(["d", "summary", "--group-by", "week"]).is_err());
        assert!(Decisions::try_parse_from(["d", "list", "--tenant", "acme"]).is_err());
        assert!(Decisions::try_parse_from(["d", "list", "--tenant", T, "--limit", "0"]).is_err());
        let ok = Escalations::try_parse_from(["e", "answer", "--tenant", T, I, "--answer", "modify", "--text", "x", "--answered-by", "m"]);
        assert!(matches!(ok.unwrap().cmd, EscalationsCmd::Answer { answer: Answer::Modify, .. }));
        assert!(Escalations::try_parse_from(["e", "answer", "--tenant", T, I, "--answer", "maybe", "--answered-by", "m"]).is_err());
        assert!(
            Escalations::try_parse_from(["e", "answer", "--tenant", T, I, "--answer", "approve"]).is_err(),
            "--answered-by is required"
        );
        assert!(Escalations::try_parse_from(["e", "answer", "--tenant", T, "42", "--answer", "approve", "--answered-by", "m"]).is_err());
        let ok = Escalations::try_parse_from(["e", "list", "--tenant", T, "--status", "pending"]).unwrap();
        assert!(matches!(ok.cmd, EscalationsCmd::List { status: Status::Pending, .. }));
        assert_eq!(
            (name(Status::All), name(GroupBy::Specialization), name(Urgency::Urgent)),
            ("all".into(), "specialization".into(), "urgent".into())
        );
    }
}

/// `waooaw costs`: spend per tenant, instance, specialization or day, as a table or JSON.
#[derive(clap::Args)]
pub struct CostsCmd {
    #[command(flatten)]
    conn: Conn,
    /// Only this tenant's (default: every tenant's).
    #[arg(long)]
    tenant: Option<Uuid>,
    #[arg(long, value_enum, default_value_t = GroupBy::Tenant)]
    group_by: GroupBy,
    #[arg(long)]
    json: bool,
}

impl CostsCmd {
    pub async fn run(self) -> Result<()> {
        let mut path = format!("/v1/costs?group_by={}", name(self.group_by));
        if let Some(t) = self.tenant {
            path.push_str(&format!("&tenant_id={t}"));
        }
        let v = self.conn.call(Method::GET, &path, None).await?;
        if self.json {
            print(&v);
            return Ok(());
        }
        println!("{:<38} {:>10} {:>9} {:>12} {:>12} {:>12}", name(self.group_by), "decisions", "llm", "tokens_in", "tokens_out", "usd");
        for g in v["costs"].as_array().into_iter().flatten() {
            println!(
                "{:<38} {:>10} {:>9} {:>12} {:>12} {:>12.6}",
                g["group"].as_str().unwrap_or(""),
                g["decisions"].as_i64().unwrap_or(0),
                g["llm_calls"].as_i64().unwrap_or(0),
                g["tokens_in"].as_i64().unwrap_or(0),
                g["tokens_out"].as_i64().unwrap_or(0),
                g["cost_usd"].as_f64().unwrap_or(0.0)
            );
        }
        println!("total: ${:.6}", v["total_usd"].as_f64().unwrap_or(0.0));
        Ok(())
    }
}
