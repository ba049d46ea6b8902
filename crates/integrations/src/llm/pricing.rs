//! What tokens cost: a table of per-model prices in US dollars per million tokens.

use super::error::ConfigError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Dollars per million input and output tokens. Both finite and not negative (checked when
/// parsed or built).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPrice")]
pub struct ModelPrice {
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("prices must be finite and not negative (input {input}, output {output})")]
pub struct InvalidPrice {
    pub input: f64,
    pub output: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    input_usd_per_mtok: f64,
    output_usd_per_mtok: f64,
}

impl TryFrom<RawPrice> for ModelPrice {
    type Error = InvalidPrice;

    fn try_from(raw: RawPrice) -> Result<Self, InvalidPrice> {
        Self::new(raw.input_usd_per_mtok, raw.output_usd_per_mtok)
    }
}

impl ModelPrice {
    pub fn new(input_usd_per_mtok: f64, output_usd_per_mtok: f64) -> Result<Self, InvalidPrice> {
        let valid = |p: f64| p.is_finite() && p >= 0.0;
        if valid(input_usd_per_mtok) && valid(output_usd_per_mtok) {
            Ok(Self { input_usd_per_mtok, output_usd_per_mtok })
        } else {
            Err(InvalidPrice { input: input_usd_per_mtok, output: output_usd_per_mtok })
        }
    }

    pub fn cost_usd(&self, tokens_in: u64, tokens_out: u64) -> f64 {
        // u64 -> f64 loses precision only beyond 2^53 tokens, far past any bill.
        (tokens_in as f64 * self.input_usd_per_mtok + tokens_out as f64 * self.output_usd_per_mtok) / 1_000_000.0
    }
}

/// Model name -> price. In TOML: `[prices."gpt-4o-mini"]` with `input_usd_per_mtok` and
/// `output_usd_per_mtok` (the table itself is the map, so it nests under any key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceTable(BTreeMap<String, ModelPrice>);

impl PriceTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a document whose only table is `prices`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            #[serde(default)]
            prices: PriceTable,
        }
        toml::from_str::<Doc>(text).map(|d| d.prices).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    pub fn insert(&mut self, model: impl Into<String>, price: ModelPrice) -> Option<ModelPrice> {
        self.0.insert(model.into(), price)
    }

    /// The price of `model`: its own entry, else the entry of the model it is a dated
    /// snapshot of. Providers answer with snapshots (`gpt-4o-mini-2024-07-18` for a request
    /// of `gpt-4o-mini`); only a date suffix is stripped, so `gpt-4o-mini-audio` never takes
    /// the price of `gpt-4o-mini`.
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        self.0.get(model).or_else(|| strip_snapshot_date(model).and_then(|base| self.0.get(base)))
    }

    /// Dollars for a call; `None` when the model has no price, which the caller must treat as
    /// a budget problem rather than as free.
    pub fn cost_usd(&self, model: &str, tokens_in: u64, tokens_out: u64) -> Option<f64> {
        self.get(model).map(|p| p.cost_usd(tokens_in, tokens_out))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ModelPrice)> {
        self.0.iter().map(|(name, price)| (name.as_str(), price))
    }
}

/// `name-YYYYMMDD` (Anthropic) or `name-YYYY-MM-DD` (OpenAI) -> `name`.
fn strip_snapshot_date(model: &str) -> Option<&str> {
    if let Some((base, date)) = model.rsplit_once('-')
        && date.len() == 8
        && is_digits(date)
        && !base.is_empty()
    {
        return Some(base);
    }
    let (rest, day) = model.rsplit_once('-')?;
    let (rest, month) = rest.rsplit_once('-')?;
    let (base, year) = rest.rsplit_once('-')?;
    let dated = [(year, 4), (month, 2), (day, 2)].iter().all(|(part, len)| part.len() == *len && is_digits(part));
    (dated && !base.is_empty()).then_some(base)
}

fn is_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
        [prices."gpt-4o-mini"]
        input_usd_per_mtok = 0.15
        output_usd_per_mtok = 0.6

        [prices."claude-3-5-haiku-20241022"]
        input_usd_per_mtok = 0.8
        output_usd_per_mtok = 4.0
    "#;

    #[test]
    fn parses_toml_and_prices_calls() {
        let table = PriceTable::from_toml(TOML).unwrap();
        assert_eq!(table.len(), 2);
        let cost = table.cost_usd("gpt-4o-mini", 1_000_000, 500_000).unwrap();
        assert!((cost - 0.45).abs() < 1e-12, "{cost}");
        let cost = table.cost_usd("claude-3-5-haiku-20241022", 2_000, 100).unwrap();
        assert!((cost - 0.002).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn unknown_model_has_no_price() {
        let table = PriceTable::from_toml(TOML).unwrap();
        assert_eq!(table.cost_usd("gpt-4o", 10, 10), None);
        assert_eq!(PriceTable::new().cost_usd("gpt-4o-mini", 10, 10), None);
    }

    #[test]
    fn dated_snapshots_take_the_base_price_but_variants_do_not() {
        let table = PriceTable::from_toml(TOML).unwrap();
        assert!(table.get("gpt-4o-mini-2024-07-18").is_some());
        assert!(table.get("gpt-4o-mini-audio-preview").is_none());
        assert!(table.get("gpt-4o-mini-2024-07").is_none());
        assert_eq!(strip_snapshot_date("claude-3-5-haiku-20241022"), Some("claude-3-5-haiku"));
        assert_eq!(strip_snapshot_date("2024-07-18"), None);
    }

    #[test]
    fn rejects_bad_prices_and_unknown_fields() {
        let negative = "[prices.m]\ninput_usd_per_mtok = -1.0\noutput_usd_per_mtok = 1.0\n";
        assert!(matches!(PriceTable::from_toml(negative), Err(ConfigError::Parse(m)) if m.contains("not negative")));
        let typo = "[prices.m]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 1.0\ncached = 0.5\n";
        assert!(matches!(PriceTable::from_toml(typo), Err(ConfigError::Parse(m)) if m.contains("cached")));
        let missing = "[prices.m]\ninput_usd_per_mtok = 1.0\n";
        assert!(matches!(PriceTable::from_toml(missing), Err(ConfigError::Parse(m)) if m.contains("output_usd_per_mtok")));
        assert!(ModelPrice::new(f64::NAN, 1.0).is_err());
    }
}
