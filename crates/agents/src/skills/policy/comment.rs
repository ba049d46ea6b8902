//! The pull request comment: verdict, reasons, and each violation with its fix.

use super::{Layer, PullRequest, Violation, VisionPolicy};
use crate::skills::content::text::md_cell;

pub(super) fn render(policy: &VisionPolicy, pr: &PullRequest, approve: bool, escalate: bool, violations: &[Violation]) -> String {
    let count = |l: Layer| violations.iter().filter(|v| v.layer == l).count();
    let (p1, p2, p3) = (count(Layer::Principle), count(Layer::Policy), count(Layer::Guidance));
    let verdict = if escalate {
        "🚨 **Escalated to a human**: this pull request breaks an immutable principle. It must not be merged until a person decides."
    } else if approve {
        "✅ **Approved**: no principle or policy violations."
    } else {
        "❌ **Changes requested**: this pull request breaks enforced policies."
    };
    let phase = policy.phase.as_deref().map_or(String::new(), |p| format!(" (phase `{}`)", md_cell(p)));
    let mut md = format!(
        "## WowVision Prime review of #{}: {}\n\n{verdict}\n\nChecked {} file(s) against `{}`{phase}: {p1} principle violation(s), \
         {p2} policy violation(s), {p3} suggestion(s).\n",
        pr.number,
        md_cell(pr.title.trim()),
        pr.files.len(),
        md_cell(&policy.file),
    );
    let sections = [
        (Layer::Principle, "Layer 1: immutable principles (a human decides)"),
        (Layer::Policy, "Layer 2: enforced policies (must be fixed)"),
        (Layer::Guidance, "Layer 3: guidance (advisory)"),
    ];
    for (layer, title) in sections {
        let items: Vec<&Violation> = violations.iter().filter(|v| v.layer == layer).collect();
        if items.is_empty() {
            continue;
        }
        md.push_str(&format!("\n### {title}\n\n| File | Line | Rule | Problem | Fix | Fingerprint |\n|---|---|---|---|---|---|\n"));
        for v in items {
            let times = if v.occurrences > 1 { format!(" ({}×)", v.occurrences) } else { String::new() };
            md.push_str(&format!(
                "| `{}` | {} | `{}` | {}{times} | {} | `{}` |\n",
                md_cell(&v.path),
                v.line.map_or("–".to_owned(), |l| l.to_string()),
                md_cell(&v.rule_id),
                md_cell(&v.message),
                md_cell(&v.fix),
                v.fingerprint.get(..12).unwrap_or(&v.fingerprint)
            ));
        }
    }
    let reminders: Vec<&str> = policy.guidance.iter().filter(|g| g.is_reminder()).map(|g| g.message.as_str()).collect();
    if !reminders.is_empty() {
        md.push_str(&format!("\n### Reminders{phase}\n\n"));
        for r in reminders {
            md.push_str(&format!("- {}\n", md_cell(r)));
        }
    }
    md
}
