use super::*;

fn ticket(subject: &str, body: &str, tier: Tier) -> Ticket {
    Ticket {
        id: None,
        subject: subject.into(),
        body: body.into(),
        customer_tier: tier,
        created_at: "2025-05-06T09:30:00Z".parse().unwrap(),
        prior_contacts: 0,
    }
}

fn run(subject: &str, body: &str, tier: Tier) -> Triage {
    triage(&ticket(subject, body, tier), &TriageOptions::default()).unwrap()
}

#[test]
fn enterprise_production_outage_is_p1_with_a_one_hour_sla() {
    let t = run("Dashboard is down", "Since 09:10 the app returns 503 for all users in production.", Tier::Enterprise);
    assert_eq!(t.category, Category::Outage);
    assert_eq!(t.priority, Priority::P1);
    assert_eq!(t.sla_hours, 1);
    assert_eq!(t.sla_deadline.to_rfc3339(), "2025-05-06T10:30:00+00:00");
    assert!(t.escalate);
    assert_eq!(t.escalation_reasons, vec!["P1"]);
}

#[test]
fn p1_needs_severe_impact() {
    let t = run("Export button error", "The CSV export throws an error in production for everyone.", Tier::Enterprise);
    assert_eq!(t.category, Category::Bug);
    assert_eq!(t.priority, Priority::P2);
    assert!(t.priority_reasons.last().unwrap().contains("held at P2"));
}

#[test]
fn free_tier_how_to_is_p4_and_free_bug_is_lowered() {
    let t = run("How do I add a teammate?", "Is it possible to invite a colleague?", Tier::Free);
    assert_eq!((t.category, t.priority, t.sla_hours), (Category::HowTo, Priority::P4, 120));
    let t = run("Chart bug", "The chart shows the wrong month.", Tier::Free);
    assert_eq!((t.category, t.priority), (Category::Bug, Priority::P4));
}

#[test]
fn security_always_escalates_and_legal_threats_too() {
    let t = run("Possible XSS in comments", "A script tag in a comment runs for other users.", Tier::Standard);
    assert_eq!(t.category, Category::Security);
    assert!(t.escalation_reasons.contains(&"security ticket".to_string()));
    let t = run("Invoice wrong", "You overcharged us twice. Our attorney will be in touch.", Tier::Business);
    assert_eq!(t.category, Category::Billing);
    assert!(t.escalate);
    assert!(t.escalation_reasons[0].starts_with("legal threat"), "{:?}", t.escalation_reasons);
}

#[test]
fn repeated_contact_by_count_or_text() {
    let mut tk = ticket("Password reset email", "The reset email never arrives.", Tier::Standard);
    tk.prior_contacts = 2;
    assert!(triage(&tk, &TriageOptions::default()).unwrap().escalate);
    let t = run("Password reset email", "This is the third time I write; still not fixed.", Tier::Standard);
    assert!(t.escalate);
}

#[test]
fn churn_intent_hands_off_to_customer_success() {
    let t = run("Cancel", "We want to cancel our annual subscription and are switching to Zendesk.", Tier::Business);
    assert!(t.churn_risk);
    assert_eq!(t.churn_signals, vec!["cancel our annual subscription", "switching to zendesk"]);
    assert_eq!(t.handoff.as_deref(), Some("customer-success"));
    let t = run("How to cancel a scheduled report", "Also moving to the new dashboard soon.", Tier::Business);
    assert!(!t.churn_risk, "{:?}", t.churn_signals);
}

#[test]
fn ties_and_no_keywords() {
    let t = run("Hello", "Just saying thanks for the webinar.", Tier::Standard);
    assert_eq!((t.category, t.priority, t.confidence), (Category::General, Priority::P4, 0.0));
    assert_eq!(triage(&ticket(" ", "\n", Tier::Free), &TriageOptions::default()), Err(SkillError::Empty));
}

#[test]
fn sla_table_and_keywords_from_settings() {
    let opts: TriageOptions = toml::from_str(
        "[sla_hours]\np4 = [12, 24, 36, 48]\n[[extra_keywords]]\ncategory = \"feature_request\"\nphrase = \"dark mode\"\nweight = 5",
    )
    .unwrap();
    let t = triage(&ticket("Dark mode", "Any plans?", Tier::Standard), &opts).unwrap();
    assert_eq!((t.category, t.sla_hours), (Category::FeatureRequest, 36));
    assert_eq!(opts.sla_hours.p1, [1, 2, 4, 8]);
}

#[test]
fn every_built_in_keyword_compiles() {
    assert_eq!(BUILT_IN.len(), KEYWORDS.len());
    for r in [&SEVERE, &SCOPE, &LEGAL, &REPEAT, &CHURN] {
        assert!(r.is_some());
    }
}
