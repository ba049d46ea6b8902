//! HTML parsing that remembers where things are.
//!
//! Parser choice: `scraper` over `html5ever` (Servo's WHATWG-conformant parser, both maintained by
//! the rust-scraper/Servo projects). A conformant parser builds the same tree a browser — and a
//! search engine's renderer — would build from broken markup (unclosed tags, stray end tags), and
//! html5ever reports each parse error with the line it was found on. `tl` is faster but is not a
//! conformant tree builder and reports no errors; `lol_html` streams and rewrites but builds no
//! tree. `scraper` adds a small arena tree on top of html5ever; its `cssparser` dependency is the
//! same one the brand skill uses to read CSS, so the two skills share one parser stack.
//!
//! `LineSink` wraps scraper's tree sink to record the source line of every element and parse
//! error, which scraper alone does not keep.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::LazyLock;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeBuilderOpts, TreeSink};
use html5ever::{Attribute, ParseOpts, QualName};
use regex::Regex;
use scraper::{ElementRef, Html, HtmlTreeSink, Node};
use serde::Serialize;

use crate::skills::SkillError;

/// Largest HTML or CSS upload a skill reads (5 MiB).
pub(crate) const MAX_BYTES: usize = 5 * 1024 * 1024;

pub(crate) type NodeId = <HtmlTreeSink as TreeSink>::Handle;

/// Checks an upload is usable text: not empty, within `limit`, UTF-8 without NUL bytes (a NUL
/// means a binary file that happens to decode). A leading byte-order mark is dropped.
pub(crate) fn text_input(bytes: &[u8], limit: usize) -> Result<&str, SkillError> {
    if bytes.len() > limit {
        return Err(SkillError::TooLarge { size: bytes.len(), limit });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| SkillError::NotText { offset: e.valid_up_to() })?;
    if let Some(offset) = text.find('\0') {
        return Err(SkillError::NotText { offset });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(SkillError::Empty);
    }
    Ok(text)
}

/// One error the HTML parser reported, with the line it was on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseIssue {
    pub line: usize,
    pub message: String,
}

/// A parsed document plus the source line of each element.
pub(crate) struct Document {
    pub html: Html,
    lines: HashMap<NodeId, usize>,
    pub errors: Vec<ParseIssue>,
}

impl Document {
    /// The line of the end of the element's start tag (where the parser emitted it); elements the
    /// parser invented (an implied `<body>`) get the line where they were implied.
    pub fn line(&self, el: &ElementRef<'_>) -> usize {
        self.lines.get(&el.id()).copied().unwrap_or(1)
    }

    /// Every element in document order.
    pub fn elements(&self) -> impl Iterator<Item = ElementRef<'_>> {
        self.html.tree.root().descendants().filter_map(ElementRef::wrap)
    }

    /// Elements with this (lower-case) tag name, in document order.
    pub fn by_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = ElementRef<'a>> + 'a {
        self.elements().filter(move |e| e.value().name() == tag)
    }
}

/// Parses leniently, as a browser would; never fails.
pub(crate) fn parse(text: &str) -> Document {
    let sink = LineSink {
        inner: HtmlTreeSink::new(Html::new_document()),
        line: Cell::new(1),
        lines: RefCell::new(HashMap::new()),
        errors: RefCell::new(Vec::new()),
    };
    // Exact errors name the offending token, which is what a person needs to find it.
    let opts = ParseOpts { tree_builder: TreeBuilderOpts { exact_errors: true, ..Default::default() }, ..Default::default() };
    html5ever::parse_document(sink, opts).one(text)
}

/// Whitespace runs collapsed to one space and trimmed, as a browser shows text.
pub(crate) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The element's text content, whitespace-collapsed. Text nodes are joined with a space so that
/// cells and paragraphs swallowed by an unclosed element do not run together.
pub(crate) fn text_of(el: &ElementRef<'_>) -> String {
    collapse_ws(&el.text().collect::<Vec<_>>().join(" "))
}

/// A short start tag naming the element for a finding, e.g. `<img src="/a.jpg">`.
pub(crate) fn describe(el: &ElementRef<'_>, attr: &str) -> String {
    let name = el.value().name();
    match el.value().attr(attr) {
        Some(v) => format!("<{name} {attr}=\"{}\">", shorten(v, 80)),
        None => format!("<{name}>"),
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// True when the node is text inside an element whose content a reader never sees.
pub(crate) fn is_hidden_container(name: &str) -> bool {
    matches!(name, "script" | "style" | "noscript" | "template" | "head" | "title" | "svg" | "math" | "iframe" | "object")
}

/// Text nodes of `root` a visitor sees, in document order (not inside script, style, etc.).
/// An explicit stack keeps this linear however deep the tree is.
pub(crate) fn visible_text<'a>(root: ElementRef<'a>) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut stack = vec![*root];
    while let Some(node) = stack.pop() {
        match node.value() {
            Node::Text(t) => out.push(&*t.text),
            Node::Element(e) if is_hidden_container(e.name()) => continue,
            _ => {}
        }
        stack.extend(node.children().rev());
    }
    out
}

/// Upper bound on the parser's work from nesting, in element-depth steps (see `check_nesting`).
const MAX_NESTING_WORK: u64 = 50_000_000;

/// Elements that never nest: void elements, and those a following sibling closes implicitly.
fn adds_no_depth(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "param"
            | "p"
            | "li"
            | "dt"
            | "dd"
            | "option"
            | "optgroup"
            | "tr"
            | "td"
            | "th"
            | "thead"
            | "tbody"
            | "tfoot"
            | "html"
            | "head"
            | "body"
            | "!doctype"
    )
}

/// Rejects pages nested so deeply (thousands of unclosed tags) that parsing them would take
/// minutes: the HTML tree builder scans the stack of open elements for many start tags, so its
/// work grows with tags × depth. A quick scan estimates depth from start and end tags and sums it
/// over the start tags; real pages, even at 5 MiB, stay two orders of magnitude below the limit.
pub(crate) fn check_nesting(text: &str) -> Result<(), SkillError> {
    let bytes = text.as_bytes();
    let (mut depth, mut work, mut line, mut line_at) = (0u64, 0u64, 1usize, 0usize);
    let mut i = 0;
    while let Some(rel) = bytes.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'<')) {
        let at = i + rel;
        i = at + 1;
        let rest = bytes.get(i..).unwrap_or_default();
        if rest.starts_with(b"!--") {
            i = find(bytes, i, b"-->");
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = i + usize::from(closing);
        let name_len = bytes.get(name_start..).unwrap_or_default().iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-').count();
        if name_len == 0 {
            continue;
        }
        let name = text.get(name_start..name_start + name_len).unwrap_or_default().to_ascii_lowercase();
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        work += depth;
        if work > MAX_NESTING_WORK {
            line += bytes.get(line_at..at).unwrap_or_default().iter().filter(|&&b| b == b'\n').count();
            return Err(SkillError::Line {
                line,
                reason: format!(
                    "elements are nested about {depth} deep here (unclosed tags); a real page nests fewer than 100 — close the open tags"
                ),
            });
        }
        if matches!(name.as_str(), "script" | "style" | "textarea" | "title" | "xmp") {
            // Raw text: its "<div>" strings are not tags.
            i = find(bytes, i, format!("</{name}").as_bytes());
        } else if !adds_no_depth(&name) {
            depth += 1;
        }
        line += bytes.get(line_at..at).unwrap_or_default().iter().filter(|&&b| b == b'\n').count();
        line_at = at;
    }
    Ok(())
}

/// Index just past the next `needle` at or after `from` (case-insensitive), or the end.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)))
        .map_or(bytes.len(), |p| from + p + needle.len())
}

/// html5ever's exact errors embed Rust debug output of the token; this rewrites the common ones
/// ("Unexpected token Tag { kind: EndTag, name: Atom('div') ... } in insertion mode InBody") into
/// what a person reads ("unexpected </div> in <body>"). Unknown shapes pass through.
fn humanize_error(msg: &str) -> String {
    static TAG: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"kind: (StartTag|EndTag), name: Atom\(\\?'([^'\\]*)").ok());
    static MODE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r" in insertion mode (\w+)$").ok());
    if msg.starts_with("Bad DOCTYPE") {
        return "unusual DOCTYPE (use <!DOCTYPE html>)".to_string();
    }
    let Some(rest) = msg.strip_prefix("Unexpected token ") else { return msg.to_string() };
    let token = match TAG.as_ref().and_then(|re| re.captures(rest)) {
        Some(c) if c.get(1).is_some_and(|k| k.as_str() == "EndTag") => format!("end tag </{}>", c.get(2).map_or("", |m| m.as_str())),
        Some(c) => format!("<{}>", c.get(2).map_or("", |m| m.as_str())),
        None if rest.starts_with("Characters") || rest.starts_with("CharacterTokens") => "text".to_string(),
        None if rest.starts_with("EOF") => "end of file".to_string(),
        None if rest.starts_with("Comment") => "comment".to_string(),
        None => return shorten(msg, 80),
    };
    let mode = MODE.as_ref().and_then(|re| re.captures(rest)).and_then(|c| c.get(1)).map_or("", |m| m.as_str());
    let place = match mode {
        "Initial" => return format!("no <!DOCTYPE html> before the first {token}"),
        "InHead" => "in <head>".to_string(),
        "AfterHead" => "after </head>".to_string(),
        "InBody" => "in <body>".to_string(),
        "InTable" | "InTableText" => "in a <table>".to_string(),
        "InTableBody" => "in a table body".to_string(),
        "InRow" => "in a table row".to_string(),
        "InCell" => "in a table cell".to_string(),
        "AfterBody" => "after </body>".to_string(),
        "AfterAfterBody" => "after </html>".to_string(),
        "" => String::new(),
        other => {
            // CamelCase mode names read as words: "InSelect" -> "in select".
            let mut words = String::new();
            for c in other.chars() {
                if c.is_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.extend(c.to_lowercase());
            }
            words
        }
    };
    if place.is_empty() { format!("unexpected {token}") } else { format!("unexpected {token} {place}") }
}

struct LineSink {
    inner: HtmlTreeSink,
    line: Cell<u64>,
    lines: RefCell<HashMap<NodeId, usize>>,
    errors: RefCell<Vec<ParseIssue>>,
}

impl LineSink {
    fn current_line(&self) -> usize {
        usize::try_from(self.line.get()).unwrap_or(usize::MAX)
    }
}

impl TreeSink for LineSink {
    type Handle = NodeId;
    type Output = Document;
    type ElemName<'a>
        = <HtmlTreeSink as TreeSink>::ElemName<'a>
    where
        Self: 'a;

    fn finish(self) -> Document {
        Document { html: self.inner.finish(), lines: self.lines.into_inner(), errors: self.errors.into_inner() }
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        let message = shorten(&humanize_error(&msg), 160);
        self.errors.borrow_mut().push(ParseIssue { line: self.current_line(), message });
    }

    fn set_current_line(&self, line_number: u64) {
        self.line.set(line_number);
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        let id = self.inner.create_element(name, attrs, flags);
        self.lines.borrow_mut().insert(id, self.current_line());
        id
    }

    fn get_document(&self) -> NodeId {
        self.inner.get_document()
    }
    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }
    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.inner.create_comment(text)
    }
    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        self.inner.create_pi(target, data)
    }
    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.inner.append(parent, child)
    }
    fn append_based_on_parent_node(&self, element: &NodeId, prev_element: &NodeId, child: NodeOrText<NodeId>) {
        self.inner.append_based_on_parent_node(element, prev_element, child)
    }
    fn append_doctype_to_document(&self, name: StrTendril, public_id: StrTendril, system_id: StrTendril) {
        self.inner.append_doctype_to_document(name, public_id, system_id)
    }
    fn mark_script_already_started(&self, node: &NodeId) {
        self.inner.mark_script_already_started(node)
    }
    fn pop(&self, node: &NodeId) {
        self.inner.pop(node)
    }
    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.inner.get_template_contents(target)
    }
    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        self.inner.same_node(x, y)
    }
    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode)
    }
    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        self.inner.append_before_sibling(sibling, new_node)
    }
    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs)
    }
    fn associate_with_form(&self, target: &NodeId, form: &NodeId, nodes: (&NodeId, Option<&NodeId>)) {
        self.inner.associate_with_form(target, form, nodes)
    }
    fn remove_from_parent(&self, target: &NodeId) {
        self.inner.remove_from_parent(target)
    }
    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        self.inner.reparent_children(node, new_parent)
    }
    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.inner.is_mathml_annotation_xml_integration_point(handle)
    }
    fn allow_declarative_shadow_roots(&self, intended_parent: &NodeId) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }
    fn attach_declarative_shadow(&self, location: &NodeId, template: &NodeId, attrs: &[Attribute]) -> bool {
        self.inner.attach_declarative_shadow(location, template, attrs)
    }
    fn maybe_clone_an_option_into_selectedcontent(&self, option: &NodeId) {
        self.inner.maybe_clone_an_option_into_selectedcontent(option)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_checks() {
        assert_eq!(text_input(b"", 10), Err(SkillError::Empty));
        assert_eq!(text_input(b"  \n\t", 10), Err(SkillError::Empty));
        assert_eq!(text_input(b"0123456789A", 10), Err(SkillError::TooLarge { size: 11, limit: 10 }));
        assert_eq!(text_input(b"ab\xffcd", 10), Err(SkillError::NotText { offset: 2 }));
        assert_eq!(text_input(b"abc\0", 10), Err(SkillError::NotText { offset: 3 }));
        assert_eq!(text_input("\u{feff}<p>".as_bytes(), 10), Ok("<p>"));
    }

    #[test]
    fn lines_of_elements_and_errors() {
        let doc = parse("<!DOCTYPE html>\n<html>\n<body>\n<p>one</p>\n\n<img\n  src=a.jpg>\n</div>\n</body></html>");
        let p = doc.by_tag("p").next().unwrap();
        assert_eq!(doc.line(&p), 4);
        // A start tag spanning lines is placed on the line where it ends.
        let img = doc.by_tag("img").next().unwrap();
        assert_eq!(doc.line(&img), 7);
        assert_eq!(doc.errors.len(), 1, "{:?}", doc.errors);
        assert_eq!(doc.errors[0], ParseIssue { line: 8, message: "unexpected end tag </div> in <body>".into() });
    }

    #[test]
    fn errors_read_as_sentences() {
        let doc = parse("<html>\n<body><p>x</p></body></html>\n<p>after</p>");
        let messages: Vec<&str> = doc.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, vec!["no <!DOCTYPE html> before the first <html>", "unexpected <p> after </html>"]);
    }

    #[test]
    fn pathological_nesting_rejected_real_nesting_not() {
        let deep = format!("<!DOCTYPE html>\n<body>\n{}x", "<div>".repeat(12_000));
        match check_nesting(&deep) {
            Err(SkillError::Line { line, reason }) => assert!(line == 3 && reason.contains("nested about"), "{line} {reason}"),
            other => panic!("{other:?}"),
        }
        // The same number of divs, closed, or unclosed <p>/<li>, or "<div>" inside a script: fine.
        assert_eq!(check_nesting(&"<div><p>x</div>".repeat(50_000)), Ok(()));
        assert_eq!(check_nesting(&format!("<ul>{}</ul>", "<li><p>item".repeat(50_000))), Ok(()));
        assert_eq!(check_nesting(&format!("<script>{}</script><div>", "'<div>'+".repeat(50_000))), Ok(()));
        assert_eq!(check_nesting(&format!("<!--{}-->", "<div>".repeat(50_000))), Ok(()));
    }

    #[test]
    fn visible_text_skips_scripts_and_head() {
        let doc = parse("<html><head><title>T</title></head><body><p>a <b>b</b></p><script>x()</script><style>p{}</style></body></html>");
        let text: Vec<&str> = visible_text(doc.html.root_element());
        assert_eq!(text.concat(), "a b");
    }
}
