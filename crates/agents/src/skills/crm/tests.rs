use super::*;

fn run(csv: &str) -> CrmReport {
    dedupe_contacts(csv.as_bytes(), &DedupeOptions::default()).unwrap()
}

const HEADER: &str = "Contact ID,First Name,Last Name,Email,Phone,Company,Job Title\n";

#[test]
fn same_email_merges_and_gaps_are_filled_from_the_duplicate() {
    let r = run(&format!(
        "{HEADER}C1,jane,doe,Jane.Doe@Acme.com,,Acme Inc,\nC2,Jane,Doe,jane.doe@acme.com,+1 415 555 0134,ACME,VP Marketing\nC3,Raj,Patel,raj@globex.io,,Globex,CTO\n"
    ));
    assert_eq!(r.merge_proposals.len(), 1);
    let m = &r.merge_proposals[0];
    assert_eq!((m.keep_line, m.keep_id.as_deref(), m.lines.clone()), (3, Some("C2"), vec![2, 3]));
    let picks: Vec<(&str, &str, usize)> = m.fields.iter().map(|f| (f.field, f.value.as_str(), f.from_line)).collect();
    assert_eq!(
        picks,
        vec![
            ("name", "Jane Doe", 3),
            ("email", "jane.doe@acme.com", 3),
            ("phone", "+14155550134", 3),
            ("company", "ACME", 3),
            ("title", "VP Marketing", 3)
        ]
    );
    assert!(m.conflicts.is_empty(), "Acme Inc and ACME are the same company: {:?}", m.conflicts);
    assert_eq!(r.contacts[0].name.as_deref(), Some("Jane Doe"), "lower-case name title-cased");
}

#[test]
fn fuzzy_name_and_company_merge_but_namesakes_at_other_companies_do_not() {
    let r = run(&format!(
        "{HEADER}1,Jonathan,Smith,jsmith@initech.com,,Initech LLC,CFO\n\
         2,Jonathon,Smith,jonathan.smith@gmail.com,,Initech,\n\
         3,Jonathan,Smith,jon@umbrella.co,,Umbrella Corp,Engineer\n"
    ));
    assert_eq!(r.merge_proposals.len(), 1);
    assert_eq!(r.merge_proposals[0].lines, vec![2, 3]);
    assert!(r.merge_proposals[0].evidence[0].contains("companies 1.00 similar"));
    let c = &r.merge_proposals[0].conflicts;
    assert_eq!(c.iter().map(|c| c.field).collect::<Vec<_>>(), vec!["name", "email"]);
    assert!(r.review_pairs.is_empty(), "different company is not a duplicate: {:?}", r.review_pairs);
}

#[test]
fn shared_mailbox_and_missing_company_go_to_review() {
    let r = run(&format!(
        "{HEADER}1,Tom,Baker,info@wayne.com,,Wayne,\n2,Alice,Grant,info@wayne.com,,Wayne,\n3,Priya,Raman,,,,\n4,Priya,Raman,,,Hooli,\n"
    ));
    assert!(r.merge_proposals.is_empty(), "{:?}", r.merge_proposals);
    let lines: Vec<(usize, usize)> = r.review_pairs.iter().map(|p| p.lines).collect();
    assert_eq!(lines, vec![(2, 3), (4, 5)]);
    assert!((r.review_pairs[0].score - 0.85).abs() < 1e-9);
}

#[test]
fn same_phone_with_similar_name_merges() {
    let r = run(&format!("{HEADER}1,Katherine,Lee,,(415) 555-0199,,\n2,Kathryn,Lee,,+1 415-555-0199,,\n"));
    assert_eq!(r.merge_proposals.len(), 1);
    assert_eq!(r.merge_proposals[0].score, 0.95);
    assert!(r.merge_proposals[0].conflicts.iter().all(|c| c.field != "phone"), "same number, other format");
}

#[test]
fn transitive_groups() {
    // 2~3 by email, 3~4 by phone: one group of three.
    let r = run(&format!(
        "{HEADER}1,Maria,Garcia,maria@soylent.com,,Soylent,\n2,Maria,Garcia,maria@soylent.com,415 555 0100,,\n3,María,García,,4155550100,,Buyer\n"
    ));
    assert_eq!(r.merge_proposals.len(), 1);
    assert_eq!(r.merge_proposals[0].lines, vec![2, 3, 4]);
}

#[test]
fn missing_and_invalid_fields_are_reported_per_row() {
    let r = run(&format!("{HEADER}1,Ann,Lee,ann@x.io,555 0101 222,X,CEO\n2,Bo,Chen,bo(at)x.io,12,,\n3,,,,,Y,\n"));
    assert_eq!(r.missing.len(), 1);
    let m = &r.missing[0];
    assert_eq!((m.line, m.missing.clone()), (3, vec!["email", "phone", "company", "title"]));
    assert_eq!(m.invalid, vec!["email `bo(at)x.io` is not a valid address", "phone `12` has too few digits"]);
    assert_eq!(r.missing_counts.get("email"), Some(&1));
    assert_eq!(r.rejected.len(), 1, "a row with neither name nor email cannot be used");
    assert_eq!(r.rejected[0].line, 4);
}

#[test]
fn needs_a_name_or_email_column() {
    let e = dedupe_contacts(b"Company,Phone\nAcme,123\n", &DedupeOptions::default()).unwrap_err();
    assert!(matches!(e, SkillError::Invalid(m) if m.contains("`Company`, `Phone`")));
}
