use super::*;

fn rules_of(r: &PostReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn x_counts_urls_as_23_and_cjk_as_2() {
    let post = "Read this https://example.com/a/very/long/path/that/is/way/more/than/twenty/three/characters now";
    let r = check_post(post, SocialPlatform::X).unwrap();
    assert_eq!(r.length, "Read this ".len() + 23 + " now".len());
    assert_eq!(r.links, vec!["https://example.com/a/very/long/path/that/is/way/more/than/twenty/three/characters"]);
    assert_eq!(check_post("日本語", SocialPlatform::X).unwrap().length, 6);
    // Woman technologist: U+1F469 ZWJ U+1F4BB counts as one emoji.
    assert_eq!(check_post("\u{1F469}\u{200D}\u{1F4BB}", SocialPlatform::X).unwrap().length, 2);
    let long = "a".repeat(281);
    let r = check_post(&long, SocialPlatform::X).unwrap();
    assert!(!r.fits);
    assert_eq!(rules_of(&r), vec!["length", "hashtags"]);
}

#[test]
fn hashtags_mentions_and_links_are_told_apart() {
    let post = "Q3 #RevOps report with @acme_data, mail sales@acme.io or see acme.io/q3#section #1 #B2B.";
    let r = check_post(post, SocialPlatform::LinkedIn).unwrap();
    assert_eq!(r.hashtags, vec!["#RevOps", "#B2B"]);
    assert_eq!(r.mentions, vec!["@acme_data"]);
    assert_eq!(r.links, vec!["acme.io/q3#section"]);
}

#[test]
fn linkedin_hook_must_end_before_the_fold() {
    let long_hook = format!("{} end of hook.\nMore text #a #b #c", "word ".repeat(50));
    let r = check_post(&long_hook, SocialPlatform::LinkedIn).unwrap();
    assert!(rules_of(&r).contains(&"hook"), "{:?}", r.findings);
    let short_hook = format!("Pipeline is a lagging indicator.\n{} #a #b #c", "word ".repeat(60));
    let r = check_post(&short_hook, SocialPlatform::LinkedIn).unwrap();
    assert_eq!(r.hook_length, 32);
    assert!(!rules_of(&r).contains(&"hook"));
}

#[test]
fn instagram_hard_hashtag_limit_and_unclickable_links() {
    let tags: String = (0..31).map(|i| format!(" #tag{i}")).collect();
    let r = check_post(&format!("Launch day!{tags} https://acme.io"), SocialPlatform::Instagram).unwrap();
    assert!(!r.fits);
    assert_eq!(r.hashtags.len(), 31);
    assert_eq!(rules_of(&r), vec!["hashtags", "links"]);
    assert_eq!(r.findings[0].severity, Severity::High);
}

#[test]
fn threads_and_facebook_limits() {
    assert!(!check_post(&"b".repeat(501), SocialPlatform::Threads).unwrap().fits);
    assert!(check_post(&"b".repeat(5000), SocialPlatform::Facebook).unwrap().fits);
    assert_eq!(check_post("", SocialPlatform::Facebook), Err(SkillError::Empty));
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn calendar_uses_windows_and_respects_the_gap() {
    // 2025-06-02 is a Monday. LinkedIn: Tue–Thu 08:00 and 12:00; X: Mon–Fri 09:00.
    let plan = posting_calendar(6, &[SocialPlatform::LinkedIn, SocialPlatform::X], d("2025-06-02"), 7, &SlotConfig::default()).unwrap();
    let got: Vec<String> = plan.slots.iter().map(|s| format!("{} {}", s.platform.name(), s.at.format("%a %H:%M"))).collect();
    assert_eq!(got, vec!["X Mon 09:00", "LinkedIn Tue 08:00", "X Tue 09:00", "LinkedIn Wed 08:00", "X Wed 09:00", "LinkedIn Thu 08:00"]);
    assert!(plan.unplaced.is_empty());
    let mut cfg = SlotConfig { min_gap_hours: 4, ..SlotConfig::default() };
    let plan = posting_calendar(2, &[SocialPlatform::LinkedIn], d("2025-06-03"), 1, &cfg).unwrap();
    assert_eq!(plan.slots.iter().map(|s| s.at.format("%H:%M").to_string()).collect::<Vec<_>>(), vec!["08:00", "12:00"]);
    cfg.min_gap_hours = 5;
    let plan = posting_calendar(2, &[SocialPlatform::LinkedIn], d("2025-06-03"), 1, &cfg).unwrap();
    assert_eq!(plan.slots.len(), 1);
    assert_eq!(plan.unplaced.len(), 1);
}

#[test]
fn calendar_overrides_and_bad_input() {
    let cfg: SlotConfig =
        toml::from_str("min_gap_hours = 48\n[[windows.threads]]\ndays = [\"Sat\"]\nstart = \"10:30\"\nend = \"11:00\"").unwrap();
    let plan = posting_calendar(3, &[SocialPlatform::Threads], d("2025-06-02"), 14, &cfg).unwrap();
    assert_eq!(plan.slots.iter().map(|s| s.at.to_string()).collect::<Vec<_>>(), vec!["2025-06-07 10:30:00", "2025-06-14 10:30:00"]);
    assert_eq!(plan.unplaced.len(), 1);
    assert!(posting_calendar(1, &[], d("2025-06-02"), 7, &SlotConfig::default()).is_err());
    assert!(posting_calendar(1, &[SocialPlatform::X], d("2025-06-02"), 0, &SlotConfig::default()).is_err());
    let bad: SlotConfig = toml::from_str("[[windows.x]]\ndays = [\"Mon\"]\nstart = \"11:00\"\nend = \"10:00\"").unwrap();
    assert!(posting_calendar(1, &[SocialPlatform::X], d("2025-06-02"), 7, &bad).is_err());
}
