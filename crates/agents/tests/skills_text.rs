//! Text skills on realistic fixtures (`tests/fixtures/text/`): healthcare content review, social
//! posts, campaign emails, support triage, customer health, and WowVision Prime's vision policy.

use chrono::{NaiveDate, Weekday};
use std::collections::BTreeMap;
use waooaw_agents::skills::SkillError;
use waooaw_agents::skills::content::{self, Cadence, ComplianceOptions, FindingKind, content_calendar, review_draft};
use waooaw_agents::skills::email::{Band, EmailDraft, EmailOptions, check_email};
use waooaw_agents::skills::policy::{self, FileChange, Layer, PullRequest, check_pull_request, parse_policy};
use waooaw_agents::skills::social::{SlotConfig, SocialPlatform, check_post, posting_calendar};
use waooaw_agents::skills::success::{HealthBand, HealthOptions, UsageSignals, health_score, qbr_summary};
use waooaw_agents::skills::support::{Category, Priority, Ticket, TriageOptions, triage};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/text/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

// ---- Content marketing (healthcare) ----

#[test]
fn blood_pressure_draft_has_three_claims_and_no_disclaimer() {
    let draft = fixture("blog_blood_pressure_draft.md");
    let r = review_draft(&draft, &ComplianceOptions::default()).unwrap();
    let claims: Vec<(&str, &str, Option<usize>, Option<usize>)> =
        r.by_kind(FindingKind::Claim).map(|f| (f.rule.as_str(), f.matched.as_str(), f.line, f.column)).collect();
    assert_eq!(
        claims,
        vec![
            ("cure", "cures", Some(9), Some(32)),
            ("no-side-effects", "no side effects", Some(9), Some(119)),
            ("proven", "clinically proven", Some(21), Some(22))
        ]
    );
    let cure = r.by_kind(FindingKind::Claim).next().unwrap();
    assert_eq!(cure.sentence, "Our Heart Harmony herbal blend cures high blood pressure in as little as two weeks.");
    // "There is no cure for hypertension" is a responsible sentence, not a claim.
    assert!(!claims.iter().any(|c| c.2 == Some(5)));
    assert!(!r.disclaimer_present);
    assert_eq!(r.by_kind(FindingKind::MissingDisclaimer).count(), 1);
    // The clinic's phone number is flagged for a human to confirm, at medium severity.
    let phi: Vec<_> = r.by_kind(FindingKind::PatientData).collect();
    assert_eq!(phi.len(), 1);
    assert_eq!((phi[0].rule.as_str(), phi[0].line, phi[0].matched.as_str()), ("phone", Some(27), "(***) ***-3344"));
    assert!(!r.compliant);
    let md = r.to_markdown();
    assert!(md.contains("needs changes before publishing") && md.contains("| 9:32 | high | `cure` |"), "{md}");
}

#[test]
fn clean_checkup_draft_passes_with_readability_in_band() {
    let r = review_draft(&fixture("blog_checkup_clean.md"), &ComplianceOptions::default()).unwrap();
    assert!(r.compliant, "{:#?}", r.findings);
    assert!(r.disclaimer_present);
    assert_eq!(r.by_kind(FindingKind::Claim).count(), 0);
    assert_eq!(r.by_kind(FindingKind::PatientData).count(), 0);
    let ease = r.readability.flesch_reading_ease.unwrap();
    let grade = r.readability.flesch_kincaid_grade.unwrap();
    assert!((60.0..=100.0).contains(&ease) && grade <= 8.0, "ease {ease}, grade {grade}");
    assert!(r.readability.within_target);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn patient_story_with_identifiers_is_flagged_and_masked() {
    let r = review_draft(&fixture("patient_story_phi.md"), &ComplianceOptions::default()).unwrap();
    let phi: Vec<(&str, Option<usize>)> = r.by_kind(FindingKind::PatientData).map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(phi, vec![("dob", Some(3)), ("mrn", Some(4)), ("email", Some(5))]);
    assert!(!r.compliant);
    let md = r.to_markdown();
    for secret in ["07/19/1956", "00482913", "maria.delgado@example.com"] {
        assert!(!md.contains(secret), "{secret} leaked into the report");
    }
}

#[test]
fn content_calendar_skips_blackouts_round_robin() {
    let topics: Vec<String> = ["Flu shots", "Heart health", "Sleep", "Sun safety"].map(String::from).to_vec();
    let cadence = Cadence { per_week: 2, weekdays: vec![Weekday::Tue, Weekday::Thu], blackout_dates: vec![date("2025-11-27")] };
    // 2025-11-24 is a Monday; Thanksgiving (Thu 27th) is a blackout.
    let cal = content_calendar(&topics, date("2025-11-24"), &cadence, 3).unwrap();
    let got: Vec<String> = cal.entries.iter().map(|e| format!("{} {}", e.date, e.topic)).collect();
    assert_eq!(
        got,
        vec!["2025-11-25 Flu shots", "2025-12-02 Heart health", "2025-12-04 Sleep", "2025-12-09 Sun safety", "2025-12-11 Flu shots"]
    );
    assert_eq!(cal.skipped.len(), 1);
    assert_eq!(cal.shortfalls, vec!["week 1 (2025-11-24): 1 of 2 posts; blackout dates left no other allowed day"]);
    assert!(cal.to_markdown().contains("| 2 | 2025-12-02 | Tue | Heart health |"));
}

#[test]
fn content_adversarial_inputs() {
    let opts = ComplianceOptions::default();
    assert_eq!(review_draft("", &opts), Err(SkillError::Empty));
    assert_eq!(review_draft(" \n\t\n", &opts), Err(SkillError::Empty));
    let huge = "Walking is good for you. ".repeat(50_000);
    assert_eq!(review_draft(&huge, &opts), Err(SkillError::TooLarge { size: huge.len(), limit: 1 << 20 }));
    // Just under the limit still reviews, quickly, without panicking.
    let big = "Walking is good for you and it cures nothing. ".repeat(20_000);
    let r = review_draft(&big, &opts).unwrap();
    assert_eq!(r.by_kind(FindingKind::Claim).count(), 20_000);
    // Uploaded bytes: binary and bad encodings are refused with the offset.
    assert_eq!(content::text::text_from_bytes(b"\x89PNG\r\n\x1a\n\0\0", 1 << 20), Err(SkillError::NotText { offset: 0 }));
    assert_eq!(content::text::text_from_bytes(b"caf\xe9 au lait", 1 << 20), Err(SkillError::NotText { offset: 3 }));
    // Numbers only: no words to score, reported as such.
    let r = review_draft("120/80 140/90", &opts).unwrap();
    assert_eq!(r.readability.flesch_reading_ease, None);
    assert!(!r.readability.within_target);
}

// ---- Social media (B2B) ----

#[test]
fn linkedin_post_fits_with_hook_before_the_fold() {
    let r = check_post(&fixture("linkedin_post.txt"), SocialPlatform::LinkedIn).unwrap();
    assert!(r.fits);
    assert_eq!(r.hook_length, 47);
    assert_eq!(r.hashtags, vec!["#RevOps", "#B2BSales", "#SalesLeadership"]);
    assert_eq!(r.mentions, vec!["@Jordan", "@NorthwindCo"]);
    assert_eq!(r.links, vec!["https://acme-analytics.com/reports/q3-pipeline"]);
    // Only advice: LinkedIn shows posts with external links to fewer people.
    assert_eq!(r.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["links"]);
}

#[test]
fn x_posts_count_links_as_23() {
    let long = fixture("x_post_too_long.txt");
    let r = check_post(&long, SocialPlatform::X).unwrap();
    let url = "https://acme-analytics.com/reports/q3-pipeline-benchmark-2025?utm_source=x&utm_medium=social";
    assert_eq!(r.links, vec![url]);
    assert_eq!(r.length, long.trim_end().chars().count() + 1 - url.chars().count() + 23);
    assert!(r.length > 280 && !r.fits);
    assert_eq!(r.hashtags.len(), 3);
    let ok = check_post(&fixture("x_post_ok.txt"), SocialPlatform::X).unwrap();
    assert!(ok.fits && ok.length <= 280, "{}", ok.length);
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
}

#[test]
fn posting_calendar_for_two_weeks() {
    let plan = posting_calendar(8, &[SocialPlatform::LinkedIn, SocialPlatform::X], date("2025-09-01"), 14, &SlotConfig::default()).unwrap();
    assert_eq!(plan.slots.len(), 8);
    assert!(plan.unplaced.is_empty());
    for p in [SocialPlatform::LinkedIn, SocialPlatform::X] {
        let times: Vec<_> = plan.slots.iter().filter(|s| s.platform == p).map(|s| s.at).collect();
        assert_eq!(times.len(), 4);
        assert!(times.windows(2).all(|w| w[1] - w[0] >= chrono::Duration::hours(24)), "{p:?}: {times:?}");
    }
    assert!(
        plan.slots
            .iter()
            .filter(|s| s.platform == SocialPlatform::LinkedIn)
            .all(|s| matches!(s.weekday, Weekday::Tue | Weekday::Wed | Weekday::Thu))
    );
    assert_eq!(check_post("", SocialPlatform::X), Err(SkillError::Empty));
}

// ---- Email marketing ----

fn newsletter(html: String) -> EmailDraft {
    EmailDraft {
        subject: "Flu shots are here: walk in at any clinic".into(),
        preheader: Some("No appointment needed, Monday to Saturday at all four clinics".into()),
        html_body: Some(html),
        text_body: Some(
            "Flu shots are here. Find a clinic: https://riversidefh.com/flu\nUnsubscribe: https://riversidefh.com/email/unsubscribe?u=8f3a"
                .into(),
        ),
        from: "Riverside Family Health <news@riversidefh.com>".into(),
        list_unsubscribe: None,
    }
}

#[test]
fn newsletter_with_footer_scores_well() {
    let r = check_email(&newsletter(fixture("email_newsletter.html")), &EmailOptions::default()).unwrap();
    assert_eq!(r.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), Vec::<&str>::new());
    assert_eq!(r.score, 100);
    assert_eq!(r.band, Band::Good);
    assert!(r.unsubscribe.as_deref().unwrap().contains("html line 30"), "{:?}", r.unsubscribe);
    assert_eq!(r.postal_address.as_deref(), Some("1200 Market Street … Philadelphia, PA 19107"));
    assert_eq!((r.links, r.images, r.images_missing_alt), (5, 2, 0));
}

#[test]
fn newsletter_without_footer_loses_unsubscribe_and_address() {
    let html = fixture("email_newsletter.html");
    let start = html.find("<td class=\"footer\">").unwrap();
    let end = html[start..].find("</td>").unwrap() + start + 5;
    let stripped = format!("{}{}", &html[..start], &html[end..]);
    let mut d = newsletter(stripped);
    d.text_body = None;
    let r = check_email(&d, &EmailOptions::default()).unwrap();
    assert_eq!(r.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["unsubscribe", "postal-address", "text-alternative"]);
    assert_eq!(r.score, 55);
    assert_eq!(r.band, Band::Poor);
    assert!(r.to_markdown().contains("- Unsubscribe: **missing**"));
}

#[test]
fn spammy_promo_is_poor() {
    let d = EmailDraft {
        subject: "RE: You are a WINNER!!! 100% FREE whitening".into(),
        html_body: Some(fixture("email_promo_spammy.html")),
        from: "Deals <noreply@promo-blast.example>".into(),
        ..EmailDraft::default()
    };
    let r = check_email(&d, &EmailOptions::default()).unwrap();
    let triggers: Vec<&str> = r.spam_hits.iter().map(|h| h.trigger.as_str()).collect();
    for t in [
        "100% free",
        "act now",
        "winner",
        "click here",
        "congratulations",
        "limited time",
        "while supplies last",
        "order now",
        "ALL CAPS",
        "!",
        "$$",
    ] {
        assert!(triggers.contains(&t), "{t} missing from {triggers:?}");
    }
    let rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    for rule in ["unsubscribe", "postal-address", "spam-triggers", "image-ratio", "link-shortener", "subject-pattern", "img-alt", "from"] {
        assert!(rules.contains(&rule), "{rule} missing from {rules:?}");
    }
    assert_eq!(r.score, 0);
    assert_eq!(r.band, Band::Poor);
    let winner = r.spam_hits.iter().find(|h| h.trigger == "winner").unwrap();
    assert_eq!((winner.location.as_str(), winner.count), ("subject", 2));
}

// ---- Technical support ----

#[test]
fn ten_tickets_are_triaged() {
    let tickets: Vec<Ticket> = serde_json::from_str(&fixture("tickets.json")).unwrap();
    assert_eq!(tickets.len(), 10);
    let got: Vec<(String, Category, Priority, u32, bool, bool)> = tickets
        .iter()
        .map(|t| {
            let r = triage(t, &TriageOptions::default()).unwrap();
            (r.ticket_id.unwrap(), r.category, r.priority, r.sla_hours, r.escalate, r.churn_risk)
        })
        .collect();
    use Category::*;
    use Priority::*;
    let expected = vec![
        ("T-1001", Outage, P1, 1, true, false),
        ("T-1002", Billing, P3, 24, false, true),
        ("T-1003", Bug, P3, 48, false, false),
        ("T-1004", HowTo, P4, 120, false, false),
        ("T-1005", Access, P3, 24, false, false),
        ("T-1006", FeatureRequest, P4, 72, false, false),
        ("T-1007", Security, P2, 4, true, false),
        ("T-1008", Bug, P3, 24, true, true),
        ("T-1009", Billing, P3, 48, true, false),
        ("T-1010", General, P4, 120, false, false),
    ];
    let expected: Vec<(String, Category, Priority, u32, bool, bool)> =
        expected.into_iter().map(|(i, c, p, h, e, ch)| (i.to_string(), c, p, h, e, ch)).collect();
    assert_eq!(got, expected);

    let outage = triage(&tickets[0], &TriageOptions::default()).unwrap();
    assert_eq!(outage.sla_deadline.to_rfc3339(), "2025-05-06T10:05:00+00:00");
    let repeat = triage(&tickets[7], &TriageOptions::default()).unwrap();
    assert_eq!(repeat.handoff.as_deref(), Some("customer-success"));
    assert_eq!(repeat.churn_signals, vec!["unhappy", "cancel our subscription", "move to looker"]);
    assert!(repeat.escalation_reasons.iter().any(|r| r.starts_with("repeated contact")));
    let legal = triage(&tickets[8], &TriageOptions::default()).unwrap();
    assert_eq!(legal.escalation_reasons, vec!["legal threat (\"attorney\")"]);
    assert!(outage.to_markdown().contains("| Priority | P1 |"));
}

#[test]
fn malformed_tickets_are_rejected_with_the_field() {
    let err = serde_json::from_str::<Ticket>(r#"{"subject":"x","body":"y","created_at":"yesterday"}"#).unwrap_err().to_string();
    assert!(err.starts_with("input contains invalid characters"), "{err}");
    let err = serde_json::from_str::<Ticket>(r#"{"subject":"x","body":"y","customer_tier":"gold","created_at":"2025-05-06T09:05:00Z"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `gold`"), "{err}");
    let huge = Ticket {
        id: None,
        subject: "x".into(),
        body: "y".repeat(300_000),
        customer_tier: Default::default(),
        created_at: chrono::Utc::now(),
        prior_contacts: 0,
    };
    assert!(matches!(triage(&huge, &TriageOptions::default()), Err(SkillError::TooLarge { .. })));
}

// ---- Customer success ----

#[test]
fn three_accounts_are_scored_into_bands() {
    let accounts: BTreeMap<String, UsageSignals> = serde_json::from_str(&fixture("accounts.json")).unwrap();
    let opts = HealthOptions::default();
    let h = |name: &str| health_score(&accounts[name], &opts).unwrap();
    let northwind = h("Northwind Clinics");
    let contoso = h("Contoso Dental Group");
    let fabrikam = h("Fabrikam Urgent Care");
    // Hand-computed from the documented weights (see success.rs).
    for (health, expected) in [(&northwind, 97.0), (&contoso, 57.4), (&fabrikam, 17.3)] {
        assert!((health.score - expected).abs() <= 0.2, "{} vs {expected}", health.score);
    }
    assert_eq!([northwind.band, contoso.band, fabrikam.band], [HealthBand::Healthy, HealthBand::AtRisk, HealthBand::Critical]);
    assert!(northwind.churn_reasons.is_empty(), "{:?}", northwind.churn_reasons);
    assert_eq!(
        contoso.churn_reasons,
        vec![
            "low adoption of alerts (10%), scheduled_reports (18%)",
            "heavy support load: 12 tickets in 30 days",
            "1 P1 incident(s) in the last 90 days",
            "invoice 14 days overdue",
            "renewal in 60 days with the account at risk",
        ]
    );
    assert!(fabrikam.churn_reasons.iter().any(|r| r == "only 6 of 50 seats are active (12%)"));
    assert!(fabrikam.churn_reasons.iter().any(|r| r == "negative NPS (-40): more detractors than promoters"));

    let q1 = health_score(
        &UsageSignals { as_of: Some(date("2025-03-31")), active_users: 40, nps: Some(-10), ..accounts["Contoso Dental Group"].clone() },
        &opts,
    )
    .unwrap();
    let md = qbr_summary("Contoso Dental Group", &[q1, contoso.clone()], &["Rolled out scheduled reports to 3 practices".into()]);
    assert!(md.contains("## Health") && md.contains("| 2025-03-31 |") && md.contains("| 2025-06-30 |"));
    assert!(md.contains("- Rolled out scheduled reports to 3 practices"));
    // Weakest components relative to their weight come first: logins (44%), adoption (46%), P1s (50%).
    assert!(md.contains("## Next steps\n\n- **login activity** (6.6/15.0)"), "{md}");
    assert!(md.contains("-3.9 since 2025-03-31 (61.3, at risk)."), "{md}");
    assert!(md.contains("Renewal in 60 days."));
}

// ---- WowVision Prime: vision policy ----

#[test]
fn pull_request_breaking_every_layer_is_escalated() {
    let policy = parse_policy(".waooaw/vision.toml", &fixture("vision.toml")).unwrap();
    let pr: PullRequest = serde_json::from_str(&fixture("pull_request.json")).unwrap();
    let verdict = check_pull_request(&policy, &pr);
    let got: Vec<(u8, &str, &str, Option<usize>)> =
        verdict.violations.iter().map(|v| (v.layer.number(), v.rule_id.as_str(), v.path.as_str(), v.line)).collect();
    assert_eq!(
        got,
        vec![
            (1, "open-license", "docs/vision/north-star.md", None),
            (1, "patient-privacy", "src/api/export.rs", Some(4)),
            (2, "forbidden-extension", "certs/dev-server.pem", None),
            (2, "docs-front-matter", "docs/guides/onboarding.md", Some(1)),
            (2, "forbidden-path", "infra/prod/main.tf", None),
            (2, "spdx-header", "src/api/export.rs", None),
            (2, "banned-term:whitelist", "src/billing/invoice.rs", Some(6)),
            (3, "content-unavailable", "assets/logo.png", None),
            (3, "todo-tracking", "src/api/handlers.rs", Some(5)),
        ]
    );
    assert!(!verdict.approve && verdict.escalate);
    let whitelist = verdict.violations.iter().find(|v| v.rule_id == "banned-term:whitelist").unwrap();
    assert_eq!(whitelist.occurrences, 3);
    assert_eq!(whitelist.fix, "Replace \"whitelist\" with \"allowlist\".");
    assert!(verdict.violations.iter().filter(|v| v.layer == Layer::Principle).all(|v| v.escalate));
    let md = &verdict.comment_markdown;
    assert!(md.starts_with("## WowVision Prime review of #128: Appointments API, invoice terms and onboarding guide"));
    assert!(md.contains("🚨 **Escalated to a human**"));
    assert!(md.contains("2 principle violation(s), 5 policy violation(s), 2 suggestion(s)"));
    assert!(md.contains(
        "| `src/billing/invoice.rs` | 6 | `banned-term:whitelist` | Banned term \"whitelist\" (inclusive language guide). (3×) |"
    ));
    assert!(md.contains("- Prefer changes that make the clinic demo work end to end."));
    // One fingerprint per distinct violation, all distinct.
    let mut fps: Vec<&str> = verdict.violations.iter().map(|v| v.fingerprint.as_str()).collect();
    fps.sort();
    fps.dedup();
    assert_eq!(fps.len(), verdict.violations.len());
}

#[test]
fn fixing_the_policy_violations_gets_approval() {
    let policy = parse_policy(".waooaw/vision.toml", &fixture("vision.toml")).unwrap();
    let mut pr: PullRequest = serde_json::from_str(&fixture("pull_request.json")).unwrap();
    pr.files
        .retain(|f| matches!(f.path.as_str(), "src/api/handlers.rs" | "README.md" | "src/billing/invoice.rs" | "src/legacy/old_sync.rs"));
    for f in &mut pr.files {
        if let Some(c) = &mut f.content {
            *c = c.replace("whitelist", "allowlist");
        }
    }
    let verdict = check_pull_request(&policy, &pr);
    assert!(verdict.approve && !verdict.escalate);
    assert_eq!(verdict.violations.iter().map(|v| v.rule_id.as_str()).collect::<Vec<_>>(), vec!["todo-tracking"]);
    assert!(verdict.comment_markdown.contains("✅ **Approved**"));
    // Same violation, same fingerprint, whichever PR it shows up in: issues deduplicate.
    let alone = policy::check_change(&policy, &pr.files.iter().find(|f| f.path == "src/api/handlers.rs").unwrap().clone());
    assert_eq!(alone[0].fingerprint, verdict.violations[0].fingerprint);
}

#[test]
fn policy_syntax_error_names_its_line() {
    match parse_policy(".waooaw/vision.toml", &fixture("vision_syntax_error.toml")) {
        Err(SkillError::Line { line, reason }) => {
            assert_eq!(line, 10, "{reason}");
            assert!(reason.contains(".waooaw/vision.toml:10:"), "{reason}");
        }
        other => panic!("expected a line error, got {other:?}"),
    }
    assert_eq!(parse_policy("v.toml", "").unwrap_err(), SkillError::Empty);
    let huge = format!("# {}\n", "x".repeat(policy::MAX_POLICY_BYTES));
    assert!(matches!(parse_policy("v.toml", &huge), Err(SkillError::TooLarge { .. })));
    // A change set entry with a bad status is rejected when read.
    let err = serde_json::from_str::<FileChange>(r#"{"path":"a","status":"renamed"}"#).unwrap_err().to_string();
    assert!(err.contains("unknown variant `renamed`"), "{err}");
}
