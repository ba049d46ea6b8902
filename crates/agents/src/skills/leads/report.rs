//! The lead qualification as a Markdown deliverable.

use super::LeadReport;
use crate::skills::csv_input::{md_cell, rejected_markdown};

impl LeadReport {
    pub fn to_markdown(&self) -> String {
        let free = self.leads.iter().filter(|l| l.email_kind == super::EmailKind::FreeMail).count();
        let mut md = format!(
            "# Inbound lead qualification\n\n{} leads scored, **{} qualified** (score ≥ {}) and handed to the SDR; {free} used a free-mail address.\n\n",
            self.leads.len(),
            self.qualified,
            self.threshold
        );
        md.push_str("| Score | Qualified | Lead | Company | Title | Country | Email |\n|---|---|---|---|---|---|---|\n");
        for l in &self.leads {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                l.score,
                if l.qualified { "yes" } else { "no" },
                md_cell(l.name.as_deref().unwrap_or("–")),
                md_cell(l.company.as_deref().unwrap_or("–")),
                md_cell(l.title.as_deref().unwrap_or("–")),
                l.country.as_deref().unwrap_or("–"),
                md_cell(&l.email)
            ));
        }
        md.push_str("\n## Scoring detail\n\n");
        for l in &self.leads {
            md.push_str(&format!("**{}** (line {}): {}/100\n", md_cell(l.name.as_deref().unwrap_or(&l.email)), l.line, l.score));
            for r in &l.reasons {
                md.push_str(&format!("- {} {}/{}: {}\n", r.criterion, r.points, r.max, r.detail));
            }
            md.push('\n');
        }
        md.push_str(&rejected_markdown(&self.rejected));
        md
    }
}
