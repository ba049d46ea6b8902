//! Contact field normalisation: names, emails, phones, company names.

/// Collapses whitespace; a name written all in lower or upper case gets title case
/// (`jOHN` is left alone: mixed case is deliberate, as in `McDonald`); `Smith, John` becomes
/// `John Smith`.
pub fn name(raw: &str) -> String {
    let collapsed = collapse(raw);
    let reordered = match collapsed.split_once(',') {
        Some((last, first)) if !first.trim().is_empty() && !last.trim().is_empty() && !first.contains(',') => {
            format!("{} {}", first.trim(), last.trim())
        }
        _ => collapsed,
    };
    let letters: Vec<char> = reordered.chars().filter(|c| c.is_alphabetic()).collect();
    let lower = letters.iter().all(|c| c.is_lowercase());
    let upper = letters.iter().all(|c| c.is_uppercase());
    if !(lower || upper) {
        return reordered;
    }
    let mut out = String::with_capacity(reordered.len());
    let mut start = true;
    for c in reordered.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, ' ' | '-' | '\'' | '.');
    }
    out
}

/// What names are compared on: lowercase letters and single spaces.
pub fn name_key(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect();
    collapse(&cleaned.to_lowercase())
}

pub fn collapse(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lowercased, trimmed; an error when it is not a plausible address (one `@`, a dotted domain).
pub fn email(raw: &str) -> Result<String, String> {
    let e = raw.trim().trim_start_matches("mailto:").to_lowercase();
    let valid = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid { Ok(e) } else { Err(format!("email `{}` is not a valid address", raw.trim())) }
}

/// Digits, with a leading `+` kept (`00` read as `+`); fewer than 7 digits is not a phone number.
/// Extensions (`x123`, `ext. 123`) are dropped.
pub fn phone(raw: &str) -> Result<String, String> {
    let lower = raw.to_lowercase();
    let main = lower.split(['x', '#']).next().unwrap_or(&lower).split("ext").next().unwrap_or(&lower);
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    let international = main.trim_start().starts_with('+') || digits.starts_with("00");
    let digits = if main.trim_start().starts_with('+') { digits } else { digits.trim_start_matches("00").to_string() };
    if digits.len() < 7 {
        return Err(format!("phone `{}` has too few digits", raw.trim()));
    }
    Ok(if international { format!("+{digits}") } else { digits })
}

/// What phones are compared on: the last 10 digits (country code and trunk prefix vary).
pub fn phone_key(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    digits.iter().skip(digits.len().saturating_sub(10)).collect()
}

const COMPANY_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "ltd",
    "limited",
    "gmbh",
    "ag",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "sa",
    "sas",
    "sarl",
    "bv",
    "nv",
    "pty",
    "srl",
    "spa",
    "oy",
    "ab",
    "as",
    "kk",
    "kg",
    "group",
];

/// What companies are compared on: lowercase words without punctuation, a leading `the` and
/// legal suffixes (`Inc`, `Ltd`, `GmbH`, `& Co. KG`, ...) removed.
pub fn company_key(raw: &str) -> String {
    let cleaned: String = raw.chars().map(|c| if c.is_alphanumeric() || c == '&' { c } else { ' ' }).collect::<String>().to_lowercase();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    if words.first() == Some(&"the") && words.len() > 1 {
        words.remove(0);
    }
    while words.len() > 1 && words.last().is_some_and(|w| COMPANY_SUFFIXES.contains(w) || *w == "&") {
        words.pop();
    }
    words.join(" ")
}

/// The domain of a normalised email.
pub fn domain(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("  jane   DOE "), "jane DOE", "mixed case is left alone, spaces collapsed");
        assert_eq!(name("jane doe"), "Jane Doe");
        assert_eq!(name("MARY-ANNE O'NEIL"), "Mary-Anne O'Neil");
        assert_eq!(name("Doe, Jane"), "Jane Doe");
        assert_eq!(name("Ronald McDonald"), "Ronald McDonald");
        assert_eq!(name_key("Mary-Anne O'Neil"), "mary anne o neil");
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Jane.Doe@Acme.COM ").unwrap(), "jane.doe@acme.com");
        assert_eq!(email("mailto:a@b.io").unwrap(), "a@b.io");
        for bad in ["jane", "jane@", "@acme.com", "jane@acme", "jane@@acme.com", "ja ne@acme.com", "jane@acme."] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone("+1 (415) 555-0134").unwrap(), "+14155550134");
        assert_eq!(phone("(415) 555-0134 x204").unwrap(), "4155550134");
        assert_eq!(phone("0044 20 7946 0958").unwrap(), "+442079460958");
        assert_eq!(phone_key("+14155550134"), phone_key("415.555.0134"));
        assert!(phone("555-01").is_err());
    }

    #[test]
    fn companies() {
        assert_eq!(company_key("Acme, Inc."), "acme");
        assert_eq!(company_key("ACME Inc"), "acme");
        assert_eq!(company_key("Müller GmbH & Co. KG"), "müller");
        assert_eq!(company_key("The Northwind Traders Ltd"), "northwind traders");
        assert_eq!(company_key("Co"), "co", "a name that is only a suffix stays");
    }
}
