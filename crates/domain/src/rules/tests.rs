//! Operators, first-match evaluation and every load error, with its line.

use super::*;
use serde_json::{Value, json};

fn cond(text: &str) -> Condition {
    Condition::from_toml("c.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn holds(text: &str, ctx: Value) -> bool {
    cond(text).evaluate("pr.review", &ctx)
}

fn load_err(text: &str) -> SpecError {
    RuleSet::from_toml("r.toml", text).expect_err("should be refused")
}

#[test]
fn equals_compares_any_value_and_numbers_by_value() {
    assert!(holds("field = \"a.b\"\nequals = 3", json!({"a": {"b": 3.0}})));
    assert!(!holds("field = \"a.b\"\nequals = 3", json!({"a": {"b": "3"}})));
    assert!(holds("field = \"s\"\nequals = \"x\"", json!({"s": "x"})));
    assert!(holds("field = \"t\"\nequals = { k = [1, true] }", json!({"t": {"k": [1, true]}})));
    assert!(holds("field = \"d\"\nequals = 2024-05-01", json!({"d": "2024-05-01"})));
    assert!(holds("field = \"request_type\"\nequals = \"pr.review\"", json!({})));
    assert!(!holds("field = \"request_type\"\nequals = \"file.change\"", json!({"request_type": "file.change"})));
}

#[test]
fn paths_index_arrays_and_objects() {
    let ctx = json!({"files": [{"path": "a.md"}, {"path": "b.rs"}], "m": {"0": "zero"}});
    assert!(holds("field = \"files.1.path\"\nequals = \"b.rs\"", ctx.clone()));
    assert!(holds("field = \"m.0\"\nequals = \"zero\"", ctx.clone()));
    assert!(!holds("field = \"files.2.path\"\nexists = true", ctx.clone()));
    assert!(!holds("field = \"files.x\"\nexists = true", ctx.clone()));
    assert!(!holds("field = \"files.0.path.deeper\"\nexists = true", ctx));
}

#[test]
fn in_matches_one_of_the_values() {
    assert!(holds("field = \"n\"\nin = [1, 2, \"three\"]", json!({"n": 2})));
    assert!(holds("field = \"n\"\nin = [1, 2, \"three\"]", json!({"n": "three"})));
    assert!(!holds("field = \"n\"\nin = [1, 2]", json!({"n": [1]})));
}

#[test]
fn regex_matches_strings_only() {
    assert!(holds("field = \"title\"\nregex = '^(feat|fix)(\\(.+\\))?: '", json!({"title": "fix(core): x"})));
    assert!(!holds("field = \"title\"\nregex = '^(feat|fix): '", json!({"title": "chore: x"})));
    assert!(!holds("field = \"n\"\nregex = '1'", json!({"n": 1})));
    assert!(holds("field = \"request_type\"\nregex = '^pr\\.'", json!({})));
}

#[test]
fn glob_matches_a_string_or_any_string_element() {
    assert!(holds("field = \"path\"\nglob = \"docs/**\"", json!({"path": "docs/a/b.md"})));
    assert!(!holds("field = \"path\"\nglob = \"docs/*\"", json!({"path": "docs/a/b.md"})), "* stops at /");
    assert!(holds("field = \"files\"\nglob = \"**/*.md\"", json!({"files": [1, "src/x.rs", "a/README.md"]})));
    assert!(!holds("field = \"files\"\nglob = \"**/*.md\"", json!({"files": ["src/x.rs"]})));
    assert!(!holds("field = \"files\"\nglob = \"**\"", json!({"files": {"a": "b"}})));
}

#[test]
fn numeric_bounds_all_hold() {
    let range = "field = \"n\"\ngte = 1\nlt = 10.5";
    assert!(holds(range, json!({"n": 1})));
    assert!(holds(range, json!({"n": 10.4})));
    assert!(!holds(range, json!({"n": 10.5})));
    assert!(!holds(range, json!({"n": 0.99})));
    assert!(!holds(range, json!({"n": "5"})));
    assert!(holds("field = \"n\"\ngt = -1", json!({"n": 0})));
    assert!(!holds("field = \"n\"\ngt = 0", json!({"n": 0})));
    assert!(holds("field = \"n\"\nlte = 0", json!({"n": 0})));
}

#[test]
fn contains_any_finds_whole_words_in_strings_and_arrays() {
    let c = "field = \"text\"\ncontains_any = [\"cure\", \"money back\"]";
    assert!(holds(c, json!({"text": "It will Cure you"})));
    assert!(holds(c, json!({"text": "full money  back"})));
    assert!(!holds(c, json!({"text": "secure"})));
    assert!(holds(c, json!({"text": [7, "nothing", "a CURE!"]})));
    assert!(!holds(c, json!({"text": {"a": "cure"}})));
}

#[test]
fn lengths_count_chars_and_elements() {
    let c = "field = \"v\"\nmin_len = 2\nmax_len = 3";
    assert!(holds(c, json!({"v": "éé"})), "chars, not bytes");
    assert!(!holds(c, json!({"v": "éééé"})));
    assert!(holds(c, json!({"v": [1, 2, 3]})));
    assert!(!holds(c, json!({"v": [1]})));
    assert!(!holds(c, json!({"v": 22})));
    assert!(holds("field = \"v\"\nmax_len = 0", json!({"v": ""})));
}

#[test]
fn a_missing_or_null_field_fails_everything_but_exists_false() {
    let ops =
        ["equals = 1", "in = [1]", "regex = '.*'", "glob = '**'", "gt = -1e9", "contains_any = ['a']", "min_len = 0", "exists = true"];
    for ctx in [json!({}), json!({"f": null}), json!(null), json!([1])] {
        for op in ops {
            assert!(!holds(&format!("field = \"f\"\n{op}"), ctx.clone()), "{op} on {ctx}");
        }
        assert!(holds("field = \"f\"\nexists = false", ctx.clone()));
        assert!(holds("not = { field = \"f\", equals = 1 }", ctx));
    }
    assert!(holds("field = \"f\"\nexists = true", json!({"f": false})));
}

#[test]
fn combinators_compose() {
    let ctx = json!({"a": 1, "b": 2});
    assert!(holds("all = []", ctx.clone()));
    assert!(!holds("any = []", ctx.clone()));
    assert!(holds("all = [{ field = \"a\", equals = 1 }, { field = \"b\", gt = 1 }]", ctx.clone()));
    assert!(!holds("all = [{ field = \"a\", equals = 1 }, { field = \"b\", gt = 2 }]", ctx.clone()));
    assert!(holds("any = [{ field = \"a\", equals = 9 }, { field = \"b\", gt = 1 }]", ctx.clone()));
    assert!(holds("not = { any = [{ field = \"a\", equals = 9 }] }", ctx));
}

const RULES: &str = r#"
[[rules]]
id = "reject-cure-claims"
applies_to = ["content.*"]
outcome = "reject"
reason = "Health claims need substantiation"
confidence = 0.98
fields = { fix = "remove the claim", at = 1979-05-27T07:32:00Z }
[rules.when]
field = "text"
contains_any = ["cure", "miracle"]

[[rules]]
id = "approve-short"
outcome = "approve"
reason = "Short texts are fine"
confidence = 1
when = { field = "text", max_len = 20 }
"#;

#[test]
fn the_first_applicable_match_wins_in_file_order() {
    let rules = RuleSet::from_toml("r.toml", RULES).unwrap();
    assert_eq!((rules.len(), rules.is_empty()), (2, false));
    let ids: Vec<&str> = rules.iter().map(Rule::id).collect();
    assert_eq!(ids, ["reject-cure-claims", "approve-short"]);

    let m = rules.evaluate("content.compliance", &json!({"text": "A miracle"})).unwrap();
    assert_eq!((m.rule_id, m.verdict, m.confidence), ("reject-cure-claims", Verdict::Reject, 0.98));
    assert_eq!(m.fields, &json!({"fix": "remove the claim", "at": "1979-05-27T07:32:00Z"}));
    let d = m.to_decision();
    assert_eq!((d.method, d.citations[0].id.as_str()), (Method::Rules, "reject-cure-claims"));

    // The cure rule does not apply to `pr.review`; the catch-all rule does.
    let m = rules.evaluate("pr.review", &json!({"text": "A miracle"})).unwrap();
    assert_eq!((m.rule_id, m.verdict, m.fields), ("approve-short", Verdict::Approve, &Value::Null));
    assert!(rules.evaluate("pr.review", &json!({"text": "a long text without any claim in it"})).is_none());
    assert!(RuleSet::from_toml("r.toml", "").unwrap().is_empty());
}

#[test]
fn rules_serialize_to_their_source_form() {
    let rules = RuleSet::from_toml("r.toml", RULES).unwrap();
    let v = serde_json::to_value(&rules).unwrap();
    assert_eq!(v[0]["applies_to"], json!(["content.*"]));
    assert_eq!(v[0]["when"], json!({"field": "text", "contains_any": ["cure", "miracle"]}));
    assert_eq!(v[1]["applies_to"], json!(["*"]));
    assert_eq!(v[1]["outcome"], json!("approve"));
    assert!(v[1].get("fields").is_none());
    let c = cond("not = { all = [{ field = \"n\", gt = 1, lte = 2 }, { field = \"p\", glob = \"a/**\" }] }");
    let expected = json!({"not": {"all": [{"field": "n", "gt": 1.0, "lte": 2.0}, {"field": "p", "glob": "a/**"}]}});
    assert_eq!(serde_json::to_value(&c).unwrap(), expected);
}

/// One valid rule, to break one line at a time. Line numbers below count from 1 at `[[rules]]`.
fn rule(when: &str) -> String {
    format!("[[rules]]\nid = \"r1\"\noutcome = \"reject\"\nreason = \"why\"\nconfidence = 0.5\n{when}\n")
}

#[test]
fn rule_level_errors_name_the_item() {
    let good = rule("when = { field = \"a\", exists = true }");
    assert!(RuleSet::from_toml("r.toml", &good).is_ok());
    let cases: [(String, usize, &str); 9] = [
        (good.replace("id = \"r1\"", "id = \"\""), 2, "rule id"),
        (good.replace("id = \"r1\"", "id = \"R_1\""), 2, "rule id"),
        (good.replace("\"reject\"", "\"deny\""), 3, "outcome `deny`"),
        (good.replace("= \"why\"", "= \" \""), 4, "reason"),
        (good.replace("0.5", "1.5"), 5, "confidence 1.5"),
        (good.replace("0.5", "-0.1"), 5, "confidence -0.1"),
        (good.replace("id = \"r1\"", "id = \"r1\"\napplies_to = [\"pr.review\", \"PR\"]"), 3, "applies_to `PR`"),
        (good.replace("id = \"r1\"", "id = \"r1\"\napplies_to = []"), 3, "applies_to is empty"),
        (good.replace("id = \"r1\"", "id = \"r1\"\npriority = 3"), 3, "priority"),
    ];
    for (text, line, needle) in cases {
        let e = load_err(&text);
        assert_eq!((e.file.as_str(), e.line), ("r.toml", line), "{e}\n{text}");
        assert!(e.reason.contains(needle), "{e}");
    }
    let twice = format!("{good}\n{good}");
    let e = load_err(&twice);
    assert_eq!((e.line, e.column), (9, 6), "{e}");
    assert!(e.reason.contains("already used"), "{e}");
    let e = load_err("[[rules]]\nid = \"x\"\noutcome = \"act\"\nreason = \"r\"\nconfidence = 1\n");
    assert!(e.reason.contains("when"), "{e}");
}

#[test]
fn condition_errors_name_the_item() {
    let cases: [(&str, usize, usize, &str); 16] = [
        ("when = { field = \"a\" }", 6, 8, "no operator"),
        ("when = { field = \"a\", regex = \"x\", glob = \"y\" }", 6, 43, "two operators, `regex` and `glob`"),
        ("when = { field = \"a\", gt = 1, equals = 2, lt = 3 }", 6, 40, "`gt` and `equals`"),
        ("when = { field = \"a\", regex = \"(\" }", 6, 31, "invalid regex `(`: unclosed group"),
        ("when = { field = \"a\", glob = \"a/{b\" }", 6, 30, "invalid glob"),
        ("when = { field = \"a\", equalz = 1 }", 6, 23, "equalz"),
        ("when = { regex = \"x\" }", 6, 8, "needs a `field`"),
        ("when = { field = \"a..b\", exists = true }", 6, 18, "empty segment"),
        ("when = { field = \"a\", all = [] }", 6, 18, "does not belong"),
        ("when = { all = [{ field = \"a\" }] }", 6, 17, "no operator"),
        ("when = { not = { field = \"a\", in = [] } }", 6, 36, "in = []"),
        ("when = { field = \"a\", contains_any = [\"x\", \" \"] }", 6, 44, "needs a word"),
        ("when = { field = \"a\", min_len = 3, max_len = 2 }", 6, 46, "below min_len"),
        ("when = { field = \"a\", min_len = -1 }", 6, 33, ""),
        ("when = { field = \"a\", lt = nan }", 6, 28, "finite"),
        ("when = { field = \"a\", exists = \"yes\" }", 6, 32, ""),
    ];
    for (when, line, column, needle) in cases {
        let text = rule(when);
        let e = load_err(&text);
        assert_eq!((e.line, e.column), (line, column), "{e}\n{text}");
        assert!(e.reason.contains(needle), "{e}");
    }
}

#[test]
fn errors_in_a_when_table_point_into_it() {
    let text = rule("[rules.when]\nfield = \"a\"\nregex = \"x\"\nglob = \"y\"");
    let e = load_err(&text);
    assert_eq!(e.line, 9, "{e}");
    let text = rule("[rules.when]\nfield = \"a\"");
    let e = load_err(&text);
    assert_eq!(e.line, 6, "{e}");
}

#[test]
fn nesting_is_bounded() {
    let deep = (0..40).fold("{ all = [] }".to_owned(), |inner, _| format!("{{ not = {inner} }}"));
    let e = load_err(&rule(&format!("when = {deep}")));
    assert!(e.reason.contains("nest") || e.reason.contains("recursion"), "{e}");
    let ok = (0..20).fold("{ all = [] }".to_owned(), |inner, _| format!("{{ not = {inner} }}"));
    let rules = RuleSet::from_toml("r.toml", &rule(&format!("when = {ok}"))).unwrap();
    assert!(rules.evaluate("x.y", &json!({})).is_some(), "20 nots of true is true");
}
