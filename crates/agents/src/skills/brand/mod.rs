//! Brand consistency against a brand guide: the voice of copy ([`check_voice`]) and the colours
//! of stylesheets and pages ([`check_colours`]).

mod colour;
mod colours;
mod css;
mod voice;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use colour::Rgba;
pub use colours::{ColourReport, ColourSummary, CssProblem, OffPalette, PaletteColour, check_colours};
pub use voice::{BrandReport, Rule, TaglineStatus, VoiceFinding, check_voice};

/// The brand guide (a spec's `[settings]`); every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrandGuide {
    /// Brand name, for report titles.
    pub brand: Option<String>,
    /// Banned word or phrase -> what to write instead ("" means just remove it). Matched as
    /// whole words, ignoring case.
    pub banned: BTreeMap<String, String>,
    /// Words or phrases the copy must contain (whole words, ignoring case).
    pub required: Vec<String>,
    /// The tagline, which must appear exactly when set; near-misses (other case or punctuation)
    /// are flagged.
    pub tagline: Option<String>,
    /// Colour name -> hex (`#1f4d3a`, `#fff`).
    pub palette: BTreeMap<String, String>,
    /// Largest CIE76 ΔE from a palette colour still counted on-palette. Default 3.0: above the
    /// ~2.3 just-noticeable difference, so rounding in `hsl()`/`rgb()` passes, while a visibly
    /// different shade does not.
    pub tolerance: f64,
    /// Headline style to enforce on Markdown headings (and a short first line), if any.
    pub headline_case: Option<HeadlineCase>,
    /// Most exclamation marks a piece of copy may use (default 1).
    pub max_exclamations: usize,
    /// Words always capitalised (brand, product and place names), exempt from sentence case.
    pub proper_nouns: Vec<String>,
}

impl Default for BrandGuide {
    fn default() -> Self {
        Self {
            brand: None,
            banned: BTreeMap::new(),
            required: Vec::new(),
            tagline: None,
            palette: BTreeMap::new(),
            tolerance: 3.0,
            headline_case: None,
            max_exclamations: 1,
            proper_nouns: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadlineCase {
    /// Only the first word (and proper nouns, acronyms) capitalised.
    Sentence,
    /// Every word capitalised except short articles, conjunctions and prepositions.
    Title,
}

/// What `check_colours` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A stylesheet.
    Css,
    /// A page: its `<style>` blocks, `style=""` attributes and colour attributes
    /// (`bgcolor`, `color`, SVG `fill`/`stroke`/`stop-color`, `theme-color` meta).
    Html,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_from_toml() {
        let guide: BrandGuide = toml::from_str(
            r##"
brand = "Northfield"
tagline = "Made to be mended."
required = ["Northfield"]
headline_case = "sentence"
[banned]
cheap = "great value"
[palette]
"Fell Green" = "#1F4D3A"
"##,
        )
        .unwrap();
        assert_eq!(guide.banned.get("cheap").map(String::as_str), Some("great value"));
        assert_eq!(guide.headline_case, Some(HeadlineCase::Sentence));
        assert_eq!(guide.tolerance, 3.0);
        assert_eq!(guide.max_exclamations, 1);
        assert!(toml::from_str::<BrandGuide>("colour = 1").is_err());
    }
}
