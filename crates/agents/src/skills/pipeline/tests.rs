use super::*;

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, m, day).unwrap()
}

const HEADER: &str = "Deal,Account,Owner,Stage,Amount,Close Date,Last Activity,Next Step\n";

fn review(rows: &str, today: NaiveDate) -> PipelineReport {
    review_pipeline(format!("{HEADER}{rows}").as_bytes(), &PipelineOptions::default(), today).unwrap()
}

#[test]
fn each_check_fires_on_its_deal() {
    let rows = "\
Clean,Acme,Ana,Discovery,12000,2025-06-30,2025-05-19,Demo on 5/22\n\
Slipped,Birch,Ana,Proposal,30000,2025-05-02,2025-05-18,Send redlines\n\
Stale,Cobalt,Ben,Qualification,8000,2025-07-15,2025-04-28,Check in\n\
NoNext,Delta,Ben,Discovery,5000,2025-07-01,2025-05-15,\n\
NoAmount,Ember,Cara,Negotiation,,2025-06-15,2025-05-16,Legal review\n\
Won,Fjord,Cara,Closed Won,20000,2025-04-30,2025-03-01,\n\
Edge,Gale,Ana,Discovery,1000,2025-05-20,2025-05-06,Call\n";
    let r = review(rows, d(5, 20));
    assert_eq!((r.open_deals, r.closed_deals), (6, 1));
    let issues: Vec<(&str, Vec<Issue>)> = r.tasks.iter().map(|t| (t.deal.as_str(), t.issues.clone())).collect();
    assert_eq!(
        issues,
        vec![
            ("Slipped", vec![Issue::SlippedClose { close_date: d(5, 2), days_overdue: 18 }]),
            ("Stale", vec![Issue::Stale { last_activity: d(4, 28), days_since: 22 }]),
            ("NoNext", vec![Issue::MissingNextStep]),
            ("NoAmount", vec![Issue::MissingAmount { stage: "Negotiation".into() }]),
        ]
    );
    // Due: slipped today (Tue), stale and next step next business day, amount in two.
    let due: Vec<NaiveDate> = r.tasks.iter().map(|t| t.due).collect();
    assert_eq!(due, vec![d(5, 20), d(5, 21), d(5, 21), d(5, 22)]);
    assert_eq!(r.tasks[0].owner, "Ana");
    assert!(r.tasks[0].action.contains("close date 2025-05-02 passed 18 day(s) ago"));
}

#[test]
fn several_issues_make_one_task_due_at_the_earliest() {
    let r = review("Mess,Hydra,,Contract Sent,,2025-05-01,,none\n", d(5, 20));
    assert_eq!(r.tasks.len(), 1);
    let t = &r.tasks[0];
    assert_eq!(t.owner, "(unassigned)");
    assert_eq!(t.issues.len(), 5, "{:?}", t.issues);
    assert_eq!((t.priority, t.due), (Severity::Error, d(5, 20)));
}

#[test]
fn weekends_push_due_dates_to_business_days() {
    assert_eq!(add_business_days(d(5, 23), 1), d(5, 26));
    assert_eq!(add_business_days(d(5, 24), 0), d(5, 26));
    assert_eq!(add_business_days(d(5, 22), 2), d(5, 26));
}

#[test]
fn owner_summary_counts() {
    let rows = "\
A1,X,Ana,Proposal,100,2025-05-01,2025-05-19,x\n\
A2,X,Ana,Discovery,200,2025-06-01,2025-04-01,x\n\
B1,Y,Ben,Discovery,300,2025-06-01,2025-05-19,x\n";
    let r = review(rows, d(5, 20));
    let ana = r.by_owner.iter().find(|o| o.owner == "Ana").unwrap();
    assert_eq!((ana.open_deals, ana.open_amount, ana.tasks, ana.slipped, ana.stale), (2, 300.0, 2, 1, 1));
    let ben = r.by_owner.iter().find(|o| o.owner == "Ben").unwrap();
    assert_eq!((ben.open_deals, ben.tasks), (1, 0));
    assert_eq!(r.open_amount, 600.0);
}

#[test]
fn missing_optional_columns_are_noted_and_bad_dates_rejected() {
    let csv = "Opportunity Name,Opportunity Owner,Stage,Close Date\nA,Ana,Discovery,2025-06-01\nB,Ben,Discovery,June\n";
    let r = review_pipeline(csv.as_bytes(), &PipelineOptions::default(), d(5, 20)).unwrap();
    assert_eq!(r.notes.len(), 3);
    assert!(r.notes[0].contains("`last_activity`"));
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].line, 3);
    assert!(r.rejected[0].reason.starts_with("column `close_date`: `June` is not a date"));
    assert!(r.tasks.is_empty());
}

#[test]
fn options_from_toml() {
    let o: PipelineOptions = toml::from_str("stale_days = 7").unwrap();
    assert_eq!(o.stale_days, 7);
    assert_eq!(o.closed_stages, vec!["closed", "won", "lost"]);
    let r = review_pipeline(format!("{HEADER}A,X,Ana,Discovery,1,2025-06-01,2025-05-10,x\n").as_bytes(), &o, d(5, 20)).unwrap();
    assert_eq!(r.tasks.len(), 1, "10 days idle is stale at 7");
}
