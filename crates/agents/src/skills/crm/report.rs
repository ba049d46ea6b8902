//! The CRM clean-up as a Markdown deliverable.

use super::CrmReport;
use crate::skills::csv_input::{md_cell, rejected_markdown};

impl CrmReport {
    pub fn to_markdown(&self) -> String {
        let dupes: usize = self.merge_proposals.iter().map(|m| m.lines.len() - 1).sum();
        let mut md = format!(
            "# CRM contact clean-up\n\n{} contacts: {} merge proposal(s) removing {dupes} duplicate record(s), {} pair(s) to review, {} contact(s) with missing or invalid fields.\n",
            self.contacts.len(),
            self.merge_proposals.len(),
            self.review_pairs.len(),
            self.missing.len()
        );
        for n in &self.notes {
            md.push_str(&format!("\n> {n}\n"));
        }
        md.push_str("\n## Merge proposals\n");
        if self.merge_proposals.is_empty() {
            md.push_str("\nNo duplicates found.\n");
        }
        for (i, m) in self.merge_proposals.iter().enumerate() {
            let lines: Vec<String> = m.lines.iter().map(usize::to_string).collect();
            md.push_str(&format!(
                "\n### {}. Keep line {}{} (merge lines {}; score {:.2})\n\n",
                i + 1,
                m.keep_line,
                m.keep_id.as_deref().map_or(String::new(), |id| format!(" (id {id})")),
                lines.join(", "),
                m.score
            ));
            for e in &m.evidence {
                md.push_str(&format!("- {e}\n"));
            }
            md.push_str("\n| Field | Merged value | From line |\n|---|---|---|\n");
            for f in &m.fields {
                md.push_str(&format!("| {} | {} | {} |\n", f.field, md_cell(&f.value), f.from_line));
            }
            for c in &m.conflicts {
                let vals: Vec<String> = c.values.iter().map(|(l, v)| format!("line {l}: {v}")).collect();
                md.push_str(&format!("\n**Check {}:** {}\n", c.field, md_cell(&vals.join("; "))));
            }
        }
        if !self.review_pairs.is_empty() {
            md.push_str("\n## Possible duplicates to review\n\n| Lines | Score | Why |\n|---|---|---|\n");
            for r in &self.review_pairs {
                md.push_str(&format!("| {} & {} | {:.2} | {} |\n", r.lines.0, r.lines.1, r.score, md_cell(&r.evidence.join(", "))));
            }
        }
        md.push_str("\n## Missing fields\n\n");
        let counts: Vec<String> = self.missing_counts.iter().map(|(f, n)| format!("{f}: {n}")).collect();
        md.push_str(&format!("Missing per field: {}.\n\n", if counts.is_empty() { "none".into() } else { counts.join(", ") }));
        if !self.missing.is_empty() {
            md.push_str("| Line | Contact | Missing | Invalid |\n|---|---|---|---|\n");
            for m in &self.missing {
                md.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    m.line,
                    md_cell(m.name.as_deref().unwrap_or("–")),
                    m.missing.join(", "),
                    md_cell(&m.invalid.join("; "))
                ));
            }
        }
        md.push_str(&rejected_markdown(&self.rejected));
        md
    }
}
