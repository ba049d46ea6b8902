//! Checking changed files and pull requests against a policy.

use super::{ChangeStatus, FileChange, Layer, MAX_SCAN_BYTES, PathGlob, PrVerdict, PullRequest, Term, Violation, VisionPolicy};
use crate::skills::content::text::LineIndex;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Hex SHA-256 of (layer, rule id, path, matched text), NUL-separated so fields cannot run into
/// each other; the matched text is lower-cased with whitespace collapsed.
pub(crate) fn fingerprint(layer: Layer, rule_id: &str, path: &str, matched: &str) -> String {
    let matched = matched.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let mut h = Sha256::new();
    for part in [&layer.number().to_string(), rule_id, path, &matched] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Collects violations, merging repeats of one fingerprint into a count.
struct Out<'a> {
    path: &'a str,
    list: Vec<Violation>,
}

impl Out<'_> {
    fn push(&mut self, layer: Layer, rule_id: &str, matched: &str, line: Option<usize>, message: String, fix: String) {
        let fp = fingerprint(layer, rule_id, self.path, matched);
        if let Some(v) = self.list.iter_mut().find(|v| v.fingerprint == fp) {
            v.occurrences += 1;
            return;
        }
        self.list.push(Violation {
            layer,
            rule_id: rule_id.to_owned(),
            path: self.path.to_owned(),
            line,
            message,
            fix,
            fingerprint: fp,
            escalate: layer == Layer::Principle,
            occurrences: 1,
        });
    }
}

fn normalize_path(p: &str) -> String {
    let p = p.trim().replace('\\', "/");
    p.trim_start_matches("./").trim_start_matches('/').to_owned()
}

fn first_match<'a>(globs: &'a [PathGlob], path: &str) -> Option<&'a PathGlob> {
    globs.iter().find(|g| g.matcher.is_match(path))
}

/// Empty scope means everywhere.
fn in_scope(globs: &[PathGlob], path: &str) -> bool {
    globs.is_empty() || first_match(globs, path).is_some()
}

/// Every occurrence of `term`: (line, matched text).
fn occurrences(term: &Term, content: &str, idx: &LineIndex<'_>) -> Vec<(usize, String)> {
    term.pattern.find_iter(content).map(|m| (idx.position(m.start()).0, m.as_str().to_owned())).collect()
}

/// Checks one changed file against every layer. Violations come layer by layer, each in file order.
pub fn check_change(policy: &VisionPolicy, change: &FileChange) -> Vec<Violation> {
    let path = normalize_path(&change.path);
    let mut out = Out { path: &path, list: Vec::new() };
    if path.is_empty() {
        out.push(
            Layer::Policy,
            "invalid-change",
            "",
            None,
            "A change with an empty path cannot be checked.".into(),
            "Report the file's repository path.".into(),
        );
        return out.list;
    }
    let verb = match change.status {
        ChangeStatus::Added => "adds",
        ChangeStatus::Modified => "modifies",
        ChangeStatus::Removed => "removes",
    };
    let removed = change.status == ChangeStatus::Removed;
    let content = change.content.as_deref().filter(|_| !removed);
    let too_large = content.is_some_and(|c| c.len() > MAX_SCAN_BYTES);
    let scan = content.filter(|_| !too_large);
    let idx = scan.map(LineIndex::new);

    // Layer 1.
    for p in &policy.principles {
        if let Some(g) = first_match(&p.protected_paths, &path) {
            out.push(
                Layer::Principle,
                &p.id,
                &g.glob,
                None,
                format!("This change {verb} `{path}`, protected by principle `{}` (\"{}\").", p.id, p.statement),
                "A human must approve changes to protected paths; revert the change or get the principle owner's sign-off.".into(),
            );
        }
        if let (Some(text), Some(idx)) = (scan, &idx)
            && in_scope(&p.paths, &path)
        {
            for t in &p.banned_terms {
                for (line, matched) in occurrences(t, text, idx) {
                    out.push(
                        Layer::Principle,
                        &p.id,
                        &matched,
                        Some(line),
                        format!("\"{matched}\" breaks principle `{}` (\"{}\").", p.id, p.statement),
                        format!("Remove \"{}\"; a human must review why it was introduced.", t.term),
                    );
                }
            }
        }
    }

    // Layer 2: paths and file types.
    let phase = policy.phase.as_deref().map_or(String::new(), |p| format!(" in phase `{p}`"));
    if !removed {
        if let Some(g) = first_match(&policy.forbidden_paths, &path) {
            out.push(
                Layer::Policy,
                "forbidden-path",
                &g.glob,
                None,
                format!("`{path}` is under `{}`, which may not be changed{phase}.", g.glob),
                format!("Move the change out of `{}` or wait for the phase that allows it.", g.glob),
            );
        }
        let file_name = path.rsplit('/').next().unwrap_or(&path);
        let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_lowercase());
        if let Some(ext) = ext.filter(|e| policy.forbidden_extensions.contains(e)) {
            out.push(
                Layer::Policy,
                "forbidden-extension",
                &ext,
                None,
                format!("`.{ext}` files may not be committed{phase}."),
                format!("Remove `{path}` from the change (keep it out of the repository, e.g. in a release store or secret manager)."),
            );
        }
        if too_large {
            out.push(
                Layer::Policy,
                "too-large-to-check",
                "",
                None,
                format!(
                    "`{path}` is {} bytes; files over {MAX_SCAN_BYTES} bytes cannot be checked against the policy.",
                    content.map_or(0, str::len)
                ),
                "Split the file, or keep generated and binary data out of the repository.".into(),
            );
        }
    }

    // Layer 2: content rules.
    if let (Some(text), Some(idx)) = (scan, &idx) {
        for d in policy.docs.iter().filter(|d| in_scope(&d.paths, &path)) {
            check_doc(d, text, idx, &mut out);
        }
        for b in policy.banned_terms.iter().filter(|b| in_scope(&b.paths, &path)) {
            for (line, matched) in occurrences(&b.term, text, idx) {
                let why = b.reason.as_deref().map_or(String::new(), |r| format!(" ({r})"));
                let fix = match &b.replacement {
                    Some(r) => format!("Replace \"{matched}\" with \"{r}\"."),
                    None => format!("Remove \"{matched}\"."),
                };
                out.push(Layer::Policy, &b.id, &matched, Some(line), format!("Banned term \"{matched}\"{why}."), fix);
            }
        }
        for r in policy.required_terms.iter().filter(|r| in_scope(&r.paths, &path)) {
            if !r.term.pattern.is_match(text) {
                let why = r.reason.as_deref().map_or(String::new(), |r| format!(" ({r})"));
                out.push(
                    Layer::Policy,
                    &r.id,
                    &r.term.term,
                    None,
                    format!("`{path}` must contain \"{}\"{why}.", r.term.term),
                    format!("Add \"{}\" to the file.", r.term.term),
                );
            }
        }
    }

    // Layer 3: guidance.
    if !removed {
        for g in &policy.guidance {
            if !g.paths.is_empty() && first_match(&g.paths, &path).is_none() {
                continue;
            }
            let mut hit = false;
            if let (Some(text), Some(idx)) = (scan, &idx) {
                for t in &g.terms {
                    for (line, matched) in occurrences(t, text, idx) {
                        hit = true;
                        out.push(Layer::Guidance, &g.id, &matched, Some(line), format!("\"{matched}\": {}", g.message), g.message.clone());
                    }
                }
                if let Some(max) = g.max_lines {
                    let lines = text.lines().count();
                    if lines > max {
                        hit = true;
                        out.push(
                            Layer::Guidance,
                            &g.id,
                            "max-lines",
                            None,
                            format!("{lines} lines (guide: {max}). {}", g.message),
                            g.message.clone(),
                        );
                    }
                }
            }
            // Path-only guidance applies to every matching file.
            if !hit && g.terms.is_empty() && g.max_lines.is_none() && !g.paths.is_empty() {
                out.push(Layer::Guidance, &g.id, "path", None, g.message.clone(), g.message.clone());
            }
        }
        if content.is_none() {
            out.push(
                Layer::Guidance,
                "content-unavailable",
                "",
                None,
                format!("No text content for `{path}` (binary or not fetched): content rules were not checked."),
                "Check the file by hand if it could hold text the policy covers.".into(),
            );
        }
    }
    out.list.sort_by_key(|v| (v.layer, v.line.unwrap_or(0)));
    out.list
}

/// Front matter keys and the header line of a document.
fn check_doc(d: &super::DocRule, text: &str, idx: &LineIndex<'_>, out: &mut Out<'_>) {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = body.lines().collect();
    let fence = lines.first().map(|l| l.trim_end()).filter(|l| *l == "---" || *l == "+++");
    let mut body_start = 0;
    if !d.front_matter.is_empty() {
        match fence {
            None => {
                out.push(
                    Layer::Policy,
                    &d.id,
                    "front-matter",
                    Some(1),
                    format!("No front matter; documents here need {}.", d.front_matter.join(", ")),
                    format!(
                        "Start the file with:\n---\n{}\n---",
                        d.front_matter.iter().map(|k| format!("{k}: ...")).collect::<Vec<_>>().join("\n")
                    ),
                );
            }
            Some(f) => {
                let close = lines.iter().skip(1).position(|l| l.trim_end() == f || (f == "---" && l.trim_end() == "..."));
                let Some(close) = close.map(|c| c + 1) else {
                    out.push(
                        Layer::Policy,
                        &d.id,
                        "front-matter-unclosed",
                        Some(1),
                        format!("The front matter opened with `{f}` is never closed."),
                        format!("Close it with a `{f}` line."),
                    );
                    return;
                };
                body_start = close + 1;
                let block = lines.get(1..close).unwrap_or(&[]);
                let sep = if f == "---" { ':' } else { '=' };
                for key in &d.front_matter {
                    let found = block.iter().enumerate().find_map(|(i, l)| {
                        let (k, v) = l.split_once(sep)?;
                        (k.trim() == key && !l.starts_with([' ', '\t'])).then(|| (i, v.trim()))
                    });
                    match found {
                        None => out.push(
                            Layer::Policy,
                            &d.id,
                            &format!("front-matter:{key}"),
                            Some(1),
                            format!("Front matter has no `{key}`."),
                            format!("Add `{key}{} ...` to the front matter.", if sep == ':' { ":" } else { " =" }),
                        ),
                        Some((i, v)) => {
                            let next_indented = block.get(i + 1).is_some_and(|n| n.starts_with([' ', '\t', '-']));
                            if (v.is_empty() || v == "\"\"" || v == "''") && !next_indented {
                                out.push(
                                    Layer::Policy,
                                    &d.id,
                                    &format!("front-matter:{key}"),
                                    Some(i + 2),
                                    format!("Front matter `{key}` is empty."),
                                    format!("Give `{key}` a value."),
                                );
                            }
                        }
                    }
                }
            }
        }
    } else if fence.is_some() {
        // Skip front matter the rule does not ask about so the header check sees the body.
        let f = fence.unwrap_or("---");
        if let Some(close) = lines.iter().skip(1).position(|l| l.trim_end() == f) {
            body_start = close + 2;
        }
    }
    if let Some(header) = &d.header {
        let first = lines.iter().enumerate().skip(body_start).find(|(_, l)| !l.trim().is_empty());
        let ok = first.is_some_and(|(_, l)| l.trim_start().starts_with(header.as_str()));
        if !ok {
            let line = first.map_or(idx.position(text.len()).0, |(i, _)| i + 1);
            out.push(
                Layer::Policy,
                &d.id,
                "header",
                Some(line),
                format!(
                    "The first line{} does not start with the required header `{header}`.",
                    if body_start > 0 { " after the front matter" } else { "" }
                ),
                format!("Put `{header}` on the first line{}.", if body_start > 0 { " after the front matter" } else { "" }),
            );
        }
    }
}

/// Checks every file of a pull request. Approves when nothing breaks layer 1 or 2; escalates
/// when layer 1 is broken. Violations with the same fingerprint are reported once.
pub fn check_pull_request(policy: &VisionPolicy, pr: &PullRequest) -> PrVerdict {
    let mut seen = HashSet::new();
    let mut violations: Vec<Violation> =
        pr.files.iter().flat_map(|f| check_change(policy, f)).filter(|v| seen.insert(v.fingerprint.clone())).collect();
    violations.sort_by(|a, b| a.layer.cmp(&b.layer).then_with(|| a.path.cmp(&b.path)).then(a.line.cmp(&b.line)));
    let escalate = violations.iter().any(|v| v.layer == Layer::Principle);
    let approve = !violations.iter().any(|v| v.layer <= Layer::Policy);
    let comment_markdown = super::comment::render(policy, pr, approve, escalate, &violations);
    PrVerdict { number: pr.number, approve, escalate, violations, comment_markdown }
}
