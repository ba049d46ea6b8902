//! Cell value parsing: numbers and dates the way spreadsheet exports write them.

use chrono::NaiveDate;

/// Parses a number written for people: currency symbols, thousands separators, a trailing `%`
/// (the number is returned as written: `45%` -> 45.0), accounting negatives `(12.30)`.
///
/// Separators: when both `,` and `.` occur, the last one is the decimal separator (`1,234.50`,
/// `1.234,50`). A lone `,` followed by groups of exactly three digits is a thousands separator
/// (`1,234` -> 1234); otherwise it is a decimal comma (`12,5` -> 12.5), as in semicolon exports.
pub fn parse_number(raw: &str) -> Option<f64> {
    parse_number_in(raw, false)
}

/// [`parse_number`] for files written with a decimal comma (semicolon-delimited exports from
/// European spreadsheets): a lone `,` is always the decimal separator and `.` followed by groups
/// of three digits is a thousands separator (`12.000` -> 12000, `1,234` -> 1.234).
pub fn parse_number_in(raw: &str, decimal_comma: bool) -> Option<f64> {
    let mut s = raw.trim();
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        negative = true;
        s = inner.trim();
    }
    if let Some(rest) = s.strip_prefix('-') {
        negative = !negative;
        s = rest.trim_start();
    }
    let s: String = s.chars().filter(|c| !c.is_whitespace() && !matches!(c, '$' | '€' | '£' | '¥' | '₹' | '\u{a0}' | '\'')).collect();
    let s = s.strip_suffix('%').unwrap_or(&s);
    // Currency written as a code ("USD 12.30", "12.30 EUR").
    let s = s.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.') || !s.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let canonical = match (s.rfind(','), s.rfind('.')) {
        (Some(c), Some(d)) if c > d => s.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => s.replace(',', ""),
        (Some(_), None) if s.matches(',').count() == 1 && decimal_comma => s.replace(',', "."),
        (Some(_), None) if thousands_grouped(s, ',') => s.replace(',', ""),
        (Some(_), None) if s.matches(',').count() == 1 => s.replace(',', "."),
        (Some(_), None) => return None,
        (None, Some(_)) if (decimal_comma || s.matches('.').count() > 1) && thousands_grouped(s, '.') => s.replace('.', ""),
        _ => s.to_string(),
    };
    let v: f64 = canonical.parse().ok()?;
    v.is_finite().then_some(if negative { -v } else { v })
}

/// `1,234,567`: a first group of 1-3 digits, then groups of exactly three.
fn thousands_grouped(s: &str, sep: char) -> bool {
    let mut groups = s.split(sep);
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
}

/// Parses `YYYY-MM-DD` (a time after `T` or a space is ignored), `YYYY/MM/DD` or US `MM/DD/YYYY`.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    // A trailing time is ignored; anything else after the date (a range) is not a date.
    let date_part = match s.split_once(['T', ' ']) {
        Some((d, time)) if time.trim().starts_with(|c: char| c.is_ascii_digit()) && time.contains(':') => d,
        Some(_) => return None,
        None => s,
    };
    ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"].iter().find_map(|f| NaiveDate::parse_from_str(date_part, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_exports_write_them() {
        assert_eq!(parse_number("1,234.50"), Some(1234.5));
        assert_eq!(parse_number("$12.30"), Some(12.3));
        assert_eq!(parse_number("45%"), Some(45.0));
        assert_eq!(parse_number(" 1 234 "), Some(1234.0));
        assert_eq!(parse_number("1.234,50"), Some(1234.5));
        assert_eq!(parse_number("12,5"), Some(12.5));
        assert_eq!(parse_number("1,234"), Some(1234.0));
        assert_eq!(parse_number("1.234.567"), Some(1_234_567.0));
        assert_eq!(parse_number("(12.30)"), Some(-12.3));
        assert_eq!(parse_number("-$5"), Some(-5.0));
        assert_eq!(parse_number("€1.299,00"), Some(1299.0));
        assert_eq!(parse_number("USD 40"), Some(40.0));
        assert_eq!(parse_number("0.035"), Some(0.035));
    }

    #[test]
    fn decimal_comma_files() {
        assert_eq!(parse_number_in("12.000", true), Some(12000.0));
        assert_eq!(parse_number_in("12.000", false), Some(12.0));
        assert_eq!(parse_number_in("1,234", true), Some(1.234));
        assert_eq!(parse_number_in("1.020,50", true), Some(1020.5));
        assert_eq!(parse_number_in("1.5", true), Some(1.5));
        assert_eq!(parse_number_in("1.234.567", true), Some(1_234_567.0));
    }

    #[test]
    fn non_numbers_are_refused() {
        for s in ["", "n/a", "abc", "1,2,3", "1.2.3", "--", "%", "$", "12x4", "1e400"] {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
    }

    #[test]
    fn dates_iso_and_us() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 7).unwrap();
        assert_eq!(parse_date("2025-03-07"), Some(d));
        assert_eq!(parse_date("03/07/2025"), Some(d));
        assert_eq!(parse_date("3/7/2025"), Some(d));
        assert_eq!(parse_date("2025-03-07T14:05:00Z"), Some(d));
        assert_eq!(parse_date("2025-03-07 14:05"), Some(d));
        assert_eq!(parse_date("2025/03/07"), Some(d));
        assert_eq!(parse_date("13/07/2025"), None);
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_date("next week"), None);
        assert_eq!(parse_date("2025-03-07 - 2025-03-09"), None);
    }
}
