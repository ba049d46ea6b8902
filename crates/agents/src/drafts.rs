//! Text a skill wants written (an outreach email, a rewritten post): the skill does the analysis
//! and leaves a marker in its deliverable for each draft; the skill agent asks the decision
//! engine's LLM tier to write them (`Decider::draft`) and puts each in place of its marker. With
//! no LLM configured, or when the call fails or is refused, the skill's plain fallback goes in
//! instead, saying so: the deliverable never passes a template off as written text.

use waooaw_domain::{Decider, DraftError, DraftRequest, Instance, Specialization};

/// Drafts written per input at most: each is a paid LLM call, and an upload of 5,000 leads must
/// not buy 5,000 emails. Later ones get the fallback, with a note saying why.
pub const MAX_DRAFTS_PER_INPUT: usize = 10;

/// One piece of text to write.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftJob {
    /// The placeholder in the deliverable's body (see [`DraftJob::marker`]).
    pub marker: String,
    /// The draft kind: picks the spec's `[prompts]` template.
    pub kind: String,
    pub brief: String,
    /// The only facts the text may use.
    pub facts: serde_json::Value,
    pub max_words: u32,
    /// Markdown used when no draft can be written; it must say it is not a written draft.
    pub fallback_markdown: String,
}

impl DraftJob {
    /// An HTML comment, so a marker left in place by mistake renders as nothing.
    pub fn marker(n: usize) -> String {
        format!("<!-- waooaw:draft:{n} -->")
    }
}

/// Writes every job into `body`, returning how many the LLM wrote.
pub async fn fill(decider: &dyn Decider, spec: &Specialization, instance: &Instance, body: &mut String, jobs: Vec<DraftJob>) -> usize {
    let mut written = 0;
    let mut provider_missing = false;
    for (i, job) in jobs.into_iter().enumerate() {
        let text = if provider_missing {
            job.fallback_markdown.clone()
        } else if i >= MAX_DRAFTS_PER_INPUT {
            format!("*Not drafted: at most {MAX_DRAFTS_PER_INPUT} drafts are written per upload.*\n\n{}", job.fallback_markdown)
        } else {
            let request = DraftRequest {
                tenant_id: instance.tenant_id,
                instance_id: instance.id,
                kind: job.kind.clone(),
                brief: job.brief.clone(),
                facts: job.facts.clone(),
                max_words: job.max_words,
            };
            match decider.draft(spec, instance, request).await {
                Ok(d) => {
                    written += 1;
                    format!(
                        "### Draft (written by {model})\n\n{text}\n\n*Drafted by the LLM tier ({model}, {tokens} tokens, ${cost:.4}) from the facts above; review before sending.*\n",
                        model = d.model,
                        text = d.text,
                        tokens = d.tokens_in + d.tokens_out,
                        cost = d.cost_usd
                    )
                }
                Err(DraftError::NoProvider) => {
                    provider_missing = true;
                    job.fallback_markdown.clone()
                }
                Err(e) => format!("*Drafting failed ({e}); the plain version follows.*\n\n{}", job.fallback_markdown),
            }
        };
        *body = body.replacen(&job.marker, &text, 1);
    }
    written
}
