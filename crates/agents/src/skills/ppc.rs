//! PPC Advertising: ad copy checked against each ad platform's limits, and budget pacing plus bid
//! recommendations from a campaign metrics CSV.

mod campaigns;
mod copy;

pub use campaigns::{BidAction, BidRecommendation, CampaignMetrics, CampaignReport, PaceStatus, Pacing, PacingOptions, analyse_campaigns};
pub use copy::{AdCopy, AdCopyReport, AdPlatform, CopyFinding, check_ad_copy};

/// Money for reports: `$1,234.50` style grouping, two decimals.
fn money(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.abs();
    format!("{sign}${}.{:02}", super::csv_input::thousands(cents / 100), cents % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money(1234.5), "$1,234.50");
        assert_eq!(super::money(0.004), "$0.00");
        assert_eq!(super::money(-12.3), "-$12.30");
        assert_eq!(super::money(1_000_000.0), "$1,000,000.00");
    }
}
