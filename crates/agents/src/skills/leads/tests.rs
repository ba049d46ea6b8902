use super::*;

fn icp() -> IdealCustomerProfile {
    IdealCustomerProfile {
        industries: vec!["SaaS".into(), "Fintech".into()],
        employees_min: Some(50),
        employees_max: Some(1000),
        countries: vec!["US".into()],
        regions: vec!["DACH".into()],
        ..Default::default()
    }
}

const HEADER: &str = "First Name,Last Name,Email,Company,Job Title,Industry,Employees,Country\n";

fn run(rows: &str) -> LeadReport {
    qualify_leads(format!("{HEADER}{rows}").as_bytes(), &icp()).unwrap()
}

fn points(l: &ScoredLead) -> Vec<u8> {
    l.reasons.iter().map(|r| r.points).collect()
}

#[test]
fn perfect_fit_scores_100() {
    let r = run("Dana,Reyes,dana@ledgerly.com,Ledgerly,VP Finance Operations,B2B SaaS,201-500,United States\n");
    let l = &r.leads[0];
    assert_eq!((l.score, l.qualified, l.email_kind), (100, true, EmailKind::Company));
    assert_eq!(l.country.as_deref(), Some("US"));
    assert_eq!(l.first_name.as_deref(), Some("Dana"));
}

#[test]
fn each_criterion_scores_on_its_own() {
    let r = run("\
A,One,a@gmail.com,Ledgerly,VP Sales,SaaS,300,US\n\
B,Two,b@acme-foods.com,Acme Foods,Marketing Manager,Food & Beverage,5000,Canada\n\
C,Three,c@mueller-logistik.de,Müller,Geschäftsführer,Fintech,1000+,\n\
D,Four,not-an-email,Ledgerly,CEO,SaaS,100,US\n");
    let by = |e: &str| r.leads.iter().find(|l| l.email == e).unwrap();
    // Free mail costs the domain points only.
    assert_eq!(points(by("a@gmail.com")), vec![0, 20, 20, 20, 20]);
    assert_eq!(by("a@gmail.com").email_kind, EmailKind::FreeMail);
    assert!(by("a@gmail.com").qualified, "80 ≥ 60");
    // Wrong industry, too big, manager, Canada outside US/DACH.
    assert_eq!(points(by("b@acme-foods.com")), vec![20, 0, 0, 10, 0]);
    // Country from the .de domain, DACH region; 1000+ overlaps 50-1000; unknown title words.
    let c = by("c@mueller-logistik.de");
    assert_eq!(points(c), vec![20, 20, 10, 0, 20]);
    assert_eq!(c.country.as_deref(), Some("DE"));
    assert!(c.reasons[4].detail.contains("(from the email domain) is in DACH"), "{}", c.reasons[4].detail);
    // An invalid address never qualifies, whatever the score.
    let d = by("not-an-email");
    assert_eq!((d.score, d.qualified, d.email_kind), (80, false, EmailKind::Invalid));
    assert_eq!(r.qualified, 2);
    assert_eq!(r.leads.iter().map(|l| l.score).collect::<Vec<_>>(), vec![80, 80, 70, 30], "sorted by score");
}

#[test]
fn empty_icp_criteria_count_as_met_and_unknown_lead_fields_do_not() {
    let r = qualify_leads(b"email\nsam@northwind.com\n", &IdealCustomerProfile::default()).unwrap();
    assert_eq!(points(&r.leads[0]), vec![20, 20, 20, 0, 20], "title unknown is the only miss");
    let r = qualify_leads(b"email\nsam@northwind.com\n", &icp()).unwrap();
    assert_eq!(points(&r.leads[0]), vec![20, 0, 0, 0, 0]);
    assert!(!r.leads[0].qualified);
}

#[test]
fn employee_bands_parse() {
    assert_eq!(parse_employees("51-200"), Some((51, 200)));
    assert_eq!(parse_employees("1,000+"), Some((1000, u64::MAX)));
    assert_eq!(parse_employees("10k"), Some((10_000, 10_000)));
    assert_eq!(parse_employees("250 employees"), Some((250, 250)));
    assert_eq!(parse_employees("11 – 50"), Some((11, 50)));
    assert_eq!(parse_employees("lots"), None);
    assert_eq!(parse_employees("500-100"), None);
}

#[test]
fn missing_email_column_and_empty_email_rows() {
    let e = qualify_leads(b"name,company\nA,B\n", &icp()).unwrap_err();
    assert!(matches!(e, SkillError::Invalid(m) if m.contains("`email`") && m.contains("`name`, `company`")));
    let r = qualify_leads(b"name,email\nA,\nB,b@x.com\n", &icp()).unwrap();
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].line, 2);
}

#[test]
fn outreach_template_is_labelled_and_filled_without_inventions() {
    let r = run("Dana,Reyes,dana@ledgerly.com,Ledgerly,VP Finance,SaaS,300,US\nJo,Kim,jo@gmail.com,,,,,\n");
    let t = outreach_template(&r.leads[0], "Sam Carter");
    assert!(t.starts_with("## Template (no LLM configured)"));
    assert_eq!(t.matches("### Step ").count(), 3);
    assert!(t.contains("Hi Dana,"));
    assert!(t.contains("As VP Finance at Ledgerly"));
    assert!(t.contains("**Subject:** Ledgerly and [the problem you solve]"));
    assert!(t.contains("Teams in SaaS"));
    assert_eq!(t.matches("Sam Carter").count(), 3);
    let t = outreach_template(&r.leads[1], "");
    assert!(t.contains("Hi Jo,") && t.contains("your team") && t.contains("[your name]"));
    assert!(t.contains("personal email address"));
    assert!(t.contains("not qualified"));
}

#[test]
fn icp_from_toml() {
    let i: IdealCustomerProfile = toml::from_str("industries = [\"SaaS\"]\nthreshold = 70\nregions = [\"EMEA\"]").unwrap();
    assert_eq!((i.threshold, i.seniority_keywords.len()), (70, 17));
    assert!(toml::from_str::<IdealCustomerProfile>("industry = \"SaaS\"").is_err());
}
