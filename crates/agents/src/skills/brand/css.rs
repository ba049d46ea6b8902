//! Finding colour values in CSS with `cssparser` (Servo's CSS tokenizer and rule parser), so
//! comments, strings, `url(#id)` and selectors such as `#fade` are never mistaken for colours.
//!
//! Hex and functional colours (`rgb()`, `hsl()`, `hwb()`, `lab()`, `lch()`, `oklab()`,
//! `oklch()`, `color()`) count in any declaration value; named colours (`red`, `teal`...) only in
//! properties that take a colour, so `font-family: Orange Sans` is not orange.

use cssparser::color::{parse_hash_color, parse_named_color};
use cssparser::{
    AtRuleParser, CowRcStr, DeclarationParser, ParseError, Parser, ParserState, QualifiedRuleParser, RuleBodyItemParser, RuleBodyParser,
    SourceLocation, StyleSheetParser, Token,
};
use cssparser_color::Color;

use super::colour::{Rgba, to_rgba};

/// One colour value in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub line: usize,
    /// As written, e.g. `rgb(255, 87, 51)`.
    pub text: String,
    pub rgba: Rgba,
    /// Where: `.btn-primary:hover { background-color }`, `style="" on <a>`...
    pub context: String,
}

/// Something in the CSS that could not be read or checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub found: Vec<Found>,
    pub problems: Vec<Problem>,
}

/// Scans a stylesheet (a `.css` file or a `<style>` block) whose first line is `first_line`.
pub(crate) fn scan_stylesheet(css: &str, first_line: usize, scan: &mut Scan) {
    let mut parser = Parser::new(css);
    let mut walker = Walker { scan, first_line, selector: String::new(), nested: true };
    let mut errors = Vec::new();
    for item in StyleSheetParser::new(&mut parser, &mut walker) {
        if let Err((_, slice, at)) = item {
            errors.push((slice.to_string(), at));
        }
    }
    walker.report(errors);
}

/// Scans a declaration list (a `style=""` attribute) found on `line`.
pub(crate) fn scan_declarations(css: &str, line: usize, context: &str, scan: &mut Scan) {
    let mut parser = Parser::new(css);
    let mut walker = Walker { scan, first_line: line, selector: context.to_string(), nested: false };
    let mut errors = Vec::new();
    for item in RuleBodyParser::new(&mut parser, &mut walker) {
        if let Err((_, slice, at)) = item {
            errors.push((slice.to_string(), at));
        }
    }
    walker.report(errors);
}

/// Scans one value that must be a colour (`bgcolor="..."`, `fill="..."`) found on `line`.
pub(crate) fn scan_colour_value(value: &str, line: usize, context: &str, scan: &mut Scan) {
    let mut parser = Parser::new(value);
    let mut walker = Walker { scan, first_line: line, selector: String::new(), nested: false };
    walker.value(&mut parser, "color", context);
}

/// Properties whose value is or contains a colour.
fn takes_colour(property: &str) -> bool {
    let p = property.to_ascii_lowercase();
    p.starts_with("--")
        || p.contains("color")
        || p.starts_with("border")
        || p.starts_with("outline")
        || p.starts_with("text-decoration")
        || p.starts_with("text-emphasis")
        || p.starts_with("column-rule")
        || matches!(p.as_str(), "background" | "box-shadow" | "text-shadow" | "fill" | "stroke" | "caret" | "scrollbar-color")
}

fn is_colour_function(name: &str) -> bool {
    ["rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color"].iter().any(|f| name.eq_ignore_ascii_case(f))
}

struct Walker<'s> {
    scan: &'s mut Scan,
    first_line: usize,
    /// The rule's selector (or the context given by the caller).
    selector: String,
    /// Whether blocks may hold nested rules (stylesheets) or only declarations (attributes).
    nested: bool,
}

impl Walker<'_> {
    fn line(&self, at: SourceLocation) -> usize {
        self.first_line + usize::try_from(at.line).unwrap_or(0)
    }

    fn report(&mut self, errors: Vec<(String, SourceLocation)>) {
        for (slice, at) in errors {
            let text: String = slice.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() {
                continue;
            }
            let shown: String = text.chars().take(60).collect();
            let line = self.line(at);
            self.scan.problems.push(Problem { line, message: format!("unreadable CSS skipped by browsers: `{shown}`") });
        }
    }

    fn push(&mut self, at: SourceLocation, text: &str, rgba: Rgba, context: &str) {
        // Fully transparent values paint nothing, so they have no brand colour to check.
        if rgba.a <= 0.0 {
            return;
        }
        let line = self.line(at);
        self.scan.found.push(Found { line, text: text.trim().to_string(), rgba, context: context.to_string() });
    }

    /// Every colour in one declaration value (recursing into functions such as gradients).
    fn value(&mut self, input: &mut Parser<'_>, property: &str, context: &str) {
        let named_ok = takes_colour(property);
        loop {
            let state = input.state();
            let at = input.current_source_location();
            let Ok(token) = input.next().cloned() else { break };
            match token {
                Token::Hash(ref v) | Token::IDHash(ref v) => match parse_hash_color(v.as_bytes()) {
                    Ok((r, g, b, a)) => self.push(at, &format!("#{}", &**v), Rgba { r, g, b, a }, context),
                    Err(()) if named_ok => {
                        let line = self.line(at);
                        self.scan.problems.push(Problem { line, message: format!("`#{}` in {context} is not a valid hex colour", &**v) });
                    }
                    Err(()) => {}
                },
                Token::Ident(ref name) if named_ok => {
                    let lower = name.to_ascii_lowercase();
                    if let Ok((r, g, b)) = parse_named_color(&lower) {
                        self.push(at, name, Rgba::opaque(r, g, b), context);
                    }
                }
                Token::Function(ref name) if is_colour_function(name) => self.function(input, &state, at, context),
                Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                    let _ = input.parse_nested_block(|nested| {
                        self.value(nested, property, context);
                        Ok::<(), ParseError<()>>(())
                    });
                }
                _ => {}
            }
        }
    }

    /// A colour function: parsed whole by cssparser-color from its start.
    fn function(&mut self, input: &mut Parser<'_>, start: &ParserState, at: SourceLocation, context: &str) {
        input.reset(start);
        let parsed = Color::parse(input);
        let text = input.slice_from(start.position()).to_string();
        match parsed {
            Ok(color) => match to_rgba(&color) {
                Ok(Some(rgba)) => self.push(at, &text, rgba, context),
                Ok(None) => {}
                Err(why) => {
                    let line = self.line(at);
                    self.scan.problems.push(Problem { line, message: format!("`{}` in {context}: {why}", text.trim()) });
                }
            },
            Err(_) => {
                // Skip the whole malformed function, whatever is left of it.
                input.reset(start);
                let _ = input.next();
                let _ = input.parse_nested_block(|nested| {
                    while nested.next().is_ok() {}
                    Ok::<(), ParseError<()>>(())
                });
                let text: String = input.slice_from(start.position()).chars().take(60).collect();
                let line = self.line(at);
                self.scan.problems.push(Problem { line, message: format!("`{}` in {context} is not a valid colour", text.trim()) });
            }
        }
    }
}

impl<'i> DeclarationParser<'i> for Walker<'_> {
    type Declaration = ();
    type Error = ();

    fn parse_value(&mut self, name: CowRcStr<'i>, input: &mut Parser<'i>, _start: &ParserState) -> Result<(), ParseError<()>> {
        let context = if self.nested { format!("{} {{ {} }}", self.selector, &*name) } else { format!("{} ({})", self.selector, &*name) };
        self.value(input, &name, &context);
        Ok(())
    }
}

impl<'i> QualifiedRuleParser<'i> for Walker<'_> {
    type Prelude = String;
    type QualifiedRule = ();
    type Error = ();

    fn parse_prelude(&mut self, input: &mut Parser<'i>) -> Result<String, ParseError<()>> {
        let start = input.position();
        while input.next().is_ok() {}
        Ok(input.slice_from(start).split_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn parse_block(&mut self, prelude: String, _start: &ParserState, input: &mut Parser<'i>) -> Result<(), ParseError<()>> {
        let outer = std::mem::replace(&mut self.selector, prelude);
        self.body(input);
        self.selector = outer;
        Ok(())
    }
}

impl<'i> AtRuleParser<'i> for Walker<'_> {
    type Prelude = String;
    type AtRule = ();
    type Error = ();

    fn parse_prelude(&mut self, name: CowRcStr<'i>, input: &mut Parser<'i>) -> Result<String, ParseError<()>> {
        let start = input.position();
        while input.next().is_ok() {}
        let rest = input.slice_from(start).split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(format!("@{} {rest}", &*name).trim_end().to_string())
    }

    fn rule_without_block(&mut self, _prelude: String, _start: &ParserState) -> Result<(), ()> {
        Ok(())
    }

    /// `@media`, `@supports`, `@font-face`, `@keyframes`...: their blocks hold rules or
    /// declarations, walked the same way; the at-rule names the context when there is no selector.
    fn parse_block(&mut self, prelude: String, _start: &ParserState, input: &mut Parser<'i>) -> Result<(), ParseError<()>> {
        let outer = std::mem::replace(&mut self.selector, prelude);
        self.body(input);
        self.selector = outer;
        Ok(())
    }
}

impl<'i> RuleBodyItemParser<'i, (), ()> for Walker<'_> {
    fn parse_declarations(&self) -> bool {
        true
    }
    fn parse_qualified(&self) -> bool {
        self.nested
    }
}

impl Walker<'_> {
    fn body(&mut self, input: &mut Parser<'_>) {
        let mut errors = Vec::new();
        for item in RuleBodyParser::new(input, self) {
            if let Err((_, slice, at)) = item {
                errors.push((slice.to_string(), at));
            }
        }
        self.report(errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(css: &str) -> Scan {
        let mut scan = Scan::default();
        scan_stylesheet(css, 1, &mut scan);
        scan
    }

    fn found(scan: &Scan) -> Vec<(usize, String, String)> {
        scan.found.iter().map(|f| (f.line, f.text.clone(), f.rgba.hex())).collect()
    }

    #[test]
    fn colours_with_lines_and_contexts() {
        let css = "/* #ff0000 in a comment */\n#fade .btn, a:hover {\n  color: #FFF;\n  background: linear-gradient(90deg, rgb(31 77 58), hsl(0 100% 50% / .5));\n  content: \"#abc\";\n  background-image: url(#mask);\n}\n@media (max-width: 600px) {\n  .x { border: 1px solid Teal; font-family: Orange, serif }\n}";
        let scan = sheet(css);
        assert_eq!(
            found(&scan),
            vec![
                (3, "#FFF".into(), "#ffffff".into()),
                (4, "rgb(31 77 58)".into(), "#1f4d3a".into()),
                (4, "hsl(0 100% 50% / .5)".into(), "#ff000080".into()),
                (9, "Teal".into(), "#008080".into()),
            ]
        );
        assert_eq!(scan.found[0].context, "#fade .btn, a:hover { color }");
        assert_eq!(scan.found[3].context, ".x { border }");
        assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    }

    #[test]
    fn malformed_css_reported_not_fatal() {
        let css = ".a { color: #12345; }\n.b { color red; background: rgb(1, 2); }\n.c { color: #00ff00 }\n.d { color: transparent; fill: currentColor }";
        let scan = sheet(css);
        assert_eq!(found(&scan), vec![(3, "#00ff00".into(), "#00ff00".into())]);
        let problems: Vec<(usize, &str)> = scan.problems.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            problems,
            vec![
                (1, "`#12345` in .a { color } is not a valid hex colour"),
                (2, "`rgb(1, 2)` in .b { background } is not a valid colour"),
                (2, "unreadable CSS skipped by browsers: `color red;`"),
            ]
        );
    }

    #[test]
    fn declarations_and_single_values() {
        let mut scan = Scan::default();
        scan_declarations("color:#c0392b; background-color: rgba(0,0,0,0)", 7, "style on <a>", &mut scan);
        scan_colour_value("#1F4D3A", 9, "fill on <path>", &mut scan);
        assert_eq!(found(&scan), vec![(7, "#c0392b".into(), "#c0392b".into()), (9, "#1F4D3A".into(), "#1f4d3a".into())]);
        assert_eq!(scan.found[0].context, "style on <a> (color)");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let css = format!(".a {{ color: {}#fff{} }}", "calc(".repeat(500), ")".repeat(500));
        let _ = sheet(&css);
    }
}
