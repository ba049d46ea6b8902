//! Text embeddings for the memory tier.
//!
//! [`Embedder`] is the seam: the default [`HashedNgramEmbedder`] works offline, needs no model
//! file and gives the same vector for the same text on every run and platform; a neural model
//! can replace it behind the same trait later (its [`Embedder::id`] then differs, which tells the
//! store its vectors must be recomputed).

mod hash;
mod text;

use hash::FeatureHash;
use std::num::NonZeroUsize;

/// Turns text into a fixed-length vector whose cosine similarity reflects topical similarity.
pub trait Embedder: Send + Sync {
    /// Names the algorithm, its version and its parameters. Stored beside every vector: vectors
    /// made under another id are stale and must be recomputed, never compared.
    fn id(&self) -> &str;

    /// Length of every vector [`Embedder::embed`] returns.
    fn dimensions(&self) -> usize;

    /// The vector of `text`: L2-normalised, or all zeros when the text has no content.
    fn embed(&self, text: &str) -> Vec<f32>;
}

/// Id of [`HashedNgramEmbedder`] at its default 384 dimensions. Bump the version in it whenever
/// anything in the algorithm below changes (a rule, a weight, the stop words, the hash).
pub const EMBEDDING_ID: &str = "hashed-ngram-v1-384";

/// Default vector length: large enough that hash collisions between the few hundred features of
/// a memory rarely matter, small enough that a brute-force scan of 10,000 vectors is ~1 ms.
pub const DEFAULT_DIMENSIONS: usize = 384;

const ALGORITHM: &str = "hashed-ngram-v1";

/// Feature-type weights. Word identity is the strongest signal. An adjacent word pair ("opt out",
/// "page speed") is specific, but paraphrases seldom share one, and every feature two texts do not
/// share only dilutes the norm (hash-collision noise is ~1/sqrt(D) whatever the features), so
/// pairs weigh little: on a development query set, 0.7 lost ~3 points of precision@5 against
/// 0.3. Character n-grams are many per word, so each gets a small weight: together they let
/// "unsubscribed" meet "unsubscribe link" and survive typos without outweighing whole words.
const WEIGHT_WORD: f32 = 1.0;
const WEIGHT_BIGRAM: f32 = 0.3;
const WEIGHT_CHAR_NGRAM: f32 = 0.25;
const CHAR_NGRAM_SIZES: std::ops::RangeInclusive<usize> = 3..=5;

/// Signed feature hashing of words, word pairs and character n-grams.
///
/// Algorithm (version `hashed-ngram-v1`; any change needs a new [`Embedder::id`]):
///
/// 1. **Words.** The text is lowercased (Unicode `to_lowercase`) and split into maximal runs of
///    alphanumeric characters (Unicode `Alphabetic`/`Numeric`); apostrophes inside a word are
///    dropped ("don't" -> "dont"); one-character words are dropped.
/// 2. **Terms.** Stop words (a short English list of function words; negations are kept) are
///    removed, then each word is stemmed by a light, hand-written English suffix stripper
///    (plural -s/-es/-ies, -ing, -ed, -ly, final -e; words with non-ASCII letters or digits are
///    left alone).
/// 3. **Features.** Each term (weight 1.0); each pair of adjacent terms (0.3); each character
///    3-, 4- and 5-gram of the term wrapped in boundary markers `<term>` (0.25 each; none for
///    all-digit terms). Each feature type hashes in its own namespace.
/// 4. **Hash.** FNV-1a 64 over a type byte and the feature's bytes (characters as little-endian
///    `u32`), finished with MurmurHash3's fmix64. Bucket = hash mod D; sign = the hash's top bit
///    (signed hashing: colliding features cancel on average instead of piling up).
/// 5. **Weighting.** A feature seen `tf` times in the text adds `sign * weight * (1 + ln tf)` to
///    its bucket (sublinear: repeating a word does not drown the rest). Features are summed in
///    hash order, so the float sums are reproducible.
/// 6. **Normalise** to unit L2 length (norm computed in f64). A text with no terms (empty, or only
///    stop words and punctuation) gives the zero vector; its cosine similarity with anything is
///    0, so it never recalls a memory.
#[derive(Debug, Clone)]
pub struct HashedNgramEmbedder {
    dimensions: usize,
    id: String,
}

impl HashedNgramEmbedder {
    /// The default: [`DEFAULT_DIMENSIONS`], id [`EMBEDDING_ID`].
    pub fn new() -> Self {
        Self { dimensions: DEFAULT_DIMENSIONS, id: EMBEDDING_ID.to_string() }
    }

    /// Another vector length; the id names it (`hashed-ngram-v1-<D>`).
    pub fn with_dimensions(dimensions: NonZeroUsize) -> Self {
        Self { dimensions: dimensions.get(), id: format!("{ALGORITHM}-{dimensions}") }
    }

    /// The weighted features of `text`, as (hash, weight) pairs, unsorted, with repeats.
    fn features(text: &str) -> Vec<(u64, f32)> {
        let terms = text::terms(text);
        let mut features = Vec::with_capacity(terms.len() * 12);
        let mut wrapped: Vec<char> = Vec::new();
        for (i, term) in terms.iter().enumerate() {
            features.push((FeatureHash::new(b'w').bytes(term.as_bytes()).finish(), WEIGHT_WORD));
            if let Some(next) = terms.get(i + 1) {
                let h = FeatureHash::new(b'b').bytes(term.as_bytes()).bytes(&[0]).bytes(next.as_bytes()).finish();
                features.push((h, WEIGHT_BIGRAM));
            }
            if term.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            wrapped.clear();
            wrapped.push('<');
            wrapped.extend(term.chars());
            wrapped.push('>');
            for n in CHAR_NGRAM_SIZES {
                for gram in wrapped.windows(n) {
                    features.push((FeatureHash::new(b'c').chars(gram).finish(), WEIGHT_CHAR_NGRAM));
                }
            }
        }
        features
    }
}

impl Default for HashedNgramEmbedder {
    fn default() -> Self {
        Self::new()
    }
}

impl Embedder for HashedNgramEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        let mut features = Self::features(text);
        // Hash order (weight as a tie-break for the astronomically rare cross-type collision)
        // makes both the tf counting and the float summation order independent of the text's
        // word order quirks and of any hash-map iteration order.
        features.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut vector = vec![0.0f32; self.dimensions];
        let dims = self.dimensions as u64;
        for run in features.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(hash, weight)) = run.first() else { continue };
            let tf_weight = tf_weight(run.len());
            let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
            if let Some(slot) = usize::try_from(hash % dims).ok().and_then(|i| vector.get_mut(i)) {
                *slot += sign * weight * tf_weight;
            }
        }
        crate::vector_index::kernel::normalize(&mut vector);
        vector
    }
}

/// Sublinear term frequency, `1 + ln tf`. Computed in f64 and rounded to f32: libm differences
/// between platforms are far below f32 resolution.
fn tf_weight(tf: usize) -> f32 {
    (1.0 + (tf.max(1) as f64).ln()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_have_the_configured_length_and_unit_norm() {
        let e = HashedNgramEmbedder::new();
        let v = e.embed("Reject: the landing page claims the supplement cures anxiety.");
        assert_eq!(v.len(), 384);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");

        let small = HashedNgramEmbedder::with_dimensions(NonZeroUsize::new(64).unwrap());
        assert_eq!(small.embed("page speed").len(), 64);
        assert_eq!(small.id(), "hashed-ngram-v1-64");
        assert_eq!(e.id(), EMBEDDING_ID);
    }

    #[test]
    fn empty_or_contentless_text_gives_the_zero_vector() {
        let e = HashedNgramEmbedder::new();
        for text in ["", "   ", "?!", "the of and to", "a"] {
            assert!(e.embed(text).iter().all(|&x| x == 0.0), "{text:?}");
        }
    }

    #[test]
    fn case_punctuation_and_inflection_barely_move_the_vector() {
        let e = HashedNgramEmbedder::new();
        let a = e.embed("Approve the email campaign after DKIM is configured");
        let b = e.embed("approved: e-mail campaigns, after dkim configured!");
        assert!(cosine(&a, &b) > 0.75, "cosine {}", cosine(&a, &b));
        let unrelated = e.embed("Refund the duplicate invoice charge");
        assert!(cosine(&a, &unrelated) < 0.2, "cosine {}", cosine(&a, &unrelated));
    }

    #[test]
    fn repeated_words_are_damped() {
        let e = HashedNgramEmbedder::new();
        assert_eq!(tf_weight(1), 1.0);
        assert!((tf_weight(8) - 3.0794415).abs() < 1e-6);
        let once = e.embed("refund invoice");
        let many = e.embed("refund refund refund refund refund refund refund refund invoice");
        // Linear tf would make "refund" outweigh "invoice" eightfold; damped, the texts stay close.
        assert!(cosine(&once, &many) > 0.7, "cosine {}", cosine(&once, &many));
    }
}
