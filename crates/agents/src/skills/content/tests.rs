use super::*;

fn rules(r: &ContentReport, kind: FindingKind) -> Vec<(String, Option<usize>, Option<usize>)> {
    r.by_kind(kind).map(|f| (f.rule.clone(), f.line, f.column)).collect()
}

#[test]
fn claims_are_located_with_line_column_and_sentence() {
    let draft = "Our clinic.\nThis tea cures migraines. It is guaranteed!\nThere is no cure for migraine.\n";
    let r = review_draft(draft, &ComplianceOptions::default()).unwrap();
    assert_eq!(rules(&r, FindingKind::Claim), vec![("cure".into(), Some(2), Some(10)), ("guarantee".into(), Some(2), Some(33))]);
    let cure = r.by_kind(FindingKind::Claim).next().unwrap();
    assert_eq!(cure.matched, "cures");
    assert_eq!(cure.sentence, "This tea cures migraines.");
    assert!(!r.compliant);
}

#[test]
fn proven_needs_a_citation_and_fda_needs_a_reference() {
    let opts = ComplianceOptions::default();
    let cited = review_draft("The device is clinically proven to reduce pain [1]. Consult your doctor.", &opts).unwrap();
    assert_eq!(cited.by_kind(FindingKind::Claim).count(), 0);
    let bare = review_draft("The device is clinically proven to reduce pain. Consult your doctor.", &opts).unwrap();
    assert_eq!(rules(&bare, FindingKind::Claim), vec![("proven".into(), Some(1), Some(15))]);
    let fda = review_draft("Our FDA-approved supplement. Consult your doctor.", &opts).unwrap();
    assert_eq!(rules(&fda, FindingKind::Claim)[0].0, "fda-approved");
}

#[test]
fn disclaimer_any_or_all_and_typographic_apostrophes() {
    let mut opts = ComplianceOptions::default();
    let text = "Walking helps. This is not medical advice.";
    assert!(review_draft(text, &opts).unwrap().disclaimer_present);
    opts.require_all_disclaimers = true;
    opts.disclaimers = vec!["not medical advice".into(), "talk to your doctor".into()];
    let r = review_draft(text, &opts).unwrap();
    assert!(!r.disclaimer_present);
    assert_eq!(r.by_kind(FindingKind::MissingDisclaimer).count(), 1);
    opts.disclaimers = vec!["don't stop your medication".into()];
    assert!(review_draft("Please don\u{2019}t  stop your medication.", &opts).unwrap().disclaimer_present);
}

#[test]
fn custom_claims_and_disabled_rules() {
    let opts = ComplianceOptions {
        extra_claims: vec!["best in the state".into()],
        disabled_rules: vec!["miracle".into()],
        ..ComplianceOptions::default()
    };
    let r = review_draft("A miracle of a clinic, best in the state. Consult your doctor.", &opts).unwrap();
    assert_eq!(rules(&r, FindingKind::Claim), vec![("custom-claim".into(), Some(1), Some(24))]);
}

#[test]
fn patient_data_is_masked_in_the_report() {
    let r = review_draft("Case: Mr. Brooks, DOB 04/22/1958, SSN 219-09-9999. Consult your doctor.", &ComplianceOptions::default()).unwrap();
    let phi: Vec<_> = r.by_kind(FindingKind::PatientData).collect();
    assert_eq!(phi.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["dob", "ssn"]);
    assert_eq!(phi[1].matched, "***-**-9999");
    assert!(!r.to_markdown().contains("219-09-9999"));
    assert!(!phi[1].sentence.contains("219-09-9999"));
}

#[test]
fn empty_and_oversized_drafts_are_errors() {
    let opts = ComplianceOptions { max_bytes: 100, ..ComplianceOptions::default() };
    assert_eq!(review_draft("  \n", &opts), Err(SkillError::Empty));
    assert_eq!(review_draft(&"a".repeat(101), &opts), Err(SkillError::TooLarge { size: 101, limit: 100 }));
}

#[test]
fn options_deserialize_from_toml_with_defaults() {
    let opts: ComplianceOptions = toml::from_str("max_grade = 9.0\ndisabled_rules = [\"breakthrough\"]").unwrap();
    assert_eq!(opts.max_grade, 9.0);
    assert_eq!(opts.citation_window, 200);
    assert!(toml::from_str::<ComplianceOptions>("max_grades = 9.0").is_err());
}
