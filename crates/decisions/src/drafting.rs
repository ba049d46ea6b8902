//! Drafts through the LLM tier: the persona of the decision prompt, then the spec's prompt
//! template for the kind of text (`[prompts]`), or a plain default that forbids invented facts.
//! A draft is logged like a decision (`draft.<kind>`, method `llm`, verdict `act`), so its cost
//! shows in `/v1/costs` and in daily reports.

use crate::llm_tier::{LlmTier, persona};
use waooaw_domain::{Decision, Draft, DraftError, DraftRequest, Instance, Method, PromptTemplate, Specialization, Verdict};
use waooaw_integrations::llm::{ChatMessage, ChatRequest};

/// Longest draft asked for, whatever the caller wants: a runaway request must not buy a novel.
const MAX_WORDS: u32 = 1_500;

/// Writes the draft; the decision it returns alongside is what the log records of the call
/// (also when the answer is unusable, since the call was paid for).
pub(crate) async fn write(
    llm: &LlmTier,
    budgets: &crate::budget::Budgets,
    spec: &Specialization,
    instance: &Instance,
    request: &DraftRequest,
) -> (Result<Draft, DraftError>, Option<Decision>) {
    let max_words = request.max_words.clamp(1, MAX_WORDS);
    let template = spec.prompts.get(&request.kind).cloned().unwrap_or_else(PromptTemplate::fallback);
    let bounded = DraftRequest { max_words, ..request.clone() };
    let mut system = persona(spec, instance);
    system.push_str("Write for the customer in the voice above. State only the facts you are given.");
    let chat = ChatRequest {
        model: llm.model.clone(),
        system,
        messages: vec![ChatMessage::user(template.render(&bounded))],
        // ~1.4 tokens per English word, and room for a greeting and a sign-off.
        max_tokens: max_words.saturating_mul(2).saturating_add(64),
        // Some variety reads better in outreach; still low, so a redo is recognisably the same.
        temperature: 0.3,
        json_output: false,
    };
    let grant = match budgets
        .reserve(spec, instance, waooaw_domain::Urgency::Normal, crate::budget::estimate(llm, &chat), chrono::Utc::now())
        .await
    {
        Ok(g) => g,
        Err(refusal) => {
            crate::observe::BudgetRefused {
                tenant_id: request.tenant_id,
                instance_id: request.instance_id,
                specialization: &spec.id,
                refusal: &refusal,
            }
            .emit();
            return (Err(DraftError::Refused(refusal.to_string())), None);
        }
    };
    let response = match llm.provider.complete(&chat).await {
        Ok(r) => r,
        Err(e) => {
            budgets.settle(grant, 0, 0.0).await;
            return (Err(DraftError::Provider(format!("{} ({})", e, llm.provider.name()))), None);
        }
    };
    let cost = llm.prices.cost_usd(&response.model, response.tokens_in, response.tokens_out).unwrap_or(0.0);
    budgets.settle(grant, response.tokens_in + response.tokens_out, cost).await;
    let text = response.text.trim().to_owned();
    let reason = if text.is_empty() { "the model answered with no text" } else { "drafted" };
    let mut logged = Decision::free(Verdict::Act, format!("{reason}: {}", request.kind), 1.0, Method::Llm);
    (logged.cost_usd, logged.tokens_in, logged.tokens_out, logged.model) =
        (cost, response.tokens_in, response.tokens_out, Some(response.model.clone()));
    logged.fields = serde_json::json!({"kind": request.kind, "words": text.split_whitespace().count()});
    if text.is_empty() {
        return (Err(DraftError::Empty), Some(logged));
    }
    let draft = Draft { text, model: response.model, cost_usd: cost, tokens_in: response.tokens_in, tokens_out: response.tokens_out };
    (Ok(draft), Some(logged))
}
