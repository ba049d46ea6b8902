use super::*;

const REQ: &[Column] = &[Column::new("email", &["e-mail", "email address"]), Column::new("amount", &["value"])];
const OPT: &[Column] = &[Column::new("close_date", &["expected close"])];
const SPEC: TableSpec = TableSpec::new(REQ, OPT);

#[test]
fn header_matching_ignores_case_spaces_and_uses_aliases() {
    let t = read_table(b"E-Mail , Value,Close Date\na@x.com,\"1,200.00\",2025-01-31\n", &SPEC).unwrap();
    assert!(t.has_column("email") && t.has_column("amount") && t.has_column("close_date"));
    let row = t.iter().next().unwrap();
    assert_eq!(row.line, 2);
    assert_eq!(row.require_str("email").unwrap(), "a@x.com");
    assert_eq!(row.require_f64("amount").unwrap(), 1200.0);
    assert_eq!(row.get_date("close_date").unwrap(), chrono::NaiveDate::from_ymd_opt(2025, 1, 31));
}

#[test]
fn missing_required_column_names_it_and_the_columns_found() {
    let err = read_table(b"email,owner\na@x.com,Sam\n", &SPEC).unwrap_err();
    let SkillError::Invalid(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("`amount`"), "{msg}");
    assert!(msg.contains("`email`, `owner`"), "{msg}");
    assert!(msg.contains("`value`"), "alias hint: {msg}");
}

#[test]
fn ambiguous_columns_are_an_error() {
    let err = read_table(b"email,e-mail,amount\na,b,1\n", &SPEC).unwrap_err();
    assert!(matches!(err, SkillError::Invalid(m) if m.contains("both mean `email`")));
}

#[test]
fn semicolon_and_tab_are_sniffed() {
    let t = read_table(b"email;amount\na@x.com;12,5\n", &SPEC).unwrap();
    assert_eq!(t.delimiter, b';');
    assert_eq!(t.iter().next().unwrap().require_f64("amount").unwrap(), 12.5);
    let t = read_table(b"email\tamount\na@x.com\t7\n", &SPEC).unwrap();
    assert_eq!(t.delimiter, b'\t');
    // A comma inside a quoted header does not count.
    const ONE: TableSpec = TableSpec::new(&[Column::new("amount", &[])], &[]);
    let t = read_table(b"\"email, work\";amount;x\na;1;2\n", &ONE).unwrap();
    assert_eq!(t.delimiter, b';');
}

#[test]
fn short_and_long_rows_are_rejected_with_their_line() {
    let csv = b"email,amount\na@x.com,1\nb@x.com\nc@x.com,3,oops\nd@x.com,4,\n\n,\n";
    let t = read_table(csv, &SPEC).unwrap();
    assert_eq!(t.rows.len(), 2, "a and d (trailing empty field) are kept");
    let lines: Vec<usize> = t.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![3, 4, 7]);
    assert!(t.rejected[0].reason.contains("missing fields"));
    assert!(t.rejected[1].reason.contains("extra values"));
    assert!(t.rejected[2].reason.contains("blank row"));
}

#[test]
fn quoted_multiline_values_keep_line_numbers_right() {
    let t = read_table(b"email,amount\n\"a@x.com\",\"1\"\n\"multi\nline\",2\nz@x.com,3\n", &SPEC).unwrap();
    let lines: Vec<usize> = t.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 5]);
}

#[test]
fn encoding_and_size_errors() {
    assert_eq!(read_table(b"", &SPEC).unwrap_err(), SkillError::Empty);
    assert_eq!(read_table(b" \n\r\n", &SPEC).unwrap_err(), SkillError::Empty);
    assert_eq!(read_table(b"\xEF\xBB\xBF", &SPEC).unwrap_err(), SkillError::Empty);
    // Latin-1 "é" at offset 16.
    assert_eq!(read_table(b"email,amount\nJos\xE9,1\n", &SPEC).unwrap_err(), SkillError::NotText { offset: 16 });
    assert_eq!(read_table(b"PK\x03\x04\x00\x00", &SPEC).unwrap_err(), SkillError::NotText { offset: 4 });
    let small = SPEC.with_max_bytes(10);
    assert_eq!(read_table(b"email,amount\n", &small).unwrap_err(), SkillError::TooLarge { size: 13, limit: 10 });
}

#[test]
fn bom_is_accepted() {
    let t = read_table(b"\xEF\xBB\xBFemail,amount\na@x.com,1\n", &SPEC).unwrap();
    assert_eq!(t.headers[0], "email");
    assert_eq!(t.rows.len(), 1);
}

#[test]
fn parse_rows_moves_bad_cells_to_rejected_with_line_and_column() {
    let mut t = read_table(b"email,amount\na@x.com,1\nb@x.com,n/a\nc@x.com,\n", &SPEC).unwrap();
    let amounts = t.parse_rows(|r| r.require_f64("amount"));
    assert_eq!(amounts, vec![1.0]);
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rejected.len(), 2);
    assert_eq!(t.rejected[0], RejectedRow { line: 3, reason: "column `amount`: `n/a` is not a number".into() });
    assert_eq!(t.rejected[1].line, 4);
    assert!(t.rejected[1].reason.contains("empty value"));
}

#[test]
fn optional_values_absent_are_none_but_garbage_is_an_error() {
    let t = read_table(b"email,amount,close date\na,1,\nb,2,soon\n", &SPEC).unwrap();
    let rows: Vec<_> = t.iter().collect();
    assert_eq!(rows[0].get_date("close_date").unwrap(), None);
    let e = rows[1].get_date("close_date").unwrap_err();
    assert_eq!((e.line, e.column.as_str()), (3, "close_date"));
    assert_eq!(rows[0].get_str("not_a_column"), None);
}

#[test]
fn line_numbers_survive_crlf_and_blank_lines() {
    let t = read_table(b"email,amount\r\na,1\r\n\r\n\r\nb,2\r\nc,3", &SPEC).unwrap();
    let lines: Vec<usize> = t.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 5, 6]);
}

#[test]
fn thousands_groups_digits() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(-1234567), "-1,234,567");
}
