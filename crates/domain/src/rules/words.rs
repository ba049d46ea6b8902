//! Whole-word, case-insensitive phrase search by scanning: no regex built per call, no
//! allocation. Case is folded per char (`to_lowercase`, final sigma as sigma) on both sides.

/// A phrase of one or more words, folded at load.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub(crate) source: Box<str>,
    /// The first folded char, to pass over most positions without starting a match.
    first: char,
    words: Box<[Box<[char]>]>,
}

impl Phrase {
    /// `None` for a phrase without words (empty or only whitespace).
    pub(crate) fn new(source: &str) -> Option<Self> {
        let words: Box<[Box<[char]>]> = source.split_whitespace().map(|w| w.chars().flat_map(fold).collect()).collect();
        let first = *words.first()?.first()?;
        Some(Self { source: source.into(), first, words })
    }

    /// Whether the phrase matches at the start of `rest` and ends at a word boundary. The caller
    /// checks the boundary before `rest`.
    fn matches_at(&self, rest: &str) -> bool {
        let mut chars = rest.chars().peekable();
        for (n, word) in self.words.iter().enumerate() {
            if n > 0 {
                let mut gap = false;
                while chars.next_if(|c| c.is_whitespace()).is_some() {
                    gap = true;
                }
                if !gap {
                    return false;
                }
            }
            let mut want = word.iter();
            let mut done = word.is_empty();
            while !done {
                let Some(c) = chars.next() else { return false };
                for lc in fold(c) {
                    // The word must end on a whole haystack char, not inside its expansion.
                    if want.next() != Some(&lc) {
                        return false;
                    }
                }
                done = want.len() == 0;
            }
        }
        !chars.peek().is_some_and(|c| is_word(*c))
    }
}

/// Whether `hay` contains any of the phrases as whole words, ignoring case.
pub(crate) fn contains_any(hay: &str, phrases: &[Phrase]) -> bool {
    let mut prev_word = false;
    for (i, c) in hay.char_indices() {
        if !prev_word {
            let first = if c.is_ascii() { c.to_ascii_lowercase() } else { fold(c).next().unwrap_or(c) };
            if phrases.iter().any(|p| p.first == first && hay.get(i..).is_some_and(|rest| p.matches_at(rest))) {
                return true;
            }
        }
        prev_word = is_word(c);
    }
    false
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn fold(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|l| if l == 'ς' { 'σ' } else { l })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(hay: &str, words: &[&str]) -> bool {
        let phrases: Vec<Phrase> = words.iter().map(|w| Phrase::new(w).unwrap()).collect();
        contains_any(hay, &phrases)
    }

    #[test]
    fn matches_whole_words_ignoring_case() {
        assert!(any("This will CURE you", &["cure"]));
        assert!(any("cure", &["cure"]));
        assert!(any("(cure).", &["cure"]));
        assert!(any("a miracle!", &["cure", "miracle"]));
        assert!(!any("secure the procurement", &["cure"]));
        assert!(!any("cures", &["cure"]));
        assert!(!any("cure_all", &["cure"]));
        assert!(!any("", &["cure"]));
    }

    #[test]
    fn phrases_span_any_whitespace() {
        assert!(any("full money\n  back guarantee", &["money back"]));
        assert!(!any("moneyback", &["money back"]));
        assert!(!any("money-back", &["money back"]));
        assert!(!any("money backing", &["money back"]));
        assert!(!any("money", &["money back"]));
    }

    #[test]
    fn folds_unicode_case() {
        assert!(any("ÉLAN VITAL", &["élan"]));
        assert!(any("ΟΔΟΣ", &["οδος"]));
        assert!(!any("Straße", &["strasse"]), "simple per-char lowercase, not full case folding");
        assert!(!any("İstanbul", &["i"]), "a word ends on a whole char");
        assert!(any("x 100% y", &["100%"]));
        assert!(!any("x 100%y", &["100%"]));
    }

    #[test]
    fn blank_phrases_are_refused() {
        assert!(Phrase::new("  \t").is_none());
        assert_eq!(Phrase::new(" two  words ").unwrap().words.len(), 2);
    }
}
