//! Text embeddings for the memory tier.
//!
//! [`Embedder`] is the seam: the default [`HashedNgramEmbedder`] works offline, needs no model
//! file (its word vectors are compiled in) and gives the same vector for the same text on every
//! run and platform; a neural model
//! can replace it behind the same trait later (its [`Embedder::id`] then differs, which tells the
//! store its vectors must be recomputed).

mod hash;
mod text;
mod word_vectors;

use crate::vector_index::kernel::normalize;
use hash::FeatureHash;
use std::num::NonZeroUsize;
use word_vectors::WordVectors;

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

/// Id of [`HashedNgramEmbedder`] at its default [`DEFAULT_DIMENSIONS`]. Bump the version in it
/// whenever anything in the algorithm below changes (a rule, a weight, the stop words, the hash,
/// the word-vector table).
pub const EMBEDDING_ID: &str = "ngram-wordvec-v2-512";

/// Length of the hashed part by default: large enough that hash collisions between the few
/// hundred features of a memory rarely matter.
pub const DEFAULT_HASHED_DIMENSIONS: usize = 384;

/// Default vector length: the hashed part plus the 128 word-vector dimensions. A brute-force scan
/// of 10,000 such vectors stays around a millisecond.
pub const DEFAULT_DIMENSIONS: usize = DEFAULT_HASHED_DIMENSIONS + WORD_VECTOR_DIMENSIONS;

/// Length of the word-vector part (the compiled-in table's width).
const WORD_VECTOR_DIMENSIONS: usize = 128;

const ALGORITHM: &str = "ngram-wordvec-v2";

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

/// Share of the cosine similarity that comes from the hashed part; the word-vector part gives the
/// rest. Chosen on the development queries (`[[dev_query]]` of the memory corpus): 1.0 (hashed
/// only) 0.53, 0.6 0.67, 0.5 0.68, 0.4 0.68, 0.0 (word vectors only) 0.60.
const HASHED_SHARE: f64 = 0.4;

/// Signed feature hashing of words, word pairs and character n-grams, joined with an average of
/// static word vectors distilled from a sentence encoder.
///
/// Algorithm (version `ngram-wordvec-v2`; any change needs a new [`Embedder::id`]):
///
/// 1. **Words.** The text is lowercased (Unicode `to_lowercase`) and split into maximal runs of
///    alphanumeric characters (Unicode `Alphabetic`/`Numeric`); apostrophes inside a word are
///    dropped ("don't" -> "dont"); one-character words are dropped. Stop words (a short English
///    list of function words; negations are kept) are removed.
/// 2. **Hashed part** (the first `H` dimensions, 384 by default): exact lexical overlap.
///    - *Terms*: each word stemmed by a light, hand-written English suffix stripper (plural
///      -s/-es/-ies, -ing, -ed, -ly, final -e; words with non-ASCII letters or digits are left
///      alone).
///    - *Features*: each term (weight 1.0); each pair of adjacent terms (0.3); each character 3-,
///      4- and 5-gram of the term wrapped in boundary markers `<term>` (0.25 each; none for
///      all-digit terms). Each feature type hashes in its own namespace.
///    - *Hash*: FNV-1a 64 over a type byte and the feature's bytes (characters as little-endian
///      `u32`), finished with MurmurHash3's fmix64. Bucket = hash mod H; sign = the hash's top bit
///      (signed hashing: colliding features cancel on average instead of piling up).
///    - *Weighting*: a feature seen `tf` times adds `sign * weight * (1 + ln tf)` to its bucket
///      (sublinear: repeating a word does not drown the rest), summed in hash order so the float
///      sums are reproducible; then the part is scaled to unit length.
/// 3. **Word-vector part** (the last 128 dimensions): meaning beyond shared words. Words share no
///    letters with their synonyms ("refund" / "money back"), which no hashing can bridge. Each
///    word (unstemmed: the table has inflected forms) found in a compiled-in table of 50,000
///    frequent English words adds its vector, in text order; the sum is scaled to unit length.
///    The table (see `embedding/word_vectors.rs` and `tools/embedding/build_word_vectors.py`) is
///    the all-MiniLM-L6-v2 sentence encoder's vector for each word on its own, mean-centred and
///    reduced to 128 principal components (model2vec-style distillation: a static lookup, no
///    neural network at run time), weighted by smooth inverse frequency `a / (a + p(w))` so that
///    frequent, unspecific words count little, quantised to 8 bits. Words not in the table (rare
///    names, codes, non-English words) only contribute to the hashed part.
/// 4. **Join.** The hashed part is multiplied by `sqrt(0.4)`, the word-vector part by `sqrt(0.6)`,
///    so the cosine of two vectors is `0.4 * hashed cosine + 0.6 * word-vector cosine`; the whole
///    is then normalised to unit L2 length (norm computed in f64), which only matters when one
///    part is empty. A text with no words left (empty, or only stop words and punctuation) gives
///    the zero vector; its cosine similarity with anything is 0, so it never recalls a memory.
///
/// Everything is fixed data and integer or ordered float arithmetic: the same text gives the same
/// vector on every run and platform.
#[derive(Debug, Clone)]
pub struct HashedNgramEmbedder {
    hashed_dimensions: usize,
    id: String,
}

impl HashedNgramEmbedder {
    /// The default: [`DEFAULT_DIMENSIONS`], id [`EMBEDDING_ID`].
    pub fn new() -> Self {
        Self { hashed_dimensions: DEFAULT_HASHED_DIMENSIONS, id: EMBEDDING_ID.to_string() }
    }

    /// Another length of the hashed part; the vectors are that plus 128 long and the id names their
    /// length (`ngram-wordvec-v2-<H + 128>`).
    pub fn with_hashed_dimensions(hashed_dimensions: NonZeroUsize) -> Self {
        let total = hashed_dimensions.get() + WORD_VECTOR_DIMENSIONS;
        Self { hashed_dimensions: hashed_dimensions.get(), id: format!("{ALGORITHM}-{total}") }
    }

    /// The weighted features of `terms`, as (hash, weight) pairs, unsorted, with repeats.
    fn features(terms: &[String]) -> Vec<(u64, f32)> {
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

    /// Step 2: the hashed part, unit length (or zero).
    fn hashed_part(words: &[String], part: &mut [f32]) {
        let terms: Vec<String> = words.iter().map(|w| text::stem(w)).collect();
        let mut features = Self::features(&terms);
        // Hash order (weight as a tie-break for the astronomically rare cross-type collision)
        // makes both the tf counting and the float summation order independent of the text's
        // word order quirks and of any hash-map iteration order.
        features.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let dims = part.len() as u64;
        for run in features.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(hash, weight)) = run.first() else { continue };
            let tf_weight = tf_weight(run.len());
            let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
            if let Some(slot) = usize::try_from(hash % dims).ok().and_then(|i| part.get_mut(i)) {
                *slot += sign * weight * tf_weight;
            }
        }
        normalize(part);
    }

    /// Step 3: the word-vector part, unit length (or zero).
    fn word_vector_part(words: &[String], part: &mut [f32]) {
        if let Some(table) = WordVectors::get().filter(|t| t.dimensions() == part.len()) {
            for word in words {
                table.add_to(word, part);
            }
        }
        normalize(part);
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
        self.hashed_dimensions + WORD_VECTOR_DIMENSIONS
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        let words = text::content_words(text);
        let mut vector = vec![0.0f32; self.dimensions()];
        let (hashed, word_vectors) = vector.split_at_mut(self.hashed_dimensions);
        Self::hashed_part(&words, hashed);
        Self::word_vector_part(&words, word_vectors);
        let (hashed_scale, word_scale) = (HASHED_SHARE.sqrt() as f32, (1.0 - HASHED_SHARE).sqrt() as f32);
        hashed.iter_mut().for_each(|x| *x *= hashed_scale);
        word_vectors.iter_mut().for_each(|x| *x *= word_scale);
        normalize(&mut vector);
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
        assert_eq!(v.len(), 512);
        assert_eq!(e.dimensions(), DEFAULT_DIMENSIONS);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");

        let small = HashedNgramEmbedder::with_hashed_dimensions(NonZeroUsize::new(64).unwrap());
        assert_eq!(small.embed("page speed").len(), 192);
        assert_eq!(small.id(), "ngram-wordvec-v2-192");
        assert_eq!(e.id(), EMBEDDING_ID);
        // Only rare words, none in the word-vector table: still a unit vector (hashed part alone).
        let rare = e.embed("qzxv wkjh");
        assert!(rare[DEFAULT_HASHED_DIMENSIONS..].iter().all(|&x| x == 0.0));
        let norm: f32 = rare.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
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
        // Word vectors of any two English texts share some direction, so unrelated texts sit near
        // 0.2 rather than 0 (v1, hashed only: below 0.2); what matters is the gap.
        let unrelated = e.embed("Refund the duplicate invoice charge");
        assert!(cosine(&a, &unrelated) < 0.3, "cosine {}", cosine(&a, &unrelated));
    }

    #[test]
    fn synonyms_without_shared_letters_are_closer_than_unrelated_text() {
        // The word-vector part's reason to exist: no shared word, yet related.
        let e = HashedNgramEmbedder::new();
        let refund = e.embed("Customer wants a refund");
        let money_back = e.embed("client asks to get the money back");
        let logo = e.embed("stretched logo on the flyer");
        assert!(
            cosine(&refund, &money_back) > cosine(&refund, &logo) + 0.1,
            "{} vs {}",
            cosine(&refund, &money_back),
            cosine(&refund, &logo)
        );
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
