//! Free and ISP mail domains: an address there says nothing about the lead's employer.

const DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "msn.com",
    "proton.me",
    "protonmail.com",
    "protonmail.ch",
    "pm.me",
    "mail.com",
    "email.com",
    "zoho.com",
    "zohomail.com",
    "fastmail.com",
    "fastmail.fm",
    "hey.com",
    "tutanota.com",
    "tuta.io",
    "web.de",
    "t-online.de",
    "freenet.de",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "wanadoo.fr",
    "libero.it",
    "virgilio.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "mail.ru",
    "inbox.ru",
    "bk.ru",
    "list.ru",
    "rambler.ru",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "rediffmail.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "charter.net",
    "btinternet.com",
    "sky.com",
    "virginmedia.com",
    "ntlworld.com",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "bigpond.com",
    "optusnet.com.au",
    "uol.com.br",
    "bol.com.br",
];

/// Providers with many country domains (`yahoo.co.uk`, `hotmail.fr`, `gmx.de`).
const FAMILIES: &[&str] = &["yahoo", "ymail", "rocketmail", "hotmail", "outlook", "live", "aol", "gmx", "yandex"];

/// Whether `domain` (lowercase) is a free or ISP mail domain.
pub fn is_free_mail(domain: &str) -> bool {
    let d = domain.trim().trim_end_matches('.').to_lowercase();
    if DOMAINS.contains(&d.as_str()) {
        return true;
    }
    // A family name followed only by a short public suffix: `yahoo.co.uk` yes, `outlook.acme.com` no.
    match d.split_once('.') {
        Some((first, rest)) => {
            FAMILIES.contains(&first) && rest.split('.').count() <= 2 && rest.split('.').all(|l| (2..=3).contains(&l.len()))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_and_company_domains() {
        for d in ["gmail.com", "GMAIL.COM", "yahoo.co.uk", "hotmail.fr", "gmx.de", "outlook.com", "aol.com", "proton.me", "web.de"] {
            assert!(is_free_mail(d), "{d}");
        }
        for d in ["acme.com", "outlook.acme.com", "gmail.acme.io", "livestream.com", "mail.acme.com", "yahoo"] {
            assert!(!is_free_mail(d), "{d}");
        }
    }
}
