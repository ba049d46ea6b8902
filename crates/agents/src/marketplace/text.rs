//! Agents whose input is prose or records: Content Marketing, Social Media, Email Marketing,
//! Technical Support and Customer Success.

use super::{AgentDef, deliverable, html_text, options};
use crate::drafts::DraftJob;
use crate::skill_agent::{Document, Handoff, SkillOutput};
use crate::skills::{SkillError, content, email, social, success, support};
use serde_json::{Value, json};

pub(crate) const AGENTS: &[AgentDef] = &[
    AgentDef { name: "content.review", accepts: &["text/plain", "text/markdown", "text/html"], skill: content_review, answers: &[] },
    AgentDef { name: "social.review", accepts: &["text/plain", "text/markdown"], skill: social_review, answers: &[] },
    AgentDef { name: "email.review", accepts: &["text/html", "application/json"], skill: email_review, answers: &[] },
    AgentDef { name: "support.triage", accepts: &["application/json", "text/plain"], skill: support_triage, answers: &[] },
    AgentDef { name: "success.health", accepts: &["application/json"], skill: success_health, answers: &[] },
];

fn content_review(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let opts: content::ComplianceOptions = options(doc, "compliance")?;
    let text = if doc.content_type == "text/html" { html_text(doc.content) } else { doc.content.to_owned() };
    let report = content::review_draft(&text, &opts)?;
    let mut md = report.to_markdown();
    // Sentences with a finding get compliant rewrites. Only the report's sentences go to the
    // model, and those are masked where they held patient-like data: the draft itself never does.
    let flagged: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| !f.sentence.is_empty())
        .take(12)
        .map(|f| serde_json::json!({"sentence": f.sentence, "problem": f.message, "fix": f.fix}))
        .collect();
    Ok(if flagged.is_empty() {
        deliverable("compliance_review", format!("Compliance review: {}", doc.filename), md)
    } else {
        let marker = DraftJob::marker(0);
        md.push_str(&format!("\n## Suggested rewrites\n\n{marker}\n"));
        let mut out = deliverable("compliance_review", format!("Compliance review: {}", doc.filename), md);
        out.drafts.push(DraftJob {
            marker,
            kind: "compliant_rewrite".into(),
            brief: "Rewrite each flagged sentence of a healthcare marketing draft so that it keeps its meaning but \
                    fixes the problem named (no cure or guarantee claims, no patient data). One numbered line per sentence."
                .into(),
            facts: serde_json::json!({"flagged": flagged}),
            max_words: 40 * flagged.len() as u32,
            fallback_markdown:
                "*Rewrites are written by the LLM tier, and no LLM provider is configured: apply the fixes listed above by hand.*\n".into(),
        });
        out
    })
}

fn social_review(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let platform = doc.settings.get("platform").cloned().unwrap_or_else(|| Value::from("linkedin"));
    let platform: social::SocialPlatform =
        serde_json::from_value(platform).map_err(|e| SkillError::Invalid(format!("spec settings `platform`: {e}")))?;
    let report = social::check_post(doc.content, platform)?;
    let mut md = report.to_markdown();
    let title = format!("Post review ({}): {}", platform.name(), doc.filename);
    if report.findings.is_empty() {
        return Ok(deliverable("post_review", title, md));
    }
    // A post with findings gets a rewrite that fits the platform.
    let rules = platform.rules();
    let marker = DraftJob::marker(0);
    md.push_str(&format!("\n## Suggested rewrite\n\n{marker}\n"));
    let mut out = deliverable("post_review", title, md);
    out.drafts.push(DraftJob {
        marker,
        kind: "social_post".into(),
        brief: format!(
            "Rewrite this {} post so that it fixes every finding and fits the platform: at most {} characters, {} to {} hashtags, \
             at most {} link(s). Keep its message, facts, links and mentions; answer with the post only.",
            platform.name(),
            rules.max_chars,
            rules.recommended_hashtags.0,
            rules.recommended_hashtags.1,
            rules.recommended_links.max(1)
        ),
        facts: serde_json::json!({
            "post": doc.content,
            "findings": report.findings.iter().map(|f| format!("{}: {}", f.message, f.fix)).collect::<Vec<_>>(),
        }),
        max_words: (rules.max_chars / 6).clamp(40, 400) as u32,
        fallback_markdown:
            "*A rewrite is written by the LLM tier, and no LLM provider is configured: apply the fixes listed above by hand.*\n".into(),
    });
    Ok(out)
}

/// An email as JSON (`subject`, `from`, `html_body`...), or its HTML with the subject taken from
/// `<title>` and the sender from the spec's `settings.from`.
fn email_review(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let opts: email::EmailOptions = options(doc, "email")?;
    let draft = if doc.content_type == "application/json" {
        serde_json::from_str::<email::EmailDraft>(doc.content).map_err(|e| SkillError::Invalid(format!("email JSON: {e}")))?
    } else {
        let page = scraper::Html::parse_document(doc.content);
        let title = scraper::Selector::parse("title, h1")
            .ok()
            .and_then(|s| page.select(&s).next().map(|e| e.text().collect::<String>().trim().to_owned()))
            .unwrap_or_default();
        email::EmailDraft {
            subject: title,
            preheader: None,
            html_body: Some(doc.content.to_owned()),
            text_body: None,
            from: doc.settings.get("from").and_then(Value::as_str).unwrap_or("").to_owned(),
            list_unsubscribe: None,
        }
    };
    let report = email::check_email(&draft, &opts)?;
    Ok(deliverable("deliverability_review", format!("Deliverability review: {}", doc.filename), report.to_markdown()))
}

/// One ticket (JSON object, or plain text: first line subject, the rest the body) or a list.
fn support_triage(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let opts: support::TriageOptions = options(doc, "triage")?;
    let tickets: Vec<support::Ticket> = if doc.content_type == "text/plain" {
        let (subject, body) = doc.content.trim().split_once('\n').unwrap_or((doc.content.trim(), ""));
        if subject.trim().is_empty() {
            return Err(SkillError::Empty);
        }
        vec![support::Ticket {
            id: None,
            subject: subject.trim().to_owned(),
            body: body.trim().to_owned(),
            customer_tier: Default::default(),
            created_at: doc.now,
            prior_contacts: 0,
        }]
    } else {
        match serde_json::from_str::<Value>(doc.content).map_err(|e| SkillError::Invalid(format!("tickets JSON: {e}")))? {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, t)| serde_json::from_value(t).map_err(|e| SkillError::Invalid(format!("ticket {}: {e}", i + 1))))
                .collect::<Result<_, _>>()?,
            one => vec![serde_json::from_value(one).map_err(|e| SkillError::Invalid(format!("ticket: {e}")))?],
        }
    };
    if tickets.is_empty() {
        return Err(SkillError::Empty);
    }
    let mut md = format!("# Ticket triage: {} ticket(s) from {}\n", tickets.len(), doc.filename);
    let mut churn = Vec::new();
    for t in &tickets {
        md.push_str("\n---\n\n");
        let triage = support::triage(t, &opts)?;
        md.push_str(&triage.to_markdown());
        if triage.handoff.as_deref() == Some("customer-success") {
            churn.push(json!({"ticket_id": t.id, "subject": t.subject, "customer_tier": t.customer_tier, "priority": triage.priority,
                "churn_signals": triage.churn_signals, "created_at": t.created_at}));
        }
    }
    let mut out = deliverable("ticket_triage", format!("Ticket triage: {}", doc.filename), md);
    // Churn-risk tickets go to the tenant's Customer Success agent as follow-up work.
    if !churn.is_empty() {
        out.deliverable.body_markdown.push_str(&format!("\n\n{} churn-risk ticket(s) handed to Customer Success.\n", churn.len()));
        out.handoffs.push(Handoff {
            to: "customer-success",
            action: "churn_risk",
            filename: format!("churn-risk-{}.json", doc.filename.trim_end_matches(".json").trim_end_matches(".txt")),
            content_type: "application/json",
            content: json!({"churn_risk_tickets": churn}).to_string(),
        });
    }
    Ok(out)
}

/// Churn-risk tickets handed over by Technical Support: who to reach, how, and by when.
fn churn_follow_ups(doc: &Document<'_>, tickets: &[Value]) -> Result<SkillOutput, SkillError> {
    if tickets.is_empty() {
        return Err(SkillError::Empty);
    }
    let mut md = format!("# Churn-risk follow-ups from Technical Support: {} ticket(s)\n\n", tickets.len());
    md.push_str("| Ticket | Subject | Tier | Priority | Signals | Reach out by | Action |\n|---|---|---|---|---|---|---|\n");
    for t in tickets {
        let field = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
        let urgent = matches!(field("priority"), "P1" | "P2") || field("customer_tier") == "enterprise";
        let by = doc.now + chrono::Duration::hours(if urgent { 24 } else { 72 });
        let action = match field("customer_tier") {
            "enterprise" | "business" => "Account manager calls the customer; review the open issue together",
            _ => "Personal check-in email from Customer Success with the fix status",
        };
        let signals =
            t.get("churn_signals").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "));
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {action} |\n",
            field("ticket_id"),
            field("subject").replace('|', "\\|"),
            field("customer_tier"),
            field("priority"),
            signals.unwrap_or_default().replace('|', "\\|"),
            by.format("%Y-%m-%d %H:%M UTC"),
        ));
    }
    Ok(deliverable("churn_follow_ups", format!("Churn-risk follow-ups: {}", doc.filename), md))
}

/// Usage signals of one account, or of several keyed by account name.
fn success_health(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let opts: success::HealthOptions = options(doc, "health")?;
    let v: Value = serde_json::from_str(doc.content).map_err(|e| SkillError::Invalid(format!("usage signals JSON: {e}")))?;
    if let Some(tickets) = v.get("churn_risk_tickets").and_then(Value::as_array) {
        return churn_follow_ups(doc, tickets);
    }
    let accounts: Vec<(String, Value)> = match v {
        Value::Object(m) if m.values().all(Value::is_object) && !m.is_empty() => m.into_iter().collect(),
        other => vec![(doc.filename.trim_end_matches(".json").to_owned(), other)],
    };
    let mut md = format!("# Account health: {} account(s)\n", accounts.len());
    for (name, signals) in accounts {
        let signals: success::UsageSignals =
            serde_json::from_value(signals).map_err(|e| SkillError::Invalid(format!("account `{name}`: {e}")))?;
        let health = success::health_score(&signals, &opts)?;
        md.push_str("\n---\n\n");
        md.push_str(&success::qbr_summary(&name, &[health], &[]));
    }
    Ok(deliverable("account_health", format!("Account health: {}", doc.filename), md))
}
