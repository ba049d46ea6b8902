use super::*;

fn signals() -> UsageSignals {
    UsageSignals {
        as_of: Some("2025-06-30".parse().unwrap()),
        logins_last_30d: 400,
        active_users: 40,
        seats: 50,
        feature_adoption: BTreeMap::from([("reports".into(), 0.9), ("automations".into(), 0.3)]),
        support_tickets_30d: 3,
        p1_tickets_90d: 0,
        nps: Some(40),
        days_to_renewal: 200,
        invoice_overdue_days: 0,
    }
}

#[test]
fn a_healthy_account_scores_by_the_documented_weights() {
    let h = health_score(&signals(), &HealthOptions::default()).unwrap();
    // seats 40/50 = 0.8 → 25; logins 8/seat → 15; adoption mean 0.6 → 20; tickets 0.06/seat → 10;
    // no P1 → 10; NPS 40 → 7; billing → 10.
    assert_eq!(h.score, 97.0);
    assert_eq!(h.band, HealthBand::Healthy);
    assert!(h.churn_reasons.is_empty(), "{:?}", h.churn_reasons);
    assert_eq!(h.components.iter().map(|c| c.weight).sum::<f64>(), 100.0);
}

#[test]
fn a_declining_account_lists_its_reasons() {
    let s = UsageSignals {
        logins_last_30d: 30,
        active_users: 12,
        feature_adoption: BTreeMap::from([("reports".into(), 0.4), ("automations".into(), 0.05)]),
        support_tickets_30d: 20,
        p1_tickets_90d: 2,
        nps: Some(-30),
        days_to_renewal: 45,
        invoice_overdue_days: 30,
        ..signals()
    };
    let h = health_score(&s, &HealthOptions::default()).unwrap();
    // seats 25*(0.24/0.8)=7.5; logins 15*(0.6/8)=1.1; adoption 20*(0.225/0.6)=7.5;
    // support 0.4/seat: 10*(1-(0.4-0.1)/0.4)=2.5; two P1s 0; NPS -30: 10*0.35=3.5; 30 days overdue 5.
    assert_eq!(h.score, 27.1);
    assert_eq!(h.band, HealthBand::Critical);
    assert_eq!(h.churn_reasons.len(), 8, "{:?}", h.churn_reasons);
    assert!(h.churn_reasons.iter().any(|r| r == "low adoption of automations (5%)"));
    assert_eq!(h.churn_reasons.last().unwrap(), "renewal in 45 days with the account critical");
}

#[test]
fn weights_are_normalised_and_input_is_validated() {
    let o = HealthOptions {
        weights: HealthWeights {
            seat_utilisation: 1.0,
            login_activity: 0.0,
            feature_adoption: 0.0,
            support_load: 0.0,
            reliability: 0.0,
            nps: 0.0,
            billing: 1.0,
        },
        ..HealthOptions::default()
    };
    let h = health_score(&UsageSignals { active_users: 20, ..signals() }, &o).unwrap();
    assert_eq!(h.score, 75.0);
    let bad = |s: UsageSignals| health_score(&s, &HealthOptions::default()).unwrap_err().to_string();
    assert_eq!(bad(UsageSignals { seats: 0, ..signals() }), "seats must be at least 1");
    assert!(bad(UsageSignals { nps: Some(130), ..signals() }).contains("nps = 130"));
    let mut s = signals();
    s.feature_adoption.insert("sso".into(), 1.5);
    assert!(bad(s).contains("feature_adoption.sso"));
    let o = HealthOptions { tickets_per_seat_ok: f64::NAN, ..HealthOptions::default() };
    assert!(health_score(&signals(), &o).is_err());
}

#[test]
fn qbr_summary_shows_trend_scorecard_and_next_steps() {
    let o = HealthOptions::default();
    let q1 =
        health_score(&UsageSignals { as_of: Some("2025-03-31".parse().unwrap()), active_users: 20, logins_last_30d: 150, ..signals() }, &o)
            .unwrap();
    let q2 = health_score(&signals(), &o).unwrap();
    let md = qbr_summary("Northwind | Clinics", &[q1.clone(), q2.clone()], &["Rolled out to 3 new sites".into()]);
    assert!(md.starts_with("# Quarterly business review: Northwind \\| Clinics"));
    assert!(
        md.contains(&format!(
            "**{:.1}/100 — healthy** (2025-06-30). {:+.1} since 2025-03-31 ({:.1}, ",
            q2.score,
            q2.score - q1.score,
            q1.score
        )),
        "{md}"
    );
    assert!(md.contains("- Rolled out to 3 new sites"));
    assert!(md.contains("| 2025-03-31 |"));
    let empty = qbr_summary("Acme", &[], &[]);
    assert!(empty.contains("No health data"));
}
