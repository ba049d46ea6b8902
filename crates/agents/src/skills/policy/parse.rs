//! Parsing and validating the policy file; every error names its line.

use super::{BannedTerm, DocRule, Guidance, PathGlob, Principle, RequiredTerm, Term, VisionPolicy};
use crate::skills::SkillError;
use crate::skills::content::text::{LineIndex, whole_word};
use globset::GlobBuilder;
use regex::Regex;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;

/// Largest policy file accepted (256 KiB).
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Option<S<i64>>,
    layer1: Option<RawLayer1>,
    layer2: Option<RawLayer2>,
    layer3: Option<RawLayer3>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer1 {
    #[serde(default)]
    principles: Vec<S<RawPrinciple>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrinciple {
    id: S<String>,
    statement: S<String>,
    #[serde(default)]
    protected_paths: Vec<S<String>>,
    #[serde(default)]
    banned_terms: Vec<S<String>>,
    #[serde(default)]
    paths: Vec<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLayer2 {
    #[serde(default)]
    forbidden_paths: Vec<S<String>>,
    #[serde(default)]
    forbidden_extensions: Vec<S<String>>,
    #[serde(default)]
    docs: Vec<S<RawDocs>>,
    #[serde(default)]
    banned_terms: Vec<S<RawBanned>>,
    #[serde(default)]
    required_terms: Vec<S<RawRequired>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocs {
    id: Option<S<String>>,
    paths: Vec<S<String>>,
    #[serde(default)]
    front_matter: Vec<S<String>>,
    header: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBanned {
    id: Option<S<String>>,
    term: S<String>,
    replacement: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    paths: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequired {
    id: Option<S<String>>,
    term: S<String>,
    reason: Option<String>,
    paths: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer3 {
    phase: Option<String>,
    #[serde(default)]
    guidance: Vec<S<RawGuidance>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuidance {
    id: S<String>,
    message: S<String>,
    #[serde(default)]
    paths: Vec<S<String>>,
    #[serde(default)]
    terms: Vec<S<String>>,
    max_lines: Option<usize>,
}

/// Turns spans into `SkillError::Line` naming the file.
struct Ctx<'a> {
    file: &'a str,
    idx: LineIndex<'a>,
    ids: HashMap<String, usize>,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, reason: impl std::fmt::Display) -> SkillError {
        let (line, column) = self.idx.position(span.start);
        SkillError::Line { line, reason: format!("{reason} ({}:{line}:{column})", self.file) }
    }

    fn globs(&self, list: Vec<S<String>>) -> Result<Vec<PathGlob>, SkillError> {
        list.into_iter()
            .map(|g| {
                let span = g.span();
                let raw = g.into_inner();
                let trimmed = raw.trim().trim_start_matches("./");
                if trimmed.is_empty() {
                    return Err(self.err(span, "empty path glob"));
                }
                // A directory written with a trailing slash means everything under it.
                let pattern = if trimmed.ends_with('/') { format!("{trimmed}**") } else { trimmed.to_owned() };
                let matcher = GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| self.err(span.clone(), format!("path glob {raw:?}: {e}")))?
                    .compile_matcher();
                Ok(PathGlob { glob: raw, matcher })
            })
            .collect()
    }

    fn term(&self, t: S<String>) -> Result<Term, SkillError> {
        let span = t.span();
        let term = t.into_inner();
        if term.trim().is_empty() {
            return Err(self.err(span, "empty term"));
        }
        let pattern = Regex::new(&format!("(?i){}", whole_word(term.trim())))
            .map_err(|e| self.err(span, format!("term {term:?} cannot be matched: {e}")))?;
        Ok(Term { term: term.trim().to_owned(), pattern })
    }

    fn terms(&self, list: Vec<S<String>>) -> Result<Vec<Term>, SkillError> {
        list.into_iter().map(|t| self.term(t)).collect()
    }

    /// Checks an id's form and uniqueness across the whole policy.
    fn id(&mut self, id: Option<S<String>>, default: String, span: Range<usize>) -> Result<String, SkillError> {
        let (value, span) = match id {
            Some(i) => (i.get_ref().trim().to_owned(), i.span()),
            None => (default, span),
        };
        let ok = (1..=96).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || "._:-/*".contains(c));
        if !ok {
            return Err(self.err(span, format!("rule id {value:?} must be 1..=96 characters of letters, digits and . _ - :")));
        }
        let (line, _) = self.idx.position(span.start);
        if let Some(first) = self.ids.insert(value.clone(), line) {
            return Err(self.err(span, format!("rule id {value:?} is used twice (first on line {first})")));
        }
        Ok(value)
    }
}

/// Parses a vision policy. Errors: empty or oversized file, TOML syntax errors, unknown keys,
/// invalid globs, empty terms, duplicate ids, rules with nothing to check — each with its line.
pub fn parse_policy(file: &str, text: &str) -> Result<VisionPolicy, SkillError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(SkillError::TooLarge { size: text.len(), limit: MAX_POLICY_BYTES });
    }
    if text.trim().is_empty() {
        return Err(SkillError::Empty);
    }
    let mut ctx = Ctx { file, idx: LineIndex::new(text), ids: HashMap::new() };
    let raw: RawPolicy = toml::from_str(text).map_err(|e| ctx.err(e.span().unwrap_or(0..0), e.message().trim()))?;
    if let Some(v) = &raw.version
        && *v.get_ref() != 1
    {
        return Err(ctx.err(v.span(), format!("unsupported policy version {}; this build reads version 1", v.get_ref())));
    }

    let mut principles = Vec::new();
    for p in raw.layer1.map(|l| l.principles).unwrap_or_default() {
        let span = p.span();
        let p = p.into_inner();
        let id_span = p.id.span();
        let id = ctx.id(Some(p.id), String::new(), id_span)?;
        if p.statement.get_ref().trim().is_empty() {
            return Err(ctx.err(p.statement.span(), format!("principle {id:?} has an empty statement")));
        }
        if p.protected_paths.is_empty() && p.banned_terms.is_empty() {
            return Err(ctx.err(span, format!("principle {id:?} has no protected_paths or banned_terms to check")));
        }
        principles.push(Principle {
            id,
            statement: p.statement.into_inner().trim().to_owned(),
            protected_paths: ctx.globs(p.protected_paths)?,
            banned_terms: ctx.terms(p.banned_terms)?,
            paths: ctx.globs(p.paths)?,
        });
    }

    let l2 = raw.layer2.unwrap_or_default();
    let forbidden_paths = ctx.globs(l2.forbidden_paths)?;
    let mut forbidden_extensions = Vec::new();
    for e in l2.forbidden_extensions {
        let ext = e.get_ref().trim().trim_start_matches('.').to_lowercase();
        if ext.is_empty() || ext.contains(['/', '\\']) {
            return Err(ctx.err(e.span(), format!("{:?} is not a file extension", e.get_ref())));
        }
        forbidden_extensions.push(ext);
    }
    let mut docs = Vec::new();
    for d in l2.docs {
        let span = d.span();
        let d = d.into_inner();
        if d.paths.is_empty() {
            return Err(ctx.err(span, "a [[layer2.docs]] rule needs paths"));
        }
        if d.front_matter.is_empty() && d.header.is_none() {
            return Err(ctx.err(span, "a [[layer2.docs]] rule needs front_matter keys or a header"));
        }
        let default = format!("docs:{}", d.paths.first().map_or("", |p| p.get_ref().as_str()));
        let id = ctx.id(d.id, default, span.clone())?;
        let mut keys = Vec::new();
        for k in d.front_matter {
            let key = k.get_ref().trim().to_owned();
            if key.is_empty() || key.contains([':', '=', ' ']) {
                return Err(ctx.err(k.span(), format!("{:?} is not a front matter key", k.get_ref())));
            }
            keys.push(key);
        }
        let header = match d.header {
            Some(h) if h.get_ref().trim().is_empty() => return Err(ctx.err(h.span(), "empty header")),
            Some(h) => Some(h.into_inner().trim().to_owned()),
            None => None,
        };
        docs.push(DocRule { id, paths: ctx.globs(d.paths)?, front_matter: keys, header });
    }
    let mut banned_terms = Vec::new();
    for b in l2.banned_terms {
        let span = b.span();
        let b = b.into_inner();
        let default = format!("banned-term:{}", b.term.get_ref().trim().to_lowercase().replace(' ', "-"));
        let id = ctx.id(b.id, default, span)?;
        banned_terms.push(BannedTerm {
            id,
            term: ctx.term(b.term)?,
            replacement: b.replacement,
            reason: b.reason,
            paths: ctx.globs(b.paths)?,
        });
    }
    let mut required_terms = Vec::new();
    for r in l2.required_terms {
        let span = r.span();
        let r = r.into_inner();
        if r.paths.is_empty() {
            return Err(ctx.err(span, "a [[layer2.required_terms]] rule needs paths"));
        }
        let default = format!("required-term:{}", r.term.get_ref().trim().to_lowercase().replace(' ', "-"));
        let id = ctx.id(r.id, default, span)?;
        required_terms.push(RequiredTerm { id, term: ctx.term(r.term)?, reason: r.reason, paths: ctx.globs(r.paths)? });
    }

    let (phase, raw_guidance) = raw.layer3.map_or((None, Vec::new()), |l| (l.phase.filter(|p| !p.trim().is_empty()), l.guidance));
    let mut guidance = Vec::new();
    for g in raw_guidance {
        let g = g.into_inner();
        let id_span = g.id.span();
        let id = ctx.id(Some(g.id), String::new(), id_span)?;
        if g.message.get_ref().trim().is_empty() {
            return Err(ctx.err(g.message.span(), format!("guidance {id:?} has an empty message")));
        }
        guidance.push(Guidance {
            id,
            message: g.message.into_inner().trim().to_owned(),
            paths: ctx.globs(g.paths)?,
            terms: ctx.terms(g.terms)?,
            max_lines: g.max_lines,
        });
    }

    let policy = VisionPolicy {
        file: file.to_owned(),
        phase,
        principles,
        forbidden_paths,
        forbidden_extensions,
        docs,
        banned_terms,
        required_terms,
        guidance,
    };
    let empty = policy.principles.is_empty()
        && policy.forbidden_paths.is_empty()
        && policy.forbidden_extensions.is_empty()
        && policy.docs.is_empty()
        && policy.banned_terms.is_empty()
        && policy.required_terms.is_empty()
        && policy.guidance.is_empty();
    if empty {
        return Err(ctx.err(0..0, "the policy has no rules: add [[layer1.principles]], [layer2] rules or [[layer3.guidance]]"));
    }
    Ok(policy)
}
