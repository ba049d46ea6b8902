//! Text to terms: Unicode-aware lowercasing and word splitting, a small English stop-word list and
//! a light suffix-stripping stemmer.
//!
//! The stemmer is hand-written rather than taken from a Snowball crate on purpose: the embedding
//! promises identical vectors for identical text for as long as `EMBEDDING_ID` is unchanged, so
//! every rule that shapes a term must be pinned by this crate's version constant, not by a
//! dependency's release. It only needs to be light, too: character n-grams already match words
//! that share a root, so the stemmer merely folds the commonest inflections (plural, -ing, -ed,
//! -ly, final e) so that "approve", "approved" and "approving" give one word feature.

/// Function words that carry no topic. Negations ("no", "not", "never") are deliberately absent:
/// "do not approve" and "approve" must not look alike. Sorted, for binary search.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "just", "me", "might", "my", "of", "on", "or", "our", "ours", "she", "should", "so", "some", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "us", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
];

/// Whether `word` (already lowercased) is a stop word.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Lowercased words of `text`, in order: maximal runs of alphanumeric characters (Unicode
/// `Alphabetic` or `Numeric`). Apostrophes inside a word are dropped so "don't" is one word
/// ("dont"); every other non-alphanumeric character separates words. Words of one character
/// are dropped: after splitting they are mostly debris ("s" of "client’s", list markers).
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if is_apostrophe(c) && !current.is_empty() && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            // Joined: the next character continues the same word.
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}')
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    if current.chars().nth(1).is_some() {
        out.push(std::mem::take(current));
    } else {
        current.clear();
    }
}

/// The words of `text` without stop words, unstemmed.
pub(crate) fn content_words(text: &str) -> Vec<String> {
    words(text).into_iter().filter(|w| !is_stop_word(w)).collect()
}

/// The terms of `text`: its words without stop words, stemmed.
#[cfg(test)]
pub(crate) fn terms(text: &str) -> Vec<String> {
    content_words(text).into_iter().map(|w| stem(&w)).collect()
}

/// Light English stemmer (see the module doc for why it is hand-written). Words that are not
/// ASCII, or shorter than four letters, are returned unchanged: the rules are English ones.
pub(crate) fn stem(word: &str) -> String {
    if !word.is_ascii() || word.len() < 4 || !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    strip_plural(&mut w);
    if !strip_verb_suffix(&mut w, "ing", 3) && !w.ends_with("eed") {
        strip_verb_suffix(&mut w, "ed", 3);
    }
    if w.len() >= 6 && w.ends_with("ly") {
        w.truncate(w.len() - 2);
    }
    if w.len() > 4 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    w
}

/// "policies" -> "policy", "processes" -> "process", "campaigns" -> "campaign"; the endings "ss",
/// "us" and "is" ("business", "status", "analysis") are kept.
fn strip_plural(w: &mut String) {
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
}

/// Strips `suffix` when at least `min_stem` letters with a vowel remain, then undoubles a final
/// double consonant ("shipping" -> "ship"), except l, s and z ("billing" -> "bill").
fn strip_verb_suffix(w: &mut String, suffix: &str, min_stem: usize) -> bool {
    let Some(rest) = w.strip_suffix(suffix) else { return false };
    if rest.len() < min_stem || !rest.bytes().any(is_vowel) {
        return false;
    }
    let mut rest = rest.to_string();
    let bytes = rest.as_bytes();
    if let [.., a, b] = bytes
        && a == b
        && !is_vowel(*a)
        && !matches!(*a, b'l' | b's' | b'z')
    {
        rest.pop();
    }
    *w = rest;
    true
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_and_unique() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]), "STOP_WORDS must be sorted for binary search");
        assert!(is_stop_word("the") && !is_stop_word("not") && !is_stop_word("never"));
    }

    #[test]
    fn words_split_on_punctuation_and_join_apostrophes() {
        assert_eq!(words("Don't send the DKIM-signed e-mail!"), ["dont", "send", "the", "dkim", "signed", "mail"]);
        assert_eq!(words("client’s 2FA code: 4 digits"), ["clients", "2fa", "code", "digits"]);
        assert_eq!(words("  "), Vec::<String>::new());
    }

    #[test]
    fn words_are_unicode_aware() {
        assert_eq!(words("Ärztliche WERBUNG, naïve café"), ["ärztliche", "werbung", "naïve", "café"]);
        // Non-Latin scripts are kept as words, not dropped.
        assert_eq!(words("Привет мир"), ["привет", "мир"]);
    }

    #[test]
    fn stemmer_folds_common_inflections() {
        for (word, want) in [
            ("approve", "approv"),
            ("approved", "approv"),
            ("approving", "approv"),
            ("approves", "approv"),
            ("campaigns", "campaign"),
            ("policies", "policy"),
            ("processes", "process"),
            ("processing", "process"),
            ("shipping", "ship"),
            ("flagged", "flag"),
            ("billing", "bill"),
            ("missing", "miss"),
            ("quickly", "quick"),
            ("business", "business"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("speed", "speed"),
            ("string", "string"),
            ("café", "café"),
            ("2fa", "2fa"),
        ] {
            assert_eq!(stem(word), want, "stem({word})");
        }
    }

    #[test]
    fn terms_drop_stop_words_and_stem() {
        assert_eq!(terms("We are not approving these claims"), ["not", "approv", "claim"]);
    }
}
