//! WowVision Prime's three-layer vision policy: a TOML file in the customer's repository
//! (conventionally `.waooaw/vision.toml`) that changes and pull requests are checked against.
//!
//! ```toml
//! version = 1
//!
//! # Layer 1: immutable principles. Any violation escalates to a human.
//! [[layer1.principles]]
//! id = "patient-privacy"
//! statement = "Real patient data never enters the repository."
//! protected_paths = ["LICENSE", "docs/vision/**"]   # any change to these (add, modify, remove)
//! banned_terms = ["patient_ssn"]                    # in the content of any changed file...
//! paths = ["src/**"]                                # ...or only of files under these globs
//!
//! # Layer 2: policies enforced automatically (the PR is rejected).
//! [layer2]
//! forbidden_paths = ["infra/prod/**"]           # no adds or edits here in this phase
//! forbidden_extensions = ["exe", "pem"]
//!
//! [[layer2.docs]]
//! paths = ["docs/**/*.md"]
//! front_matter = ["title", "owner"]             # YAML (---) or TOML (+++) front matter keys
//! header = "<!-- reviewed -->"                  # first line after the front matter starts with it
//!
//! [[layer2.banned_terms]]
//! term = "whitelist"
//! replacement = "allowlist"
//! paths = ["**"]                                # optional, default everywhere
//!
//! [[layer2.required_terms]]
//! paths = ["src/**/*.rs"]
//! term = "SPDX-License-Identifier"
//!
//! # Layer 3: guidance for the current phase (advisory only).
//! [layer3]
//! phase = "mvp"
//! [[layer3.guidance]]
//! id = "no-todo"
//! message = "Track TODOs as issues during the MVP."
//! terms = ["TODO"]        # advise where these appear (optional)
//! paths = ["src/**"]      # advise on files under these globs (optional)
//! max_lines = 400         # advise on longer files (optional)
//! ```
//!
//! Globs are matched against repository-relative paths with `/` separators; `*` stays within one
//! directory and `**` crosses directories. Terms match case-insensitively as whole words. Rules
//! without an `id` get one from their kind and subject (`banned-term:whitelist`).
//!
//! A violation's fingerprint is the hex SHA-256 of its layer, rule id, path and matched text
//! (lower-cased), so the same problem in the same file keeps its fingerprint when lines move,
//! and repeated occurrences collapse into one violation (with a count): one issue per distinct
//! violation.

mod check;
mod comment;
mod parse;

pub use check::{check_change, check_pull_request};
pub use parse::{MAX_POLICY_BYTES, parse_policy};

use globset::GlobMatcher;
use regex::Regex;
use serde::{Deserialize, Serialize, Serializer};

/// Largest changed file scanned for terms and headers (4 MiB); larger ones are a layer-2
/// violation rather than a silent skip.
pub const MAX_SCAN_BYTES: usize = 4 * 1024 * 1024;

/// The three layers. Serialized as 1, 2, 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Immutable principles: violations always go to a human.
    Principle = 1,
    /// Enforced policies: violations reject the change.
    Policy = 2,
    /// Guidance for the current phase: advisory.
    Guidance = 3,
}

impl Layer {
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl Serialize for Layer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

/// A glob as written plus its matcher.
#[derive(Debug, Clone)]
pub struct PathGlob {
    pub glob: String,
    pub(crate) matcher: GlobMatcher,
}

/// A term as written plus its whole-word, case-insensitive pattern.
#[derive(Debug, Clone)]
pub struct Term {
    pub term: String,
    pub(crate) pattern: Regex,
}

#[derive(Debug, Clone)]
pub struct Principle {
    pub id: String,
    pub statement: String,
    pub protected_paths: Vec<PathGlob>,
    pub banned_terms: Vec<Term>,
    /// Where banned terms apply; empty means every file.
    pub paths: Vec<PathGlob>,
}

#[derive(Debug, Clone)]
pub struct DocRule {
    pub id: String,
    pub paths: Vec<PathGlob>,
    pub front_matter: Vec<String>,
    pub header: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BannedTerm {
    pub id: String,
    pub term: Term,
    pub replacement: Option<String>,
    pub reason: Option<String>,
    pub paths: Vec<PathGlob>,
}

#[derive(Debug, Clone)]
pub struct RequiredTerm {
    pub id: String,
    pub term: Term,
    pub reason: Option<String>,
    pub paths: Vec<PathGlob>,
}

#[derive(Debug, Clone)]
pub struct Guidance {
    pub id: String,
    pub message: String,
    pub paths: Vec<PathGlob>,
    pub terms: Vec<Term>,
    pub max_lines: Option<usize>,
}

impl Guidance {
    /// Guidance with nothing to match is a general reminder for the PR comment.
    pub fn is_reminder(&self) -> bool {
        self.paths.is_empty() && self.terms.is_empty() && self.max_lines.is_none()
    }
}

/// A parsed, validated vision policy.
#[derive(Debug, Clone)]
pub struct VisionPolicy {
    /// The policy file's path, for messages.
    pub file: String,
    pub phase: Option<String>,
    pub principles: Vec<Principle>,
    pub forbidden_paths: Vec<PathGlob>,
    /// Lower-case, without the dot.
    pub forbidden_extensions: Vec<String>,
    pub docs: Vec<DocRule>,
    pub banned_terms: Vec<BannedTerm>,
    pub required_terms: Vec<RequiredTerm>,
    pub guidance: Vec<Guidance>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    Added,
    Modified,
    Removed,
}

/// One changed file. `content` is the new text (none for removed or binary files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileChange {
    pub path: String,
    pub status: ChangeStatus,
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub files: Vec<FileChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub layer: Layer,
    pub rule_id: String,
    pub path: String,
    /// 1-based line of the first occurrence, when the problem has a line.
    pub line: Option<usize>,
    pub message: String,
    pub fix: String,
    /// Hex SHA-256 of (layer, rule id, path, matched text): the deduplication key.
    pub fingerprint: String,
    /// Layer 1: a human must decide.
    pub escalate: bool,
    /// How many times the same problem occurs in the file.
    pub occurrences: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrVerdict {
    pub number: u64,
    /// No layer-1 or layer-2 violation.
    pub approve: bool,
    /// A layer-1 principle is violated: a human decides.
    pub escalate: bool,
    pub violations: Vec<Violation>,
    pub comment_markdown: String,
}

#[cfg(test)]
mod tests;
