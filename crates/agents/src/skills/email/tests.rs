use super::*;

fn draft(html: &str) -> EmailDraft {
    EmailDraft {
        subject: "Your Q3 patient-engagement benchmark is ready".into(),
        preheader: Some("See how 400 clinics cut no-shows by 18% this quarter".into()),
        html_body: Some(html.into()),
        text_body: Some("Plain version. Unsubscribe: https://mail.acme.io/unsubscribe?u=1".into()),
        from: "Acme Health <news@acme-health.com>".into(),
        list_unsubscribe: None,
    }
}

fn rules(r: &EmailReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

const FOOTER: &str = "<p>Acme Health Inc., 1200 Market Street, Suite 300, Philadelphia, PA 19107</p>";

#[test]
fn a_clean_email_scores_100() {
    let body = format!("<p>{}</p>{FOOTER}", "We benchmarked reminder cadences across clinics and found clear patterns. ".repeat(6));
    let r = check_email(&draft(&body), &EmailOptions::default()).unwrap();
    assert_eq!(rules(&r), Vec::<&str>::new());
    assert_eq!(r.score, 100);
    assert_eq!(r.band, Band::Good);
    assert!(r.unsubscribe.as_deref().unwrap().contains("text line 1"));
}

#[test]
fn missing_unsubscribe_and_address_cost_40() {
    let mut d = draft(&format!("<p>{}</p>", "Plenty of useful text about scheduling. ".repeat(10)));
    d.text_body = None;
    let r = check_email(&d, &EmailOptions::default()).unwrap();
    assert_eq!(rules(&r), vec!["unsubscribe", "postal-address", "text-alternative"]);
    assert_eq!(r.score, 100 - 25 - 15 - 5);
    d.list_unsubscribe = Some("<mailto:unsub@acme-health.com>".into());
    let r = check_email(&d, &EmailOptions::default()).unwrap();
    assert!(!rules(&r).contains(&"unsubscribe"));
}

#[test]
fn subject_patterns_and_sender() {
    let mut d = draft(&format!("<p>{}</p>{FOOTER}", "Helpful text. ".repeat(30)));
    d.subject = "RE: FREE $$$ for you!!".into();
    d.from = "not an address".into();
    let r = check_email(&d, &EmailOptions::default()).unwrap();
    let subject: Vec<&str> = r.findings.iter().filter(|f| f.location == "subject").map(|f| f.message.as_str()).collect();
    assert_eq!(subject.len(), 5, "{subject:?}");
    assert!(rules(&r).contains(&"from"));
    assert_eq!(r.findings.iter().filter(|f| f.rule == "subject-pattern").map(|f| f.penalty).sum::<u32>(), 15);
}

#[test]
fn image_heavy_and_shortened_links() {
    let html = format!("<p>Look!</p><img src=\"a.png\"><img src=\"b.png\" alt=\"\"><a href=\"https://bit.ly/x\">go</a>{FOOTER}");
    let r = check_email(&draft(&html), &EmailOptions::default()).unwrap();
    for rule in ["image-ratio", "img-alt", "link-shortener"] {
        assert!(rules(&r).contains(&rule), "{rule}: {:?}", rules(&r));
    }
    assert_eq!(r.images, 2);
    assert_eq!(r.images_missing_alt, 1);
    let img = r.findings.iter().find(|f| f.rule == "img-alt").unwrap();
    assert_eq!(img.location, "html line 1");
}

#[test]
fn no_body_and_oversized_parts_are_errors() {
    let mut d = draft("x");
    d.html_body = Some("  ".into());
    d.text_body = None;
    assert!(matches!(check_email(&d, &EmailOptions::default()), Err(SkillError::Invalid(_))));
    let opts = EmailOptions { max_bytes: 10, ..EmailOptions::default() };
    assert!(check_email(&draft("<p>a long body</p>"), &opts).is_err());
}

#[test]
fn broken_html_is_reported_with_its_line() {
    let html = format!(
        "<!DOCTYPE html><html><body>\n<p>{}</p>\n<div><table><tr><td>Hi</div></td>\n</body></html>{FOOTER}",
        "Good text here. ".repeat(30)
    );
    let r = check_email(&draft(&html), &EmailOptions::default()).unwrap();
    let f = r.findings.iter().find(|f| f.rule == "html").expect("parse errors reported");
    assert_eq!(f.location, "html line 3");
    assert_eq!(f.penalty, 2);
}
