//! The pipeline review as a Markdown deliverable.

use super::PipelineReport;
use crate::skills::csv_input::{md_cell, rejected_markdown, thousands};

fn amount(v: f64) -> String {
    thousands(v.round() as i64)
}

impl PipelineReport {
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Pipeline hygiene review ({})\n\n{} open deals worth {}, {} closed. **{} follow-up task(s)**, {} due today.\n",
            self.today,
            self.open_deals,
            amount(self.open_amount),
            self.closed_deals,
            self.tasks.len(),
            self.tasks.iter().filter(|t| t.due <= self.today).count()
        );
        for n in &self.notes {
            md.push_str(&format!("\n> {n}\n"));
        }
        md.push_str("\n## Follow-up tasks\n\n| Due | Priority | Owner | Deal | Account | Stage | Amount | Action |\n|---|---|---|---|---|---|---|---|\n");
        for t in &self.tasks {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                t.due,
                t.priority.label(),
                md_cell(&t.owner),
                md_cell(&t.deal),
                md_cell(t.account.as_deref().unwrap_or("–")),
                md_cell(&t.stage),
                t.amount.map_or("–".into(), amount),
                md_cell(&t.action)
            ));
        }
        if self.tasks.is_empty() {
            md.push_str("| – | – | – | – | – | – | – | Every open deal is current. |\n");
        }
        md.push_str("\n## By owner\n\n| Owner | Open deals | Open amount | Tasks | Slipped | Stale | No next step | No amount |\n|---|---|---|---|---|---|---|---|\n");
        for o in &self.by_owner {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                md_cell(&o.owner),
                o.open_deals,
                amount(o.open_amount),
                o.tasks,
                o.slipped,
                o.stale,
                o.missing_next_step,
                o.missing_amount
            ));
        }
        md.push_str(&rejected_markdown(&self.rejected));
        md
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_are_grouped() {
        assert_eq!(super::amount(1234567.4), "1,234,567");
        assert_eq!(super::amount(999.0), "999");
        assert_eq!(super::amount(-4500.0), "-4,500");
    }
}
