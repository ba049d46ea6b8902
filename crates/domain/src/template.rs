//! The template syntax of spec files: literal text with `{name}` placeholders from a fixed list
//! per use (`{{` and `}}` for literal braces). Prompts (`[prompts]`) and outputs (`[outputs]`)
//! share it. Hand-written: the grammar is a few names in braces, smaller than any template
//! engine's configuration, and a spec error must name the unknown placeholder.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{name}}}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("unclosed `{{` at byte {0} (write `{{{{` for a literal brace)")]
    Unclosed(usize),
    #[error("lone `}}` at byte {0} (write `}}}}` for a literal brace)")]
    LoneClose(usize),
    #[error("the template never uses {{brief}}: the model would not know what to write")]
    NoBrief,
    #[error("the template is empty")]
    Empty,
}

pub(crate) enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// Splits a template into literal text and placeholders, refusing names not in `known`.
pub(crate) fn pieces<'a>(t: &'a str, known: &[&str]) -> Result<Vec<Piece<'a>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = t;
    let mut offset = 0;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(Piece::Text(&tail[..1]));
            rest = &tail[2..];
            offset += i + 2;
            continue;
        }
        if tail.starts_with('}') {
            return Err(TemplateError::LoneClose(offset + i));
        }
        let close = tail.find('}').ok_or(TemplateError::Unclosed(offset + i))?;
        let name = &tail[1..close];
        if !known.contains(&name) {
            let known = known.iter().map(|k| format!("{{{k}}}")).collect::<Vec<_>>().join(", ");
            return Err(TemplateError::Unknown { name: name.to_owned(), known });
        }
        out.push(Piece::Slot(name));
        rest = &tail[close + 1..];
        offset += i + close + 1;
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Renders a checked template; `value` gives each placeholder's text.
pub(crate) fn render(t: &str, known: &[&str], value: impl Fn(&str) -> String) -> String {
    // Checked at load, so this cannot fail; an error renders the raw text rather than panic.
    let Ok(parts) = pieces(t, known) else { return t.to_owned() };
    let mut out = String::with_capacity(t.len() + 64);
    for p in parts {
        match p {
            Piece::Text(s) => out.push_str(s),
            Piece::Slot(name) => out.push_str(&value(name)),
        }
    }
    out
}
