//! Agents whose input is a CSV export: PPC, Influencer Marketing, Account Executive, CRM
//! Management, Lead Generation and SDR.

use super::{AgentDef, deliverable, options};
use crate::drafts::DraftJob;
use crate::skill_agent::{Document, Handoff, SkillOutput};
use crate::skills::{SkillError, crm, influencer, leads, pipeline, ppc};

const CSV: &[&str] = &["text/csv"];

pub(crate) const AGENTS: &[AgentDef] = &[
    AgentDef { name: "ppc.analyse", accepts: &["text/csv", "application/json"], skill: ppc_analyse, answers: &[] },
    AgentDef { name: "influencer.rank", accepts: CSV, skill: influencer_rank, answers: &[] },
    AgentDef { name: "ae.pipeline", accepts: &["text/csv", "application/json"], skill: ae_pipeline, answers: &[] },
    AgentDef { name: "crm.dedupe", accepts: CSV, skill: crm_dedupe, answers: &[] },
    AgentDef { name: "leadgen.qualify", accepts: CSV, skill: leadgen_qualify, answers: &[] },
    AgentDef { name: "sdr.score", accepts: CSV, skill: sdr_score, answers: &[] },
];

/// Campaign metrics (CSV) get a pacing and bid report; ad copy (JSON: `{"platform": "google",
/// "headlines": [...], ...}`) gets a limits check.
fn ppc_analyse(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    if doc.content_type == "application/json" {
        let mut v: serde_json::Value = serde_json::from_str(doc.content).map_err(|e| SkillError::Invalid(format!("ad copy JSON: {e}")))?;
        let platform = v.get("platform").cloned().unwrap_or_else(|| serde_json::json!("google"));
        if let Some(o) = v.as_object_mut() {
            o.remove("platform");
        }
        let platform: ppc::AdPlatform =
            serde_json::from_value(platform).map_err(|e| SkillError::Invalid(format!("ad copy `platform`: {e}")))?;
        let ad: ppc::AdCopy = serde_json::from_value(v).map_err(|e| SkillError::Invalid(format!("ad copy: {e}")))?;
        let report = ppc::check_ad_copy(&ad, platform);
        return Ok(deliverable("ad_copy_check", format!("Ad copy check: {}", doc.filename), report.to_markdown()));
    }
    let opts: ppc::PacingOptions = options(doc, "pacing")?;
    let report = ppc::analyse_campaigns(doc.content.as_bytes(), &opts, doc.today)?;
    Ok(deliverable("campaign_pacing", format!("Campaign pacing and bids: {}", doc.filename), report.to_markdown()))
}

fn influencer_rank(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let brief: influencer::CampaignBrief = options(doc, "brief")?;
    let report = influencer::rank_candidates(doc.content.as_bytes(), &brief)?;
    Ok(deliverable("influencer_shortlist", format!("Influencer shortlist: {}", doc.filename), report.to_markdown()))
}

fn ae_pipeline(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    if doc.content_type == "application/json" {
        return lead_follow_ups(doc);
    }
    let opts: pipeline::PipelineOptions = options(doc, "pipeline")?;
    let report = pipeline::review_pipeline(doc.content.as_bytes(), &opts, doc.today)?;
    Ok(deliverable("pipeline_followups", format!("Pipeline follow-ups: {}", doc.filename), report.to_markdown()))
}

fn crm_dedupe(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let opts: crm::DedupeOptions = options(doc, "dedupe")?;
    let report = crm::dedupe_contacts(doc.content.as_bytes(), &opts)?;
    Ok(deliverable("crm_cleanup", format!("Contact cleanup: {}", doc.filename), report.to_markdown()))
}

/// Qualifies the leads and hands the qualified ones (their rows of the export, header kept) to
/// the tenant's SDR.
fn leadgen_qualify(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let icp: leads::IdealCustomerProfile = options(doc, "icp")?;
    let report = leads::qualify_leads(doc.content.as_bytes(), &icp)?;
    let mut md = report.to_markdown();
    let qualified: Vec<usize> = report.handoff().map(|l| l.line).collect();
    md.push_str(&format!("\n\n{} qualified lead(s) handed to the SDR.\n", qualified.len()));
    let mut out = deliverable("qualified_leads", format!("Lead qualification: {}", doc.filename), md);
    if !qualified.is_empty() {
        let lines: Vec<&str> = doc.content.lines().collect();
        let mut csv = lines.first().map(|h| format!("{h}\n")).unwrap_or_default();
        for n in &qualified {
            if let Some(row) = n.checked_sub(1).and_then(|i| lines.get(i)) {
                csv.push_str(row);
                csv.push('\n');
            }
        }
        out.handoffs.push(Handoff {
            to: "sdr-b2b-saas",
            action: "score_leads",
            filename: format!("qualified-{}", doc.filename),
            content_type: "text/csv",
            content: csv,
        });
    }
    Ok(out)
}

/// Scored leads handed over by the SDR become follow-up tasks for the Account Executive.
fn lead_follow_ups(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let v: serde_json::Value = serde_json::from_str(doc.content).map_err(|e| SkillError::Invalid(format!("scored leads JSON: {e}")))?;
    let leads =
        v.get("leads").and_then(|l| l.as_array()).ok_or_else(|| SkillError::Invalid("scored leads JSON has no `leads` list".into()))?;
    if leads.is_empty() {
        return Err(SkillError::Invalid("the scored leads list is empty".into()));
    }
    let due = doc.today + chrono::Duration::days(2);
    let mut md = format!(
        "# Follow-up tasks from the SDR: {} lead(s)\n\n| Due | Lead | Company | Score | Task |\n|---|---|---|---|---|\n",
        leads.len()
    );
    for l in leads {
        let s = |k: &str| l.get(k).and_then(|x| x.as_str()).unwrap_or("–").replace('|', "/");
        md.push_str(&format!(
            "| {due} | {} <{}> | {} | {} | Discovery call; confirm budget and timeline |\n",
            s("name"),
            s("email"),
            s("company"),
            l.get("score").and_then(|x| x.as_u64()).unwrap_or(0)
        ));
    }
    Ok(deliverable("lead_follow_ups", format!("Follow-up tasks: {}", doc.filename), md))
}

/// Scores the leads, then has an outreach email written for each qualified one by the LLM tier
/// (facts: only the lead's own data and the score); without an LLM, each gets the labelled plain
/// three-step template.
fn sdr_score(doc: &Document<'_>) -> Result<SkillOutput, SkillError> {
    let icp: leads::IdealCustomerProfile = options(doc, "icp")?;
    let sender = doc.settings.get("sender").and_then(|v| v.as_str()).unwrap_or("[your name]");
    let report = leads::qualify_leads(doc.content.as_bytes(), &icp)?;
    let mut md = report.to_markdown();
    let mut drafts = Vec::new();
    for lead in report.handoff() {
        let marker = DraftJob::marker(drafts.len());
        md.push_str(&format!("\n\n---\n\n## Outreach: {}\n\n{marker}\n", lead.name.as_deref().unwrap_or(&lead.email)));
        drafts.push(DraftJob {
            marker,
            kind: "outreach_email".into(),
            brief: format!(
                "A first outreach email from {sender} to {}, a lead scored {}/100 against our ideal customer profile: \
                 a subject line, then a short, specific body that asks for a 20-minute call.",
                lead.name.as_deref().unwrap_or(&lead.email),
                lead.score
            ),
            facts: serde_json::json!({
                "lead": {"name": lead.name, "title": lead.title, "company": lead.company, "industry": lead.industry,
                         "country": lead.country, "email": lead.email},
                "score": lead.score,
                "why_it_scored": lead.reasons.iter().map(|r| format!("{}: {} ({}/{})", r.criterion, r.detail, r.points, r.max)).collect::<Vec<_>>(),
                "sender": sender,
            }),
            max_words: 140,
            fallback_markdown: leads::outreach_template(lead, sender),
        });
    }
    let mut out = deliverable("scored_leads_outreach", format!("Scored leads and outreach: {}", doc.filename), md);
    out.drafts = drafts;
    let scored: Vec<serde_json::Value> = report
        .handoff()
        .map(|l| serde_json::json!({"name": l.name, "email": l.email, "company": l.company, "title": l.title, "score": l.score}))
        .collect();
    if !scored.is_empty() {
        let content = serde_json::json!({"leads": scored}).to_string();
        out.handoffs.push(Handoff {
            to: "account-executive",
            action: "follow_up_leads",
            filename: format!("scored-{}", doc.filename),
            content_type: "application/json",
            content,
        });
    }
    Ok(out)
}
