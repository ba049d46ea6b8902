use super::*;

const HEADER: &str = "handle,platform,followers,avg_likes,avg_comments,audience_country,audience_age,niche,following\n";

fn brief() -> CampaignBrief {
    CampaignBrief {
        target_countries: vec!["US".into(), "Canada".into()],
        age_band: Some("25-34".into()),
        topics: vec!["running".into(), "nutrition".into()],
        ..Default::default()
    }
}

fn run(rows: &str, brief: &CampaignBrief) -> InfluencerReport {
    rank_candidates(format!("{HEADER}{rows}").as_bytes(), brief).unwrap()
}

#[test]
fn engagement_rate_and_fit_are_computed() {
    let r = run("@trailmaya,Instagram,48000,1500,60,US 70%; CA 10%,25-34,trail running; nutrition,900\n", &brief());
    let c = &r.ranked[0];
    assert_eq!(c.handle, "trailmaya");
    assert!((c.engagement_rate_percent - 3.25).abs() < 1e-9);
    assert_eq!((c.tier, c.platform_norm_percent), (Tier::Micro, 2.0));
    assert!((c.engagement_score - 100.0).abs() < 1e-9, "3.25 / 2.0 > 1.5 caps at 100");
    assert!((c.fit_score - 100.0).abs() < 1e-9);
    assert!(c.flags.is_empty() && c.recommended);
    assert!((c.score - 100.0).abs() < 1e-9);
}

#[test]
fn partial_fit_is_weighted() {
    // Country: 20% in targets → 0.4; age 18-24 outside 25-34 → 0; topics 1 of 2 → 0.5.
    let r = run("a,Instagram,20000,400,20,US 20%; GB 60%,18-24,running,300\n", &brief());
    let expected = (40.0 * 0.4 + 30.0 * 0.0 + 30.0 * 0.5) / 100.0 * 100.0;
    assert!((r.ranked[0].fit_score - expected).abs() < 1e-9, "{}", r.ranked[0].fit_score);
    // Unknown audience columns score half, not zero.
    let r = run("b,Instagram,20000,400,20,,,,\n", &brief());
    assert!((r.ranked[0].fit_score - 50.0).abs() < 1e-9);
}

#[test]
fn suspicious_accounts_are_flagged_and_ranked_last() {
    let rows = "\
real,Instagram,30000,700,35,US,25-34,running,400\n\
ghost,Instagram,250000,300,4,US,25-34,running;nutrition,200\n\
f4f,Instagram,12000,350,15,US,25-34,running,14000\n\
likes,Instagram,40000,2400,6,US,25-34,running,500\n";
    let r = run(rows, &brief());
    let by = |h: &str| r.ranked.iter().find(|c| c.handle == h).unwrap();
    let codes = |h: &str| by(h).flags.iter().map(|f| f.code).collect::<Vec<_>>();
    assert_eq!(codes("real"), Vec::<&str>::new());
    assert_eq!(codes("ghost"), vec!["implausible-engagement"]);
    assert_eq!(codes("f4f"), vec!["high-following-ratio"]);
    assert_eq!(by("f4f").flags[0].severity, Severity::Error, "1.17 > 2 × 0.5");
    assert_eq!(codes("likes"), vec!["few-comments"]);
    assert!(by("likes").recommended, "one warning is not enough to drop a candidate");
    assert_eq!(r.ranked[0].handle, "real");
    let last_two: Vec<&str> = r.ranked[2..].iter().map(|c| c.handle.as_str()).collect();
    assert!(last_two.contains(&"ghost") && last_two.contains(&"f4f"));
    assert!(!by("ghost").recommended && !by("f4f").recommended);
}

#[test]
fn brief_filters_exclude_with_a_reason() {
    let b = CampaignBrief { platforms: vec!["tiktok".into()], min_followers: Some(5000), ..brief() };
    let r = run(
        "a,Instagram,20000,400,20,US,25-34,running,1\nb,TikTok,3000,400,20,US,25-34,running,1\nc,tiktok,9000,600,30,US,25-34,running,1\n",
        &b,
    );
    assert_eq!(r.ranked.len(), 1);
    assert_eq!(
        r.excluded.iter().map(|e| (e.line, e.reason.as_str())).collect::<Vec<_>>(),
        vec![(2, "on Instagram; the brief asks for TikTok"), (3, "3000 followers, below the brief's minimum of 5000"),]
    );
}

#[test]
fn bad_rows_are_rejected() {
    let r = run("a,Instagram,0,1,1,,,,\nb,Instagram,lots,1,1,,,,\nc,Instagram,100,-3,1,,,,\nd,Instagram,1000,10,1,,,,\n", &brief());
    let lines: Vec<usize> = r.rejected.iter().map(|x| x.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert!(r.rejected[0].reason.contains("followers"));
    assert_eq!(r.ranked.len(), 1);
}

#[test]
fn follower_history_jumps_are_flagged() {
    let csv = "handle,platform,followers,avg_likes,avg_comments,follower_history\n\
        a,TikTok,53760,3000,90,41200|42050|52050|52900|53760\n\
        b,TikTok,44700,3000,90,41200|42050|42900|43810|44700\n\
        c,TikTok,44700,3000,90,lots|more\n";
    let r = rank_candidates(csv.as_bytes(), &CampaignBrief::default()).unwrap();
    let a = r.ranked.iter().find(|c| c.handle == "a").unwrap();
    assert_eq!(a.flags.iter().map(|f| f.code).collect::<Vec<_>>(), vec!["follower-jump"]);
    assert!(r.ranked.iter().find(|c| c.handle == "b").unwrap().flags.is_empty());
    assert_eq!(r.rejected.len(), 1);
    assert!(r.rejected[0].reason.contains("follower_history"));
}

#[test]
fn brief_deserializes_from_toml() {
    let b: CampaignBrief =
        toml::from_str("target_countries = [\"US\"]\nage_band = \"25-34\"\ntopics = [\"running\"]\n[thresholds]\nfollowing_ratio = 0.8\n")
            .unwrap();
    assert_eq!(b.thresholds.following_ratio, 0.8);
    assert_eq!(b.thresholds.low_engagement_ratio, 0.25);
    assert!(toml::from_str::<CampaignBrief>("country = \"US\"").is_err());
}
