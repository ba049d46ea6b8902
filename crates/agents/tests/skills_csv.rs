//! The CSV skills (PPC, influencers, pipeline, CRM, leads) on realistic exports and on the bad
//! files customers upload: assertions on the actual findings.

use chrono::NaiveDate;
use waooaw_agents::skills::SkillError;
use waooaw_agents::skills::crm::{DedupeOptions, dedupe_contacts};
use waooaw_agents::skills::csv_input::{Column, Severity, TableSpec, read_table};
use waooaw_agents::skills::influencer::{CampaignBrief, rank_candidates};
use waooaw_agents::skills::leads::{EmailKind, IdealCustomerProfile, outreach_template, qualify_leads};
use waooaw_agents::skills::pipeline::{Issue, PipelineOptions, review_pipeline};
use waooaw_agents::skills::ppc::{BidAction, PaceStatus, PacingOptions, analyse_campaigns};

const CAMPAIGNS: &[u8] = include_bytes!("fixtures/csv/campaign_metrics_may2025.csv");
const CAMPAIGNS_SEMICOLON: &[u8] = include_bytes!("fixtures/csv/campaign_metrics_semicolon.csv");
const INFLUENCERS: &[u8] = include_bytes!("fixtures/csv/influencers.csv");
const DEALS: &[u8] = include_bytes!("fixtures/csv/deals.csv");
const DEALS_MISSING_STAGE: &[u8] = include_bytes!("fixtures/csv/deals_missing_column.csv");
const CONTACTS: &[u8] = include_bytes!("fixtures/csv/contacts.csv");
const CONTACTS_LATIN1: &[u8] = include_bytes!("fixtures/csv/contacts_latin1.csv");
const LEADS: &[u8] = include_bytes!("fixtures/csv/leads.csv");
const LEADS_EXTRA_FIELDS: &[u8] = include_bytes!("fixtures/csv/leads_extra_fields.csv");
const EMPTY: &[u8] = include_bytes!("fixtures/csv/empty.csv");

fn may(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 5, day).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---------------------------------------------------------------- PPC

fn campaign_report(csv: &[u8]) -> waooaw_agents::skills::ppc::CampaignReport {
    analyse_campaigns(csv, &PacingOptions { target_cpa: Some(40.0), ..Default::default() }, may(20)).unwrap()
}

#[test]
fn ppc_metrics_per_campaign_match_the_export() {
    let r = campaign_report(CAMPAIGNS);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!((r.through, r.days_elapsed, r.days_in_month, r.month.as_str()), (may(19), 19, 31, "2025-05"));
    assert_eq!(r.campaigns.len(), 5);
    let brand = &r.campaigns[0];
    assert_eq!(
        (brand.campaign.as_str(), brand.rows, brand.impressions, brand.clicks, brand.conversions),
        ("Brand - Exact", 19, 17941.0, 1617.0, 153.0)
    );
    assert!(close(brand.cost, 881.31, 0.005));
    assert!(close(brand.ctr_percent.unwrap(), 9.013, 0.001));
    assert!(close(brand.cpa.unwrap(), 5.76, 0.005));
    assert!(close(brand.roas.unwrap(), 15.24, 0.01));
    let shopping = r.campaigns.iter().find(|c| c.campaign == "Shopping - All Products").unwrap();
    assert_eq!(shopping.impressions, 401_910.0, "quoted thousands like \"24,039\" are read as numbers");
    assert!(close(shopping.cost, 5164.38, 0.005));
    assert!(close(r.totals.cost, 9990.35, 0.005));
    assert_eq!(r.totals.conversions, 324.0);
}

#[test]
fn ppc_pacing_flags_the_over_and_under_spenders() {
    let r = campaign_report(CAMPAIGNS);
    let pace = |n: &str| r.pacing.iter().find(|p| p.campaign == n).unwrap();
    let status: Vec<(&str, PaceStatus, Severity)> = r.pacing.iter().map(|p| (p.campaign.as_str(), p.status, p.severity)).collect();
    assert_eq!(
        status,
        vec![
            ("Brand - Exact", PaceStatus::UnderPace, Severity::Error),
            ("Generic - Running Shoes", PaceStatus::OnPace, Severity::Info),
            ("Competitor - Conquest", PaceStatus::OnPace, Severity::Info),
            ("Shopping - All Products", PaceStatus::OverPace, Severity::Error),
            ("Remarketing - Display", PaceStatus::UnderPace, Severity::Error),
        ]
    );
    let shopping = pace("Shopping - All Products");
    assert!(close(shopping.monthly_budget.unwrap(), 6200.0, 1e-9));
    assert!(close(shopping.expected_to_date.unwrap(), 3800.0, 1e-6));
    assert!(close(shopping.pace_percent.unwrap(), 135.9, 0.05));
    assert!(close(shopping.projected_month_spend, 8426.09, 0.01));
    // (6200 − 5164.38) / 12 days left.
    assert!(close(shopping.recommended_daily_budget.unwrap(), 86.30, 0.01));
    assert!(shopping.fix.contains("lower the daily budget to $86.30 for the remaining 12 day(s)"), "{}", shopping.fix);
    assert!(close(pace("Remarketing - Display").pace_percent.unwrap(), 20.8, 0.05));
}

#[test]
fn ppc_bid_recommendations_follow_the_documented_rules() {
    let r = campaign_report(CAMPAIGNS);
    let recs: Vec<(&str, BidAction, &str, Option<f64>)> =
        r.recommendations.iter().map(|x| (x.campaign.as_str(), x.action, x.rule, x.change_percent)).collect();
    assert_eq!(
        recs,
        vec![
            ("Brand - Exact", BidAction::Raise, "efficient", Some(15.0)),
            ("Generic - Running Shoes", BidAction::Lower, "cpa-high", Some(-20.0)),
            ("Competitor - Conquest", BidAction::Pause, "cpa-pause", None),
            ("Shopping - All Products", BidAction::Hold, "on-target", None),
            ("Remarketing - Display", BidAction::Hold, "low-data", None),
        ]
    );
    let generic = &r.recommendations[1];
    assert!(generic.reason.contains("CPA $74.09 is 1.9 × the $40.00 target (lower above 1.5 ×)"), "{}", generic.reason);
    let brand = &r.recommendations[0];
    assert!(brand.reason.contains("projected spend $1,437.93 is 77% of the $1,860.00 budget"), "{}", brand.reason);
    let md = r.to_markdown();
    assert!(md.starts_with("# PPC campaign report: May 2025 (through 2025-05-19, day 19 of 31)"));
    assert!(md.contains("| Competitor - Conquest | Pause |"));
}

#[test]
fn ppc_semicolon_decimal_comma_export_reads_the_same() {
    let comma = campaign_report(CAMPAIGNS);
    let semi = campaign_report(CAMPAIGNS_SEMICOLON);
    assert!(semi.rejected.is_empty(), "{:?}", semi.rejected);
    assert_eq!(comma.campaigns.len(), semi.campaigns.len());
    for (a, b) in comma.campaigns.iter().zip(&semi.campaigns) {
        assert_eq!((a.impressions, a.clicks, a.conversions), (b.impressions, b.clicks, b.conversions), "{}", a.campaign);
        assert!(close(a.cost, b.cost, 1e-6) && close(a.conversion_value.unwrap(), b.conversion_value.unwrap(), 1e-6));
    }
    assert_eq!(comma.recommendations, semi.recommendations);
}

// ---------------------------------------------------------------- Influencers

fn running_brief() -> CampaignBrief {
    CampaignBrief {
        target_countries: vec!["US".into(), "Canada".into()],
        age_band: Some("25-34".into()),
        topics: vec!["running".into(), "fitness".into(), "nutrition".into()],
        platforms: vec!["Instagram".into(), "TikTok".into(), "YouTube".into()],
        max_followers: Some(1_000_000),
        ..Default::default()
    }
}

#[test]
fn influencers_ranked_by_engagement_and_fit() {
    let r = rank_candidates(INFLUENCERS, &running_brief()).unwrap();
    assert!(r.rejected.is_empty());
    assert_eq!(r.ranked.len(), 18);
    let top: Vec<&str> = r.ranked.iter().take(3).map(|c| c.handle.as_str()).collect();
    assert_eq!(top, vec!["trailmaya", "plantpoweredpaula", "the.hybrid.athlete"]);
    let maya = &r.ranked[0];
    assert!(close(maya.engagement_rate_percent, 3.199, 0.001));
    assert!(close(maya.fit_score, 90.0, 1e-9));
    assert!(close(maya.score, 94.0, 1e-9));
    let paula = &r.ranked[1];
    assert!(close(paula.fit_score, 87.6, 1e-9), "53% in US/CA, 46% aged 25-34, 2 of 3 topics: {}", paula.fit_score);
    let excluded: Vec<(&str, usize)> = r.excluded.iter().map(|e| (e.handle.as_str(), e.line)).collect();
    assert_eq!(excluded, vec![("megafit.official", 18), ("b2b.runner", 19)]);
}

#[test]
fn influencers_suspicious_followers_are_flagged_and_sink() {
    let r = rank_candidates(INFLUENCERS, &running_brief()).unwrap();
    let mut flagged: Vec<(&str, Vec<&str>)> =
        r.ranked.iter().filter(|c| !c.flags.is_empty()).map(|c| (c.handle.as_str(), c.flags.iter().map(|f| f.code).collect())).collect();
    flagged.sort();
    assert_eq!(
        flagged,
        vec![
            ("fitfluence.max", vec!["implausible-engagement"]),
            ("ghostpace", vec!["low-engagement", "high-following-ratio"]),
            ("marathon.mike", vec!["follower-jump"]),
            ("runwithjess_", vec!["high-following-ratio"]),
            ("sneakerdrops.daily", vec!["few-comments"]),
        ]
    );
    let mut last_four: Vec<&str> = r.ranked.iter().rev().take(4).map(|c| c.handle.as_str()).collect();
    last_four.sort();
    assert_eq!(last_four, vec!["fitfluence.max", "ghostpace", "marathon.mike", "runwithjess_"]);
    assert!(r.ranked.iter().rev().take(4).all(|c| c.suspicious && !c.recommended));
    let mike = r.ranked.iter().find(|c| c.handle == "marathon.mike").unwrap();
    assert!(mike.flags[0].detail.contains("exactly 20000"), "{}", mike.flags[0].detail);
    let md = r.to_markdown();
    assert!(
        md.contains("18 candidates ranked, 12 recommended, 5 with suspicious-follower flags (4 suspicious), 2 excluded by the brief"),
        "{md}"
    );
    // Clean but off-brief candidates are not recommended, and still rank above the suspicious ones.
    let low_fit: Vec<&str> = r.ranked.iter().filter(|c| !c.recommended && !c.suspicious).map(|c| c.handle.as_str()).collect();
    assert_eq!(low_fit, vec!["gymtok.gabe", "yoga.with.noor"]);
    assert_eq!(r.ranked.iter().position(|c| c.handle == "gymtok.gabe"), Some(12));
}

// ---------------------------------------------------------------- Pipeline

#[test]
fn pipeline_follow_up_tasks_one_per_deal() {
    let r = review_pipeline(DEALS, &PipelineOptions::default(), may(20)).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!((r.open_deals, r.closed_deals), (13, 2));
    assert!(close(r.open_amount, 359_450.0, 1e-6));
    let tasks: Vec<(usize, &str, NaiveDate)> = r.tasks.iter().map(|t| (t.line, t.owner.as_str(), t.due)).collect();
    assert_eq!(
        tasks,
        vec![
            (12, "(unassigned)", may(20)),
            (7, "Elena Rossi", may(20)),
            (14, "Elena Rossi", may(20)),
            (3, "Priya Nair", may(20)),
            (6, "Elena Rossi", may(21)),
            (4, "Marcus Chen", may(21)),
            (16, "Marcus Chen", may(21)),
            (5, "Marcus Chen", may(22)),
            (13, "Marcus Chen", may(22)),
        ]
    );
    let hooli = r.tasks.iter().find(|t| t.deal == "Hooli - Security Add-on").unwrap();
    assert_eq!(
        hooli.issues,
        vec![
            Issue::SlippedClose { close_date: may(16), days_overdue: 4 },
            Issue::Stale { last_activity: NaiveDate::from_ymd_opt(2025, 4, 30).unwrap(), days_since: 20 },
            Issue::MissingNextStep,
        ]
    );
    let oscorp = r.tasks.iter().find(|t| t.line == 13).unwrap();
    assert_eq!(oscorp.issues, vec![Issue::MissingAmount { stage: "Commit".into() }], "an amount of 0 at commit stage");
    assert!(r.tasks.iter().all(|t| t.line != 11), "14 days idle is not yet stale");
}

#[test]
fn pipeline_summary_by_owner() {
    let r = review_pipeline(DEALS, &PipelineOptions::default(), may(20)).unwrap();
    let row = |o: &str| {
        let s = r.by_owner.iter().find(|s| s.owner == o).unwrap();
        (s.open_deals, s.open_amount, s.tasks, s.slipped, s.stale, s.missing_next_step, s.missing_amount)
    };
    assert_eq!(row("Priya Nair"), (4, 148_100.0, 1, 1, 0, 0, 0));
    assert_eq!(row("Marcus Chen"), (4, 43_200.0, 4, 0, 2, 0, 2));
    assert_eq!(row("Elena Rossi"), (4, 153_150.0, 3, 2, 2, 2, 0));
    assert_eq!(row("(unassigned)"), (1, 15_000.0, 1, 0, 0, 0, 0));
    assert!(r.to_markdown().contains("13 open deals worth 359,450, 2 closed. **9 follow-up task(s)**, 4 due today."));
}

// ---------------------------------------------------------------- CRM

#[test]
fn crm_merge_proposals_for_near_duplicates() {
    let r = dedupe_contacts(CONTACTS, &DedupeOptions::default()).unwrap();
    let groups: Vec<(usize, Vec<usize>)> = r.merge_proposals.iter().map(|m| (m.keep_line, m.lines.clone())).collect();
    assert_eq!(
        groups,
        vec![
            (2, vec![2, 3]),    // same email, case differs
            (4, vec![4, 5]),    // Michael O'Brien ~ Micheal OBrien at Acme Robotics
            (6, vec![6, 7]),    // Katherine ~ Kathy Moore, same phone in two formats
            (14, vec![14, 15]), // same email, as complete: the earlier record is kept
            (18, vec![18, 19]), // Emma Schulz ~ Schultz, Müller ~ Mueller Logistik
        ]
    );
    let luis = &r.merge_proposals[3];
    assert_eq!(luis.keep_id.as_deref(), Some("1013"));
    let phone = luis.fields.iter().find(|f| f.field == "phone").unwrap();
    assert_eq!((phone.value.as_str(), phone.from_line), ("5105550133", 15), "gap filled from the other record");
    assert_eq!(luis.conflicts.iter().map(|c| c.field).collect::<Vec<_>>(), vec!["name"], "Fernández vs Fernandez");
    // Namesakes at different companies are neither merged nor reviewed.
    assert!(!r.merge_proposals.iter().any(|m| m.lines.contains(&8)));
    let reviews: Vec<(usize, usize)> = r.review_pairs.iter().map(|p| p.lines).collect();
    assert_eq!(reviews, vec![(10, 11), (12, 13)], "shared sales@ mailbox; Priya Raman with a gmail and no company");
}

#[test]
fn crm_missing_field_report() {
    let r = dedupe_contacts(CONTACTS, &DedupeOptions::default()).unwrap();
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].line, 20, "no name and no email");
    let omar = r.missing.iter().find(|m| m.line == 17).unwrap();
    assert_eq!(omar.missing, vec!["email", "phone"]);
    assert_eq!(omar.invalid, vec!["email `omar.haddad@` is not a valid address", "phone `555-12` has too few digits"]);
    let grace = r.missing.iter().find(|m| m.line == 16).unwrap();
    assert_eq!(grace.missing, vec!["phone", "title"]);
    assert_eq!(r.missing_counts.get("title"), Some(&6));
    assert_eq!(r.contacts.iter().find(|c| c.line == 3).unwrap().email.as_deref(), Some("sarah.johnson@brightpath.co.uk"));
    assert_eq!(r.contacts.iter().find(|c| c.line == 15).unwrap().name.as_deref(), Some("Luis Fernandez"));
}

// ---------------------------------------------------------------- Leads

fn finance_icp() -> IdealCustomerProfile {
    IdealCustomerProfile {
        industries: vec!["Software".into(), "SaaS".into(), "Fintech".into(), "Financial Services".into()],
        employees_min: Some(50),
        employees_max: Some(1000),
        countries: vec!["US".into(), "CA".into(), "GB".into()],
        regions: vec!["DACH".into()],
        ..Default::default()
    }
}

#[test]
fn leads_scored_against_the_icp() {
    let r = qualify_leads(LEADS, &finance_icp()).unwrap();
    assert_eq!(r.leads.len(), 20);
    let score = |line: usize| r.leads.iter().find(|l| l.line == line).map(|l| (l.score, l.qualified)).unwrap();
    let expected = [
        (2, 100, true),
        (3, 40, false),
        (4, 100, true),
        (5, 10, false),
        (6, 100, true),
        (7, 30, false),
        (8, 60, true),
        (9, 90, true),
        (10, 0, false),
        (11, 80, true),
        (12, 60, true),
        (13, 40, false),
        (14, 70, true),
        (15, 40, false),
        (16, 80, true),
        (17, 40, false),
        (18, 80, true),
        (19, 0, false),
        (20, 80, true),
        (21, 80, false),
    ];
    for (line, s, q) in expected {
        assert_eq!(score(line), (s, q), "line {line}");
    }
    assert_eq!(r.qualified, 11);
    assert_eq!(r.leads.iter().filter(|l| l.email_kind == EmailKind::FreeMail).count(), 7);
    assert_eq!(r.leads.iter().find(|l| l.line == 21).unwrap().email_kind, EmailKind::Invalid);
    assert_eq!(r.handoff().count(), 11);
    let becker = r.leads.iter().find(|l| l.line == 6).unwrap();
    assert_eq!(becker.reasons[4].detail, "DE is in DACH");
}

#[test]
fn leads_outreach_is_a_labelled_plain_template() {
    let r = qualify_leads(LEADS, &finance_icp()).unwrap();
    let dana = r.handoff().next().unwrap();
    assert_eq!(dana.email, "dana.reyes@ledgerly.com");
    let t = outreach_template(dana, "Sam Carter, Ledgerline");
    assert!(t.contains("Template (no LLM configured)"));
    assert_eq!(t.matches("### Step ").count(), 3);
    assert!(t.contains("Hi Dana,") && t.contains("As VP Finance at Ledgerly") && t.contains("Teams in Fintech"));
}

// ---------------------------------------------------------------- Bad input

#[test]
fn missing_column_names_it_and_the_columns_found() {
    let e = review_pipeline(DEALS_MISSING_STAGE, &PipelineOptions::default(), may(20)).unwrap_err();
    let SkillError::Invalid(msg) = e else { panic!("{e:?}") };
    assert!(msg.starts_with("missing required column `stage`"), "{msg}");
    assert!(msg.contains("`Deal Name`, `Account Name`, `Deal Owner`, `Amount`"), "{msg}");
}

#[test]
fn rows_with_extra_or_missing_fields_are_listed_not_dropped() {
    let r = qualify_leads(LEADS_EXTRA_FIELDS, &finance_icp()).unwrap();
    assert_eq!(r.leads.iter().map(|l| l.line).collect::<Vec<_>>(), vec![2, 5]);
    let rejected: Vec<(usize, &str)> = r.rejected.iter().map(|x| (x.line, x.reason.as_str())).collect();
    assert_eq!(
        rejected,
        vec![
            (3, "10 fields, the header has 9: extra values (an unquoted delimiter inside a value?)"),
            (4, "7 fields, the header has 9: missing fields"),
        ]
    );
    assert!(r.to_markdown().contains("## Rows not analysed (2)"));
}

#[test]
fn latin1_empty_binary_and_huge_files_are_refused_with_a_reason() {
    assert_eq!(dedupe_contacts(CONTACTS_LATIN1, &DedupeOptions::default()).unwrap_err(), SkillError::NotText { offset: 140 });
    assert_eq!(qualify_leads(EMPTY, &finance_icp()).unwrap_err(), SkillError::Empty);
    let xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00";
    assert!(matches!(review_pipeline(xlsx, &PipelineOptions::default(), may(20)), Err(SkillError::NotText { .. })));
    let huge = vec![b'a'; 10 * 1024 * 1024 + 1];
    assert_eq!(
        rank_candidates(&huge, &CampaignBrief::default()).unwrap_err(),
        SkillError::TooLarge { size: 10 * 1024 * 1024 + 1, limit: 10 * 1024 * 1024 }
    );
    let small = PacingOptions { max_bytes: 1000, ..Default::default() };
    assert!(matches!(analyse_campaigns(CAMPAIGNS, &small, may(20)), Err(SkillError::TooLarge { limit: 1000, .. })));
}

#[test]
fn header_only_files_are_an_error_not_an_empty_report() {
    let e = review_pipeline(b"Deal,Owner,Stage,Close Date\n", &PipelineOptions::default(), may(20)).unwrap_err();
    assert!(matches!(e, SkillError::Invalid(m) if m.contains("no deal rows")));
}

#[test]
fn shared_reader_on_a_fixture() {
    const SPEC: TableSpec = TableSpec::new(&[Column::new("email", &["e-mail"])], &[Column::new("country", &[])]);
    let t = read_table(LEADS, &SPEC).unwrap();
    assert_eq!((t.delimiter, t.rows.len(), t.headers.len()), (b',', 20, 9));
    const CAMPAIGN: TableSpec = TableSpec::new(&[Column::new("campaign", &[])], &[]);
    let t = read_table(CAMPAIGNS_SEMICOLON, &CAMPAIGN).unwrap();
    assert_eq!((t.delimiter, t.rows.len()), (b';', 95));
}
