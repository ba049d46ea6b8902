use super::*;
use crate::skills::SkillError;

const POLICY: &str = r#"
version = 1

[[layer1.principles]]
id = "patient-privacy"
statement = "Real patient data never enters the repository."
protected_paths = ["LICENSE", "docs/vision/**"]
banned_terms = ["patient_ssn"]

[layer2]
forbidden_paths = ["infra/prod/**"]
forbidden_extensions = [".PEM", "exe"]

[[layer2.docs]]
paths = ["docs/**/*.md"]
front_matter = ["title", "owner"]
header = "<!-- reviewed -->"

[[layer2.banned_terms]]
term = "whitelist"
replacement = "allowlist"

[[layer2.required_terms]]
paths = ["src/**/*.rs"]
term = "SPDX-License-Identifier"

[layer3]
phase = "mvp"
[[layer3.guidance]]
id = "no-todo"
message = "Track TODOs as issues."
terms = ["TODO"]
[[layer3.guidance]]
id = "small-prs"
message = "Keep pull requests small."
"#;

fn policy() -> VisionPolicy {
    parse_policy(".waooaw/vision.toml", POLICY).unwrap()
}

fn change(path: &str, status: ChangeStatus, content: Option<&str>) -> FileChange {
    FileChange { path: path.into(), status, content: content.map(String::from) }
}

fn summary(v: &[Violation]) -> Vec<(u8, &str, Option<usize>)> {
    v.iter().map(|v| (v.layer.number(), v.rule_id.as_str(), v.line)).collect()
}

#[test]
fn parses_every_layer() {
    let p = policy();
    assert_eq!(p.principles.len(), 1);
    assert_eq!(p.forbidden_extensions, vec!["pem", "exe"]);
    assert_eq!(p.docs[0].id, "docs:docs/**/*.md");
    assert_eq!(p.banned_terms[0].id, "banned-term:whitelist");
    assert_eq!(p.phase.as_deref(), Some("mvp"));
    assert!(p.guidance[1].is_reminder());
}

#[test]
fn protected_paths_escalate_for_any_status() {
    let p = policy();
    for status in [ChangeStatus::Added, ChangeStatus::Modified, ChangeStatus::Removed] {
        let v = check_change(&p, &change("./LICENSE", status, Some("MIT")));
        assert_eq!(summary(&v)[0], (1, "patient-privacy", None), "{status:?}");
        assert!(v[0].escalate);
        assert_eq!(v[0].path, "LICENSE");
    }
    // `*` does not cross directories but `**` does.
    assert!(
        check_change(&p, &change("docs/vision/2025/north-star.md", ChangeStatus::Modified, None))
            .iter()
            .any(|v| v.layer == Layer::Principle)
    );
}

#[test]
fn banned_terms_are_whole_word_counted_and_fingerprinted_stably() {
    let p = policy();
    let text = "// SPDX-License-Identifier: MIT\nlet whitelist = 1;\n// Whitelist again\nlet whitelisted = 2;\n";
    let v = check_change(&p, &change("src/a.rs", ChangeStatus::Added, Some(text)));
    assert_eq!(summary(&v), vec![(2, "banned-term:whitelist", Some(2))]);
    assert_eq!(v[0].occurrences, 2);
    assert_eq!(v[0].fix, "Replace \"whitelist\" with \"allowlist\".");
    let moved = check_change(&p, &change("src/a.rs", ChangeStatus::Modified, Some(&format!("\n\n{text}"))));
    assert_eq!(moved[0].line, Some(4));
    assert_eq!(moved[0].fingerprint, v[0].fingerprint);
    assert_eq!(v[0].fingerprint.len(), 64);
    let other_file = check_change(&p, &change("src/b.rs", ChangeStatus::Added, Some(text)));
    assert_ne!(other_file[0].fingerprint, v[0].fingerprint);
}

#[test]
fn fingerprint_is_sha256_of_the_documented_fields() {
    use sha2::Digest;
    let expected = hex::encode(sha2::Sha256::digest(b"2\0forbidden-path\0infra/prod/db.tf\0infra/prod/**\0"));
    assert_eq!(check::fingerprint(Layer::Policy, "forbidden-path", "infra/prod/db.tf", "infra/prod/**"), expected);
}

#[test]
fn forbidden_paths_and_extensions_but_not_for_removals() {
    let p = policy();
    let v = check_change(&p, &change("infra/prod/keys/server.PEM", ChangeStatus::Added, Some("-----BEGIN")));
    assert_eq!(summary(&v), vec![(2, "forbidden-path", None), (2, "forbidden-extension", None)]);
    assert!(check_change(&p, &change("infra/prod/old.tf", ChangeStatus::Removed, None)).is_empty());
}

#[test]
fn docs_need_front_matter_keys_and_header() {
    let p = policy();
    let none = check_change(&p, &change("docs/guide.md", ChangeStatus::Added, Some("# Guide\n")));
    assert_eq!(summary(&none), vec![(2, "docs:docs/**/*.md", Some(1)), (2, "docs:docs/**/*.md", Some(1))]);
    assert!(none[0].message.starts_with("No front matter"));
    let partial = "---\ntitle: Guide\nowner:\n---\n\n<!-- reviewed -->\n# Guide\n";
    let v = check_change(&p, &change("docs/guide.md", ChangeStatus::Modified, Some(partial)));
    assert_eq!(summary(&v), vec![(2, "docs:docs/**/*.md", Some(3))]);
    assert_eq!(v[0].message, "Front matter `owner` is empty.");
    let bad_header = "---\ntitle: Guide\nowner: ana\n---\n# Guide\n";
    let v = check_change(&p, &change("docs/guide.md", ChangeStatus::Modified, Some(bad_header)));
    assert_eq!(summary(&v), vec![(2, "docs:docs/**/*.md", Some(5))]);
    let unclosed = "---\ntitle: Guide\n";
    assert_eq!(
        check_change(&p, &change("docs/g.md", ChangeStatus::Added, Some(unclosed)))[0].message,
        "The front matter opened with `---` is never closed."
    );
}

#[test]
fn required_terms_guidance_and_missing_content() {
    let p = policy();
    let v = check_change(&p, &change("src/lib.rs", ChangeStatus::Added, Some("fn main() {} // TODO: logging\n")));
    assert_eq!(summary(&v), vec![(2, "required-term:spdx-license-identifier", None), (3, "no-todo", Some(1))]);
    let v = check_change(&p, &change("assets/logo.png", ChangeStatus::Added, None));
    assert_eq!(summary(&v), vec![(3, "content-unavailable", None)]);
}

#[test]
fn huge_files_are_a_policy_violation_not_a_silent_skip() {
    let p = policy();
    let big = "a ".repeat(MAX_SCAN_BYTES / 2 + 1);
    let v = check_change(&p, &change("data/dump.txt", ChangeStatus::Added, Some(&big)));
    assert_eq!(summary(&v), vec![(2, "too-large-to-check", None)]);
}

#[test]
fn parse_errors_name_the_line() {
    let err = |text: &str| match parse_policy("vision.toml", text) {
        Err(SkillError::Line { line, reason }) => (line, reason),
        other => panic!("expected a line error, got {other:?}"),
    };
    assert_eq!(err("[layer2]\nforbidden_paths = [\"a/**\"\n"), (2, "unclosed array, expected `]` (vision.toml:2:26)".into()));
    assert_eq!(err("[layer2]\nx = 1\n\n[[layer1.principles]\nid = \"a\"\n").0, 4);
    let (line, reason) = err("[layer2]\nforbidden_paths = [\"src/[\"]\n");
    assert_eq!(line, 2);
    assert!(reason.contains("path glob") && reason.contains("vision.toml:2:"), "{reason}");
    assert_eq!(err("[layer2]\nforbiden_paths = []\n").0, 2);
    assert_eq!(err("[[layer1.principles]]\nid = \"a\"\nstatement = \"s\"\n").0, 1);
    let (line, reason) = err("[[layer3.guidance]]\nid = \"x\"\nmessage = \"m\"\n[[layer3.guidance]]\nid = \"x\"\nmessage = \"n\"\n");
    assert_eq!(line, 5);
    assert!(reason.contains("first on line 2"), "{reason}");
    assert_eq!(err("version = 2\n[layer2]\nforbidden_paths = [\"a\"]").0, 1);
    assert_eq!(err("[layer3]\nphase = \"x\"\n").0, 1);
    assert_eq!(parse_policy("v.toml", " \n").unwrap_err(), SkillError::Empty);
}

#[test]
fn pull_request_verdicts() {
    let p = policy();
    let clean = PullRequest {
        number: 7,
        title: "Add allowlist".into(),
        body: String::new(),
        files: vec![change("src/allow.rs", ChangeStatus::Added, Some("// SPDX-License-Identifier: MIT\npub fn allowlist() {}\n"))],
    };
    let v = check_pull_request(&p, &clean);
    assert!(v.approve && !v.escalate);
    assert!(v.comment_markdown.contains("✅ **Approved**"));
    assert!(v.comment_markdown.contains("- Keep pull requests small."));
    let mut bad = clean.clone();
    bad.files.push(change("src/x.rs", ChangeStatus::Added, Some("let whitelist = 1;")));
    let v = check_pull_request(&p, &bad);
    assert!(!v.approve && !v.escalate);
    assert!(v.comment_markdown.contains("❌ **Changes requested**"));
    bad.files.push(change("LICENSE", ChangeStatus::Removed, None));
    let v = check_pull_request(&p, &bad);
    assert!(!v.approve && v.escalate);
    assert_eq!(v.violations[0].layer, Layer::Principle);
    assert!(v.comment_markdown.contains("🚨 **Escalated to a human**"));
    assert!(v.comment_markdown.contains(&v.violations[0].fingerprint[..12]));
}
