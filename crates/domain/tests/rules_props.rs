//! Algebraic properties of rule conditions over random conditions and JSON contexts, first-match
//! evaluation against a linear reference, and evaluation never panicking.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use waooaw_domain::{Condition, RuleSet, Specialization};

const KEYS: &[&str] = &["a", "b", "n", "s", "list", "0"];
const FIELDS: &[&str] = &["a", "b", "n", "s", "list", "list.0", "a.b", "a.0", "s.n", "request_type", "zzz"];
const TYPES: &[&str] = &["pr.review", "file.change", "content.compliance"];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["x", "docs/a.md", "src/b.rs", "a/b/c.md", "cure me", "Money \n back", "ÜNÏ", "12", "", "pr.review"])
            .prop_map(str::to_owned),
        1 => "\\PC{0,24}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-4i64..4).prop_map(Value::from),
        (-4.0f64..4.0).prop_map(|f| json!((f * 2.0).round() / 2.0)),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
        ]
    })
}

fn context() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec((prop::sample::select(KEYS), json()), 0..6)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => json(),
    ]
}

/// One operator, as the inside of an inline table after `field = ...`.
fn operator() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec!["1", "2.0", "-1", "\"x\"", "\"12\"", "true", "[1, \"x\"]", "{ n = 1 }", "\"pr.review\""]);
    let bound = prop::option::of(-4i64..4);
    prop_oneof![
        value.clone().prop_map(|v| format!("equals = {v}")),
        prop::collection::vec(value, 1..4).prop_map(|vs| format!("in = [{}]", vs.join(", "))),
        prop::sample::select(vec!["^x", "md$", "[0-9]+", ".", "(?i)cure", "^pr\\\\."]).prop_map(|r| format!("regex = \"{r}\"")),
        prop::sample::select(vec!["docs/**", "*.md", "**/*.md", "x", "{a,src}/**"]).prop_map(|g| format!("glob = \"{g}\"")),
        (bound.clone(), bound.clone(), bound.clone(), bound).prop_filter_map("at least one bound", |(gt, gte, lt, lte)| {
            let parts: Vec<String> = [("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte)]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k} = {v}")))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }),
        prop::collection::vec(prop::sample::select(vec!["cure", "x", "money back", "ünï", "12"]), 1..3)
            .prop_map(|ws| format!("contains_any = [{}]", ws.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", "))),
        (0usize..3, 0usize..3).prop_map(|(min, extra)| format!("min_len = {min}, max_len = {}", min + extra)),
        (0usize..3).prop_map(|n| format!("min_len = {n}")),
        any::<bool>().prop_map(|b| format!("exists = {b}")),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    (prop::sample::select(FIELDS), operator()).prop_map(|(f, op)| format!("{{ field = \"{f}\", {op} }}"))
}

/// A condition as an inline TOML table.
fn condition() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|cs| format!("{{ all = [{}] }}", cs.join(", "))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|cs| format!("{{ any = [{}] }}", cs.join(", "))),
            inner.prop_map(|c| format!("{{ not = {c} }}")),
        ]
    })
}

fn compile(inline: &str) -> Condition {
    let doc = format!("[[rules]]\nid = \"r\"\noutcome = \"act\"\nreason = \"r\"\nconfidence = 1\nwhen = {inline}\n");
    let rules = RuleSet::from_toml("prop.toml", &doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    rules.iter().next().expect("one rule").when().clone()
}

fn eval(inline: &str, ty: &str, ctx: &Value) -> bool {
    compile(inline).evaluate(ty, ctx)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn double_negation_is_identity(c in condition(), ctx in context(), ty in prop::sample::select(TYPES)) {
        prop_assert_eq!(eval(&format!("{{ not = {{ not = {c} }} }}"), ty, &ctx), eval(&c, ty, &ctx));
        prop_assert_eq!(eval(&format!("{{ not = {c} }}"), ty, &ctx), !eval(&c, ty, &ctx));
    }

    #[test]
    fn all_and_any_are_conjunction_and_disjunction(
        a in condition(), b in condition(), ctx in context(), ty in prop::sample::select(TYPES),
    ) {
        let (x, y) = (eval(&a, ty, &ctx), eval(&b, ty, &ctx));
        let (all_empty, any_empty) = (eval("{ all = [] }", ty, &ctx), eval("{ any = [] }", ty, &ctx));
        prop_assert!(all_empty && !any_empty);
        prop_assert_eq!(eval(&format!("{{ all = [{a}] }}"), ty, &ctx), x);
        prop_assert_eq!(eval(&format!("{{ any = [{a}] }}"), ty, &ctx), x);
        prop_assert_eq!(eval(&format!("{{ all = [{a}, {b}] }}"), ty, &ctx), x && y);
        prop_assert_eq!(eval(&format!("{{ any = [{a}, {b}] }}"), ty, &ctx), x || y);
        // De Morgan, both ways.
        prop_assert_eq!(
            eval(&format!("{{ not = {{ all = [{a}, {b}] }} }}"), ty, &ctx),
            eval(&format!("{{ any = [{{ not = {a} }}, {{ not = {b} }}] }}"), ty, &ctx)
        );
        prop_assert_eq!(
            eval(&format!("{{ not = {{ any = [{a}, {b}] }} }}"), ty, &ctx),
            eval(&format!("{{ all = [{{ not = {a} }}, {{ not = {b} }}] }}"), ty, &ctx)
        );
    }

    #[test]
    fn a_missing_field_fails_every_operator_but_exists_false(op in operator(), ctx in context()) {
        // `zzz` is never a generated key, so it is missing from every context.
        let got = eval(&format!("{{ field = \"zzz\", {op} }}"), "pr.review", &ctx);
        prop_assert_eq!(got, op == "exists = false", "{}", op);
    }

    #[test]
    fn exists_false_is_not_exists_true(field in prop::sample::select(FIELDS), ctx in context()) {
        let yes = eval(&format!("{{ field = \"{field}\", exists = true }}"), "pr.review", &ctx);
        prop_assert_eq!(eval(&format!("{{ field = \"{field}\", exists = false }}"), "pr.review", &ctx), !yes);
    }

    #[test]
    fn serialized_conditions_reload_to_the_same_meaning(c in condition(), ctx in context(), ty in prop::sample::select(TYPES)) {
        let compiled = compile(&c);
        let source = serde_json::to_value(&compiled).expect("serialize");
        let doc = toml::to_string(&source).expect("as TOML");
        let again = Condition::from_toml("again.toml", &doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        prop_assert_eq!(again.evaluate(ty, &ctx), compiled.evaluate(ty, &ctx), "{}", doc);
    }

    #[test]
    fn the_first_applicable_matching_rule_wins(
        rules in prop::collection::vec((prop::sample::select(vec!["*", "pr.*", "file.change", "content.*"]), condition()), 0..6),
        ctx in context(),
        ty in prop::sample::select(TYPES),
    ) {
        let doc: String = rules
            .iter()
            .enumerate()
            .map(|(i, (applies, when))| {
                format!("[[rules]]\nid = \"r{i}\"\napplies_to = [\"{applies}\"]\noutcome = \"approve\"\nreason = \"r\"\nconfidence = 0.5\nwhen = {when}\n\n")
            })
            .collect();
        let set = RuleSet::from_toml("prop.toml", &doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        prop_assert_eq!(set.len(), rules.len());
        let expected = set.iter().find(|r| r.applies(ty) && r.when().evaluate(ty, &ctx)).map(|r| r.id().to_owned());
        prop_assert_eq!(set.evaluate(ty, &ctx).map(|m| m.rule_id.to_owned()), expected);
    }

    #[test]
    fn evaluation_never_panics_on_arbitrary_contexts(c in condition(), ctx in json(), ty in "\\PC{0,20}") {
        let _ = compile(&c).evaluate(&ty, &ctx);
        let text = include_str!("../../../catalog/wowvision-prime.toml");
        let spec = Specialization::from_toml("wowvision-prime.toml", text, &["wowvision.watch"]).expect("catalog spec");
        for t in ["pr.review", "file.change", ty.as_str()] {
            let _ = spec.rules.evaluate(t, &ctx);
        }
    }
}
