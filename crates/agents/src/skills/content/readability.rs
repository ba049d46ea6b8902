//! Flesch Reading Ease and Flesch–Kincaid grade level.
//!
//! - Reading ease = 206.835 − 1.015 × (words / sentences) − 84.6 × (syllables / words)
//! - Grade level = 0.39 × (words / sentences) + 11.8 × (syllables / words) − 15.59
//!
//! Before counting, Markdown and HTML noise is removed: links keep their text, URLs, inline code
//! and tags are dropped. A word is a run of letters (inner apostrophes and hyphens allowed);
//! numbers are not words. Sentences end at `.`, `!` or `?` followed by a space or the end (not
//! after abbreviations like "Dr." or initials), at a blank line, and at the end of a heading or
//! list item, so titles and bullets count as sentences as readers see them.
//!
//! Syllables use the usual heuristic (no dictionary): lower-case the word; words of 3 letters or
//! fewer have one syllable; otherwise drop a final "es" or "ed" after a consonant other than
//! "l", or a final silent "e" (but keep "-le" as in "table"), drop a leading "y", then count
//! groups of consecutive vowels (a, e, i, o, u, y). Every word has at least one syllable. It is
//! right for most words and off by one on some ("wanted" counts 1, "create" counts 1), which
//! moves the scores by a point or two on a normal article.

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

static MD_LINK: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"!?\[([^\]]*)\]\([^)]*\)").ok());
static NOISE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"https?://\S+|`[^`]*`|<[^>]{0,500}>").ok());
static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[^\W\d_]+(?:['’-][^\W\d_]+)*").ok());

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Counts {
    pub words: usize,
    pub sentences: usize,
    pub syllables: usize,
}

impl Counts {
    /// (reading ease, grade level), or `None` without words.
    pub fn scores(&self) -> Option<(f64, f64)> {
        if self.words == 0 || self.sentences == 0 {
            return None;
        }
        let wps = self.words as f64 / self.sentences as f64;
        let spw = self.syllables as f64 / self.words as f64;
        Some((206.835 - 1.015 * wps - 84.6 * spw, 0.39 * wps + 11.8 * spw - 15.59))
    }
}

/// A sentence with its word count and where it starts in the original text (byte offset).
pub struct Sentence {
    pub start: usize,
    pub words: usize,
}

/// Counts words, sentences and syllables, and lists sentences with their length.
pub fn analyse(text: &str) -> (Counts, Vec<Sentence>) {
    let mut counts = Counts { words: 0, sentences: 0, syllables: 0 };
    let mut sentences = Vec::new();
    let mut current: Option<Sentence> = None;
    let mut offset = 0;
    for raw_line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end();
        let trimmed = line.trim_start();
        let block_line = trimmed.starts_with(['#', '-', '*', '+', '>', '|']) || starts_numbered(trimmed);
        if trimmed.is_empty() || block_line {
            close(&mut current, &mut counts, &mut sentences);
        }
        let cleaned = clean(line);
        let Some(word_re) = WORD.as_ref() else { break };
        let mut last_end = 0;
        for m in word_re.find_iter(&cleaned) {
            // A terminator between the previous word and this one ends the sentence.
            if ends_sentence(&cleaned[last_end..m.start()], &cleaned[..m.start()]) {
                close(&mut current, &mut counts, &mut sentences);
            }
            let s = current.get_or_insert(Sentence { start: line_start + approx(line, &cleaned, m.start()), words: 0 });
            s.words += 1;
            counts.words += 1;
            counts.syllables += syllables(m.as_str());
            last_end = m.end();
        }
        if ends_sentence(&cleaned[last_end..], &cleaned) || block_line {
            close(&mut current, &mut counts, &mut sentences);
        }
    }
    close(&mut current, &mut counts, &mut sentences);
    (counts, sentences)
}

fn close(current: &mut Option<Sentence>, counts: &mut Counts, out: &mut Vec<Sentence>) {
    if let Some(s) = current.take().filter(|s| s.words > 0) {
        counts.sentences += 1;
        out.push(s);
    }
}

/// Whether the gap between words holds a sentence terminator (not an abbreviation's period).
fn ends_sentence(gap: &str, before: &str) -> bool {
    let Some(pos) = gap.find(['.', '!', '?']) else { return false };
    let term_is_period = gap[pos..].starts_with('.') && !gap[pos..].contains(['!', '?']);
    if term_is_period && pos == 0 {
        let prefix = &before[..before.len() - gap.len()];
        if super::text::is_abbreviation(prefix) {
            return false;
        }
    }
    true
}

fn starts_numbered(s: &str) -> bool {
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && s[digits..].starts_with(". ")
}

/// Cleaning only removes text, so the original offset of a word is at least its cleaned offset;
/// for locating long sentences a line-start approximation is enough when they differ.
fn approx(line: &str, cleaned: &str, at: usize) -> usize {
    if line.len() == cleaned.len() { at } else { 0 }
}

fn clean(line: &str) -> String {
    let line = MD_LINK.as_ref().map_or_else(|| line.to_owned(), |re| re.replace_all(line, "$1").into_owned());
    NOISE.as_ref().map_or(line.clone(), |re| re.replace_all(&line, " ").into_owned())
}

/// Syllables in one word, by the heuristic in the module docs.
pub fn syllables(word: &str) -> usize {
    let w: String = word.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_lowercase()).collect();
    if w.is_empty() {
        // Non-ASCII words: one syllable per vowel-like group is not knowable; count one.
        return 1;
    }
    if w.len() <= 3 {
        return 1;
    }
    let b = w.as_bytes();
    let n = b.len();
    let vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    let mut end = n;
    if n >= 3 && (w.ends_with("es") || w.ends_with("ed")) && !vowel(b[n - 3]) && b[n - 3] != b'l' {
        end = n - 2;
    } else if w.ends_with('e') && !vowel(b[n - 2]) && b[n - 2] != b'l' {
        end = n - 1;
    }
    let start = usize::from(b[0] == b'y');
    let mut groups = 0;
    let mut in_vowel = false;
    for &c in &b[start..end] {
        let v = vowel(c);
        if v && !in_vowel {
            groups += 1;
        }
        in_vowel = v;
    }
    groups.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllable_heuristic_on_known_words() {
        for (w, n) in [
            ("the", 1),
            ("cat", 1),
            ("table", 2),
            ("time", 1),
            ("makes", 1),
            ("doctor", 2),
            ("medication", 4),
            ("every", 3),
            ("yellow", 2),
            ("reading", 2),
            ("people", 2),
        ] {
            assert_eq!(syllables(w), n, "{w}");
        }
    }

    #[test]
    fn sentences_split_on_terminators_headings_and_lists() {
        let text = "# Heart health\n\nWalk daily. Eat well!\n- Sleep eight hours\n- Drink water\nDr. Patel agrees. Done";
        let (c, s) = analyse(text);
        assert_eq!(c.sentences, 7, "{:?}", s.iter().map(|s| s.words).collect::<Vec<_>>());
        assert_eq!(c.words, 15);
    }

    #[test]
    fn scores_match_the_formulas() {
        // "The cat sat on the mat." 6 words, 1 sentence, 6 syllables.
        let (c, _) = analyse("The cat sat on the mat.");
        assert_eq!((c.words, c.sentences, c.syllables), (6, 1, 6));
        let (ease, grade) = c.scores().unwrap();
        assert!((ease - 116.145).abs() < 1e-9, "{ease}");
        assert!((grade - (-1.45)).abs() < 1e-9, "{grade}");
        assert!(analyse("1234 5678").0.scores().is_none());
    }

    #[test]
    fn links_and_urls_do_not_count_as_words() {
        let (c, _) = analyse("Read [our guide](https://example.com/a-long-path) at https://example.com/x now.");
        assert_eq!(c.words, 5);
    }
}
