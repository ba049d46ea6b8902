//! Countries and sales regions: names to ISO 3166 alpha-2 codes, codes to regions, and a country
//! guessed from an email domain's country-code TLD.

/// ISO 3166 alpha-2 for common names and codes; anything else upper-cased as written.
pub fn country_code(raw: &str) -> String {
    let key = raw.trim().trim_end_matches('.').to_lowercase();
    let code = match key.as_str() {
        "usa" | "us" | "u.s" | "u.s.a" | "united states" | "united states of america" | "america" => "US",
        "uk" | "gb" | "united kingdom" | "great britain" | "england" | "scotland" | "wales" | "britain" => "GB",
        "canada" => "CA",
        "mexico" | "méxico" => "MX",
        "brazil" | "brasil" => "BR",
        "argentina" => "AR",
        "chile" => "CL",
        "colombia" => "CO",
        "germany" | "deutschland" => "DE",
        "austria" | "österreich" => "AT",
        "switzerland" | "schweiz" | "suisse" => "CH",
        "france" => "FR",
        "spain" | "españa" => "ES",
        "portugal" => "PT",
        "italy" | "italia" => "IT",
        "netherlands" | "the netherlands" | "holland" => "NL",
        "belgium" => "BE",
        "ireland" => "IE",
        "sweden" => "SE",
        "norway" => "NO",
        "denmark" => "DK",
        "finland" => "FI",
        "poland" => "PL",
        "israel" => "IL",
        "united arab emirates" | "uae" => "AE",
        "south africa" => "ZA",
        "nigeria" => "NG",
        "india" => "IN",
        "australia" => "AU",
        "new zealand" => "NZ",
        "japan" => "JP",
        "singapore" => "SG",
        "china" => "CN",
        "south korea" | "korea" => "KR",
        "hong kong" => "HK",
        "taiwan" => "TW",
        "indonesia" => "ID",
        "philippines" => "PH",
        "vietnam" | "viet nam" => "VN",
        "thailand" => "TH",
        "malaysia" => "MY",
        "morocco" => "MA",
        "egypt" => "EG",
        "kenya" => "KE",
        "turkey" | "türkiye" => "TR",
        "saudi arabia" => "SA",
        "qatar" => "QA",
        "czechia" | "czech republic" => "CZ",
        "greece" => "GR",
        "hungary" => "HU",
        "romania" => "RO",
        "luxembourg" => "LU",
        "iceland" => "IS",
        "peru" => "PE",
        "uruguay" => "UY",
        _ => return key.to_uppercase(),
    };
    code.to_string()
}

const NA: &[&str] = &["US", "CA"];
const LATAM: &[&str] = &["MX", "BR", "AR", "CL", "CO", "PE", "UY", "CR", "PA", "EC"];
const EUROPE: &[&str] = &[
    "GB", "IE", "DE", "AT", "CH", "FR", "ES", "PT", "IT", "NL", "BE", "LU", "SE", "NO", "DK", "FI", "IS", "PL", "CZ", "SK", "HU", "RO",
    "BG", "GR", "HR", "SI", "EE", "LV", "LT", "UA",
];
const MEA: &[&str] = &["IL", "AE", "SA", "QA", "TR", "EG", "ZA", "NG", "KE", "MA"];
const APAC: &[&str] = &["AU", "NZ", "JP", "CN", "HK", "TW", "KR", "SG", "MY", "TH", "ID", "PH", "VN", "IN"];

/// Whether `code` lies in `region` (NA, LATAM, AMER, EMEA, EUROPE/EU, DACH, NORDICS, UKI, APAC,
/// ANZ), case-insensitive.
pub fn in_region(code: &str, region: &str) -> bool {
    let r = region.trim().to_uppercase().replace([' ', '-', '_'], "");
    let list: Vec<&str> = match r.as_str() {
        "NA" | "NORTHAMERICA" => NA.to_vec(),
        "LATAM" | "LATINAMERICA" | "SOUTHAMERICA" => LATAM.to_vec(),
        "AMER" | "AMERICAS" => NA.iter().chain(LATAM).copied().collect(),
        "EMEA" => EUROPE.iter().chain(MEA).copied().collect(),
        "EUROPE" | "EU" => EUROPE.to_vec(),
        "DACH" => vec!["DE", "AT", "CH"],
        "NORDICS" => vec!["SE", "NO", "DK", "FI", "IS"],
        "UKI" | "UK&I" => vec!["GB", "IE"],
        "APAC" | "ASIAPACIFIC" => APAC.to_vec(),
        "ANZ" => vec!["AU", "NZ"],
        _ => return false,
    };
    list.contains(&code)
}

/// The country of a country-code top-level domain (`acme.de` -> DE, `acme.co.uk` -> GB). TLDs
/// sold as generic names (`.io`, `.ai`, `.co`, ...) say nothing about the country.
pub fn country_from_domain(domain: &str) -> Option<String> {
    let tld = domain.rsplit('.').next()?.to_lowercase();
    const GENERIC: &[&str] = &["io", "ai", "co", "me", "tv", "ly", "gg", "so", "to", "fm", "sh", "ws", "cc", "app", "dev"];
    if tld.len() != 2 || GENERIC.contains(&tld.as_str()) || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(if tld == "uk" { "GB".into() } else { tld.to_uppercase() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_regions_and_domains() {
        assert_eq!(country_code("United Kingdom"), "GB");
        assert_eq!(country_code(" usa "), "US");
        assert_eq!(country_code("de"), "DE");
        assert!(in_region("DE", "emea") && in_region("DE", "DACH") && in_region("DE", "Europe"));
        assert!(in_region("CA", "North America") && !in_region("MX", "NA") && in_region("MX", "AMER"));
        assert!(!in_region("US", "atlantis"));
        assert_eq!(country_from_domain("mueller-logistik.de").as_deref(), Some("DE"));
        assert_eq!(country_from_domain("brightpath.co.uk").as_deref(), Some("GB"));
        assert_eq!(country_from_domain("acme.io"), None);
        assert_eq!(country_from_domain("acme.com"), None);
    }
}
