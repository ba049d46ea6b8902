//! The plain outreach sequence used when no LLM is configured: three emails filled from the
//! lead's data, with bracketed placeholders for what only the sender knows. It invents nothing
//! about the lead or the product.

use super::{EmailKind, ScoredLead};

/// Marks every plain template so no one mistakes it for a written, personalised sequence.
pub const TEMPLATE_LABEL: &str = "Template (no LLM configured)";

/// A three-step email sequence (day 1, 4 and 9) for `lead`, signed by `sender`.
pub fn outreach_template(lead: &ScoredLead, sender: &str) -> String {
    let first = lead.first_name.as_deref().unwrap_or("there");
    let company = lead.company.as_deref().unwrap_or("your team");
    let sender = if sender.trim().is_empty() { "[your name]" } else { sender.trim() };
    let role = match (&lead.title, &lead.company) {
        (Some(t), Some(c)) => format!("as {t} at {c}"),
        (Some(t), None) => format!("as {t}"),
        (None, Some(c)) => format!("at {c}"),
        (None, None) => "in your role".to_string(),
    };
    let industry = lead.industry.as_deref().map_or(String::new(), |i| format!(" in {i}"));
    let to = match &lead.name {
        Some(n) => format!("{n} <{}>", lead.email),
        None => lead.email.clone(),
    };
    let mut out = format!(
        "## {TEMPLATE_LABEL}\n\n\
         This is a plain template filled from the lead's data. Replace the [bracketed] parts before sending; \
         configure an LLM provider for a written, personalised sequence.\n\n\
         **To:** {to}  \n**Lead score:** {}/100 ({})\n",
        lead.score,
        if lead.qualified { "qualified" } else { "not qualified: consider a nurture track instead" }
    );
    if lead.email_kind == EmailKind::FreeMail {
        out.push_str("**Note:** personal email address; confirm the lead's company before a company-specific pitch.\n");
    }
    out.push_str(&format!(
        "\n### Step 1 (day 1): introduction\n\n\
         **Subject:** {company} and [the problem you solve]\n\n\
         Hi {first},\n\n\
         Thanks for your interest. Teams{industry} often tell us [the problem you solve] costs them [time / money]. \
         {role_sentence}, is that on your list this quarter?\n\n\
         [One line on how you solve it, with a customer result you can cite.]\n\n\
         Would a 20-minute call next week be useful?\n\n\
         {sender}\n\n\
         ### Step 2 (day 4): follow-up with something useful\n\n\
         **Subject:** Re: {company} and [the problem you solve]\n\n\
         Hi {first},\n\n\
         Following up with [a guide / case study / benchmark] that shows how [a similar company] handled [the problem]: [link].\n\n\
         Happy to walk you through it if helpful.\n\n\
         {sender}\n\n\
         ### Step 3 (day 9): close the loop\n\n\
         **Subject:** Should I close your file?\n\n\
         Hi {first},\n\n\
         I haven't heard back, so I'll assume the timing isn't right. If [the problem you solve] comes up later, reply here and I'll pick it up.\n\n\
         {sender}\n",
        role_sentence = capitalise(&role),
    ));
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
