//! Text plumbing shared by the text skills (content, social, email, support): input checks,
//! line/column positions, sentence extraction and whole-word phrase patterns.

use crate::skills::SkillError;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// Default size limit for one text input (a blog draft, an email, a ticket): 1 MiB. Larger
/// inputs are almost certainly not a single document, and scanning stays fast below it.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;

/// How much a finding matters. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Rejects blank and oversized text.
pub fn check_text(text: &str, limit: usize) -> Result<(), SkillError> {
    if text.len() > limit {
        return Err(SkillError::TooLarge { size: text.len(), limit });
    }
    if text.trim().is_empty() {
        return Err(SkillError::Empty);
    }
    Ok(())
}

/// Turns an uploaded file into text: size first (so a huge binary is not scanned), then UTF-8,
/// then NUL bytes, which never occur in a text document and mark a binary file.
pub fn text_from_bytes(bytes: &[u8], limit: usize) -> Result<&str, SkillError> {
    if bytes.len() > limit {
        return Err(SkillError::TooLarge { size: bytes.len(), limit });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| SkillError::NotText { offset: e.valid_up_to() })?;
    if let Some(offset) = text.find('\0') {
        return Err(SkillError::NotText { offset });
    }
    check_text(text, limit)?;
    Ok(text)
}

/// Byte offsets of line starts, to turn a match offset into a 1-based line and column.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// The last answer `(offset, line, column)`: findings are located in text order, so counting
    /// characters on from the previous offset keeps a very long line linear, not quadratic.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { text, starts, last: std::cell::Cell::new((0, 1, 1)) }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = self.text.floor_char_boundary(offset.min(self.text.len()));
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let (last_off, last_line, last_col) = self.last.get();
        let (from, base) = if last_line == line && last_off <= offset {
            (last_off, last_col)
        } else {
            (self.starts.get(line - 1).copied().unwrap_or(0), 1)
        };
        let column = base + self.text.get(from..offset).map_or(0, |s| s.chars().count());
        self.last.set((offset, line, column));
        (line, column)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> &'a str {
        let start = self.starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len());
        let end = self.starts.get(line).map_or(self.text.len(), |e| e.saturating_sub(1));
        self.text.get(start..end.max(start)).unwrap_or("").trim_end_matches('\r')
    }
}

/// Longest excerpt a finding quotes, in characters.
const MAX_SENTENCE_CHARS: usize = 240;
/// How far (bytes) to look either side of a match for its sentence's ends; bounds the work on
/// text without line breaks.
const SENTENCE_WINDOW: usize = 2048;

/// The sentence around `start..end`: back to the previous `.`, `!` or `?` followed by a space,
/// or the line start; forward likewise. Sentences do not span lines, so a wrapped paragraph
/// quotes the wrapped line's part. Long sentences are cut to 240 characters around the match.
pub fn sentence_around(text: &str, start: usize, end: usize) -> String {
    let start = text.floor_char_boundary(start.min(text.len()));
    let end = text.ceil_char_boundary(end.clamp(start, text.len()));
    let window_start = text.floor_char_boundary(start.saturating_sub(SENTENCE_WINDOW));
    let line_start = text[window_start..start].rfind('\n').map_or(window_start, |i| window_start + i + 1);
    let before = &text[..start];
    let mut s_start = line_start;
    for (i, c) in before[line_start..].char_indices() {
        let abs = line_start + i;
        if matches!(c, '.' | '!' | '?') && text[abs + 1..].starts_with(char::is_whitespace) && !is_abbreviation(&text[line_start..abs]) {
            s_start = abs + 1;
        }
    }
    let window_end = text.ceil_char_boundary(end.saturating_add(SENTENCE_WINDOW).min(text.len()));
    let line_end = text[end..window_end].find('\n').map_or(window_end, |i| end + i);
    let mut s_end = line_end;
    for (i, c) in text[end..line_end].char_indices() {
        let abs = end + i;
        let next_ws = text[abs + c.len_utf8()..].chars().next().is_none_or(char::is_whitespace);
        if matches!(c, '.' | '!' | '?') && next_ws && !is_abbreviation(&text[line_start..abs]) {
            s_end = abs + c.len_utf8();
            break;
        }
    }
    let sentence = text[s_start..s_end].trim();
    if sentence.chars().count() <= MAX_SENTENCE_CHARS {
        return sentence.to_owned();
    }
    // Cut around the match so the quoted part keeps what was flagged.
    let rel = start.saturating_sub(s_start);
    let from = sentence.floor_char_boundary(rel.saturating_sub(MAX_SENTENCE_CHARS / 2));
    let cut: String = sentence[from..].chars().take(MAX_SENTENCE_CHARS).collect();
    format!("…{}…", cut.trim())
}

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &["dr", "mr", "mrs", "ms", "st", "vs", "etc", "e.g", "i.e", "jr", "sr", "no", "fig", "approx"];

/// Whether the text before a period ends in a known abbreviation (`Dr.`, `e.g.`) or a single
/// initial (`J.`).
pub fn is_abbreviation(before: &str) -> bool {
    let word = before.rsplit(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str()) || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
}

/// A regex fragment matching `phrase` as whole words: escaped, with `\b` at an end only where
/// the phrase has a word character (so `100%` and `$$$` still match), and runs of spaces
/// matching any whitespace (a phrase may wrap across lines).
pub fn whole_word(phrase: &str) -> String {
    let words: Vec<String> = phrase.split_whitespace().map(regex::escape).collect();
    let body = words.join(r"\s+");
    let first_word = phrase.trim_start().chars().next().is_some_and(is_word_char);
    let last_word = phrase.trim_end().chars().last().is_some_and(is_word_char);
    format!("{}{}{}", if first_word { r"\b" } else { "" }, body, if last_word { r"\b" } else { "" })
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One case-insensitive regex matching any of `phrases` as whole words, longest first so that
/// `100% free` wins over `free`. `None` when there is no non-blank phrase.
pub fn phrase_set(phrases: &[String]) -> Result<Option<Regex>, SkillError> {
    let mut sorted: Vec<&str> = phrases.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    if sorted.is_empty() {
        return Ok(None);
    }
    sorted.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let alternatives: Vec<String> = sorted.iter().map(|p| whole_word(p)).collect();
    Regex::new(&format!("(?i)(?:{})", alternatives.join("|")))
        .map(Some)
        .map_err(|e| SkillError::Invalid(format!("the phrase list does not compile into a pattern: {e}")))
}

/// Lower-cases and folds typographic apostrophes and whitespace runs, so configured phrases match
/// text typed in a word processor.
pub fn normalize(text: &str) -> String {
    let folded: String = text.chars().map(|c| if matches!(c, '\u{2019}' | '\u{2018}') { '\'' } else { c }).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Escapes a cell for a Markdown table.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let text = "first line\nsécond line\nthird";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), (1, 1));
        let off = text.find("line\nthird").unwrap();
        assert_eq!(idx.position(off), (2, 8));
        assert_eq!(idx.position(text.len()), (3, 6));
        assert_eq!(idx.line(2), "sécond line");
        assert_eq!(idx.line(9), "");
        // Out-of-order queries after the cached one still answer correctly.
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(off + 2), (2, 10));
        assert_eq!(idx.position(off), (2, 8));
    }

    #[test]
    fn sentence_around_stops_at_terminators_and_abbreviations() {
        let text = "Intro here. Dr. Lee says it cures colds! Next one.";
        let at = text.find("cures").unwrap();
        assert_eq!(sentence_around(text, at, at + 5), "Dr. Lee says it cures colds!");
        let long = format!("{} cure {}", "word ".repeat(200), "tail ".repeat(200));
        let at = long.find("cure").unwrap();
        let s = sentence_around(&long, at, at + 4);
        assert!(s.contains("cure") && s.chars().count() <= 242, "{s}");
    }

    #[test]
    fn whole_word_patterns_respect_boundaries() {
        let re = phrase_set(&["cure".into(), "100% free".into(), "act now".into()]).unwrap().unwrap();
        assert!(re.is_match("It will CURE you"));
        assert!(!re.is_match("a secure portal and curated list"));
        assert!(re.is_match("100% free trial"));
        assert!(re.is_match("Act\n now"));
        assert!(phrase_set(&[" ".into()]).unwrap().is_none());
    }

    #[test]
    fn bytes_are_checked_for_size_encoding_and_binary() {
        assert_eq!(text_from_bytes(b"ok text", 100), Ok("ok text"));
        assert_eq!(text_from_bytes(b"", 100), Err(SkillError::Empty));
        assert_eq!(text_from_bytes(b"   \n", 100), Err(SkillError::Empty));
        assert_eq!(text_from_bytes(&[b'a'; 101], 100), Err(SkillError::TooLarge { size: 101, limit: 100 }));
        assert_eq!(text_from_bytes(b"ab\xffcd", 100), Err(SkillError::NotText { offset: 2 }));
        assert_eq!(text_from_bytes(b"PK\0\x03", 100), Err(SkillError::NotText { offset: 2 }));
    }
}
