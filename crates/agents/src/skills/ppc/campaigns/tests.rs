use super::*;
use crate::skills::csv_input::Severity;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 4, d).unwrap()
}

fn opts(target: f64) -> PacingOptions {
    PacingOptions { target_cpa: Some(target), ..Default::default() }
}

/// One row per campaign for April 1..=10 (10 of 30 days), totals spread evenly.
fn csv(rows: &[(&str, f64, f64, f64, f64, f64)]) -> Vec<u8> {
    let mut s = String::from("Date,Campaign,Impressions,Clicks,Cost,Conversions,Budget\n");
    for d in 1..=10 {
        for (name, imp, clk, cost, conv, budget) in rows {
            s.push_str(&format!("2025-04-{d:02},{name},{},{},{:.2},{},{budget}\n", imp / 10.0, clk / 10.0, cost / 10.0, conv / 10.0));
        }
    }
    s.into_bytes()
}

fn rule_for(r: &CampaignReport, name: &str) -> (&'static str, BidAction) {
    let rec = r.recommendations.iter().find(|x| x.campaign == name).unwrap();
    (rec.rule, rec.action)
}

#[test]
fn metrics_are_computed_per_campaign() {
    let r = analyse_campaigns(&csv(&[("A", 10000.0, 500.0, 1000.0, 25.0, 300.0)]), &opts(50.0), day(11)).unwrap();
    let a = &r.campaigns[0];
    assert_eq!((a.rows, a.impressions, a.clicks), (10, 10000.0, 500.0));
    assert!((a.cost - 1000.0).abs() < 1e-6);
    assert!((a.ctr_percent.unwrap() - 5.0).abs() < 1e-9);
    assert!((a.cpc.unwrap() - 2.0).abs() < 1e-9);
    assert!((a.cpa.unwrap() - 40.0).abs() < 1e-9);
    assert!((a.conversion_rate_percent.unwrap() - 5.0).abs() < 1e-9);
    assert_eq!((r.through, r.days_elapsed, r.days_in_month), (day(10), 10, 30));
}

#[test]
fn each_bid_rule_fires_on_its_numbers() {
    let data = csv(&[
        // CPA 20 < 50, conv rate 10%, budget 300/day → 9000/month, projected 3000: raise.
        ("Efficient", 10000.0, 500.0, 1000.0, 50.0, 300.0),
        // Same efficiency, but spending the whole budget: budget-limited.
        ("Capped", 10000.0, 500.0, 1000.0, 50.0, 100.0),
        // CPA 80 = 1.6 × 50: lower.
        ("Pricey", 20000.0, 400.0, 1600.0, 20.0, 200.0),
        // CPA 150 = 3 × 50: pause.
        ("Awful", 20000.0, 400.0, 1500.0, 10.0, 200.0),
        // No conversion after 200 ≥ 2.5 × 50 (125): pause even with few clicks.
        ("Dry", 5000.0, 50.0, 200.0, 0.0, 50.0),
        // 60 clicks: not enough to judge.
        ("Young", 3000.0, 60.0, 90.0, 1.0, 50.0),
        // CTR 0.5% with CPA 45: lower for relevance.
        ("Broad", 40000.0, 200.0, 900.0, 20.0, 200.0),
        // CPA 45, conv rate 2%: hold.
        ("Steady", 10000.0, 500.0, 450.0, 10.0, 200.0),
    ]);
    let r = analyse_campaigns(&data, &opts(50.0), day(11)).unwrap();
    assert_eq!(rule_for(&r, "Efficient"), ("efficient", BidAction::Raise));
    assert_eq!(rule_for(&r, "Capped"), ("budget-limited", BidAction::Hold));
    assert_eq!(rule_for(&r, "Pricey"), ("cpa-high", BidAction::Lower));
    assert_eq!(rule_for(&r, "Awful"), ("cpa-pause", BidAction::Pause));
    assert_eq!(rule_for(&r, "Dry"), ("no-conversions", BidAction::Pause));
    assert_eq!(rule_for(&r, "Young"), ("low-data", BidAction::Hold));
    assert_eq!(rule_for(&r, "Broad"), ("ctr-low", BidAction::Lower));
    assert_eq!(rule_for(&r, "Steady"), ("on-target", BidAction::Hold));
    let pricey = r.recommendations.iter().find(|x| x.campaign == "Pricey").unwrap();
    assert_eq!(pricey.change_percent, Some(-20.0));
    assert!(pricey.reason.contains("CPA $80.00 is 1.6 × the $50.00 target"), "{}", pricey.reason);
    let eff = r.recommendations.iter().find(|x| x.campaign == "Efficient").unwrap();
    assert!(eff.reason.contains("projected spend $3,000.00 is 33% of the $9,000.00 budget"), "{}", eff.reason);
}

#[test]
fn pacing_against_pro_rata_budget() {
    let data = csv(&[
        ("Over", 1000.0, 100.0, 1300.0, 10.0, 100.0),  // expected 1000 → 130%
        ("Under", 1000.0, 100.0, 850.0, 10.0, 100.0),  // 85%
        ("Even", 1000.0, 100.0, 1050.0, 10.0, 100.0),  // 105%: within 10%
        ("Burst", 1000.0, 100.0, 3100.0, 10.0, 100.0), // more than the month's 3000
    ]);
    let r = analyse_campaigns(&data, &opts(50.0), day(11)).unwrap();
    let by = |n: &str| r.pacing.iter().find(|p| p.campaign == n).unwrap();
    assert_eq!((by("Over").status, by("Over").severity), (PaceStatus::OverPace, Severity::Error));
    assert_eq!((by("Under").status, by("Under").severity), (PaceStatus::UnderPace, Severity::Warning));
    assert_eq!(by("Even").status, PaceStatus::OnPace);
    assert_eq!(by("Burst").status, PaceStatus::Overspent);
    let over = by("Over");
    assert!((over.expected_to_date.unwrap() - 1000.0).abs() < 1e-6);
    assert!((over.projected_month_spend - 3900.0).abs() < 1e-6);
    // (3000 − 1300) / 20 remaining days.
    assert!((over.recommended_daily_budget.unwrap() - 85.0).abs() < 1e-6);
    assert_eq!(over.budget_source, "daily_budget $100.00 × 30 days");
}

#[test]
fn monthly_budget_wins_and_no_budget_is_reported() {
    let data = b"date,campaign,impressions,clicks,cost,conversions,daily budget,monthly budget\n\
        2025-04-10,A,1000,100,500,5,10,1500\n2025-04-10,B,1000,100,500,5,,\n";
    let r = analyse_campaigns(data, &opts(100.0), day(11)).unwrap();
    assert_eq!(r.pacing[0].monthly_budget, Some(1500.0));
    assert_eq!(r.pacing[0].budget_source, "monthly_budget");
    assert_eq!(r.pacing[1].status, PaceStatus::NoBudget);
}

#[test]
fn bad_rows_are_rejected_with_reasons_and_the_rest_analysed() {
    let data = b"date,campaign,impressions,clicks,cost,conversions\n\
        2025-04-01,A,1000,100,50,2\n\
        2025-04-02,A,100,150,50,2\n\
        2025-04-03,A,1000,-5,50,2\n\
        2025-04-30,A,1000,10,50,2\n\
        yesterday,A,1000,10,50,2\n\
        2025-04-04,,1000,10,50,2\n\
        2025-04-05,A,1000,10,n/a,2\n";
    let r = analyse_campaigns(data, &PacingOptions::default(), day(11)).unwrap();
    let got: Vec<(usize, &str)> = r.rejected.iter().map(|x| (x.line, x.reason.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (3, "column `clicks`: 150 clicks exceed 100 impressions"),
            (4, "column `clicks`: -5 is negative"),
            (5, "column `date`: 2025-04-30 is after the report date 2025-04-11"),
            (6, "column `date`: `yesterday` is not a date or a date range"),
            (7, "column `campaign`: empty value"),
            (8, "column `cost`: `n/a` is not a number"),
        ]
    );
    assert_eq!(r.campaigns[0].rows, 1);
    assert_eq!(r.target_cpa, Some(25.0), "account average when no target is set");
}

#[test]
fn no_date_column_means_month_to_date_through_yesterday() {
    let data = b"Campaign Name;Impr.;Clicks;Spend;Results;Monthly Budget\nSpring Sale;12.000;340;1.020,50;17;3000\n";
    let r = analyse_campaigns(data, &opts(40.0), day(16)).unwrap();
    assert_eq!((r.through, r.days_elapsed), (day(15), 15));
    assert!((r.campaigns[0].cost - 1020.5).abs() < 1e-9);
    assert_eq!(r.campaigns[0].impressions, 12000.0);
    // 1020.50 vs 1500 expected: 68% of pace.
    assert_eq!(r.pacing[0].status, PaceStatus::UnderPace);
    assert!(r.notes.iter().any(|n| n.contains("No date column")));
}

#[test]
fn date_ranges_take_their_end_and_other_months_are_noted() {
    assert_eq!(period_end("2025-04-01 - 2025-04-10"), Some(day(10)));
    assert_eq!(period_end("04/01/2025 to 04/10/2025"), Some(day(10)));
    let data = b"date,campaign,impressions,clicks,cost,conversions,monthly_budget\n\
        2025-03-31,A,1000,100,999,5,3000\n2025-04-10,A,1000,100,1000,5,3000\n";
    let r = analyse_campaigns(data, &opts(100.0), day(11)).unwrap();
    assert!((r.pacing[0].spend_to_date - 1000.0).abs() < 1e-9, "March spend is not April pacing");
    assert!((r.campaigns[0].cost - 1999.0).abs() < 1e-9);
    assert!(r.notes.iter().any(|n| n.contains("1 row(s) fall outside April 2025")));
}

#[test]
fn nothing_usable_is_an_error() {
    let e = analyse_campaigns(b"campaign,impressions,clicks,cost,conversions\n", &PacingOptions::default(), day(11)).unwrap_err();
    assert!(matches!(e, SkillError::Invalid(m) if m.contains("no data rows")));
    let e =
        analyse_campaigns(b"campaign,impressions,clicks,cost,conversions\nA,x,1,1,1\n", &PacingOptions::default(), day(11)).unwrap_err();
    assert!(matches!(e, SkillError::Invalid(m) if m.contains("line 2: column `impressions`")));
}

#[test]
fn options_deserialize_with_defaults_and_refuse_unknown_keys() {
    let o: PacingOptions = toml::from_str("target_cpa = 35.0\nmin_clicks = 50").unwrap();
    assert_eq!((o.target_cpa, o.min_clicks, o.pause_cpa_multiple), (Some(35.0), 50, 2.5));
    assert!(toml::from_str::<PacingOptions>("target_cap = 1").is_err());
}
