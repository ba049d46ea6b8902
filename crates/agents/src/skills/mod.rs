//! Skills: deterministic functions agents compose. Each takes the customer's real input (text,
//! HTML, CSV), returns a typed report (`Serialize`, with `to_markdown` for deliverables) or a
//! `SkillError` that says what was wrong with the input. No I/O, no LLM.

pub mod brand;
pub mod content;
pub mod crm;
pub mod csv_input;
pub mod email;
pub mod html;
pub mod influencer;
pub mod leads;
pub mod pipeline;
pub mod policy;
pub mod ppc;
pub mod social;
pub mod success;
pub mod support;

/// Why a skill could not run on its input. Messages name the file part at fault (line, column,
/// field) so the deliverable can say what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkillError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the input is not valid UTF-8 text (first bad byte at offset {offset})")]
    NotText { offset: usize },
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("{0}")]
    Invalid(String),
}
