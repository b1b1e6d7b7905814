//! The shape of a YAML text as byte ranges, read from the parser's events: every node, its
//! parent, whether it is a mapping key, a mapping value or a list item, and the bytes that
//! hold it in its parent (a whole `key: value` entry, a list item with its `-` or its comma).
//! `recover` uses it to find the node an error points at and what to blank to remove it.
//! Nothing here deserializes, judges a value, or changes the text.

use std::ops::Range;

use granit_parser::{Event, Parser, StrInput, StructureStyle};

/// Where a node sits in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Root,
    Key,
    Value,
    Item,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Scalar,
    Alias,
    Mapping,
    Sequence,
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub kind: Kind,
    pub role: Role,
    pub parent: Option<usize>,
    /// How many collections hold it.
    pub depth: usize,
    /// Where the node itself starts: what the deserializer's errors point at.
    pub content_start: usize,
    /// The first byte of the node with its properties (`&anchor`, `!tag`).
    pub start: usize,
    /// One past its last byte; for a block collection, the start of the token after it.
    pub end: usize,
    /// Flow style (`{..}`, `[..]`), for a collection.
    pub flow: bool,
    /// A mapping key's text; an alias's name.
    pub text: Option<String>,
    /// A key's value, or a value's key.
    pub pair: Option<usize>,
    /// A block list item: where the bytes before it that belong to it start (its `-`).
    pub lead: usize,
    /// The node before it in the same parent.
    pub prev: Option<usize>,
    /// Whether an anchor is defined on it or inside it.
    pub has_anchor: bool,
}

impl Node {
    /// An empty node (`key:` with nothing after it): its place is a point.
    pub fn is_empty(&self) -> bool {
        self.kind == Kind::Scalar && self.start == self.end
    }

    fn contains(&self, at: usize) -> bool {
        (self.start <= at && at < self.end) || (self.is_empty() && self.start == at)
    }
}

/// The bytes that hold one node in its parent, and the key they carry if they are an entry.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub range: Range<usize>,
    pub key: Option<String>,
}

/// The end of a collection not closed yet: it holds everything read so far.
const OPEN: usize = usize::MAX;

/// The nodes of a text, read from its events only as far as a question needs: an error near
/// the top of a long file costs a few events, not the whole file.
pub(super) struct Tree<'t> {
    text: &'t str,
    events: Parser<'t, StrInput<'t>>,
    open: Vec<Open>,
    /// Where the furthest event read starts: every node that starts before it is known.
    read_to: usize,
    /// The parser stopped at an error: the text is not YAML it can read.
    broken: bool,
    pub nodes: Vec<Node>,
    /// Each anchor's name and the node it is defined on.
    pub anchors: Vec<(String, usize)>,
}

/// An open collection while reading events.
struct Open {
    node: usize,
    children: usize,
    last_child: Option<usize>,
}

impl<'t> Tree<'t> {
    pub fn new(text: &'t str) -> Self {
        let mut options = granit_parser::Options::default();
        options.emit_anchor_events = true;
        // An alias whose anchor was blanked must not stop the reading: it is an error to place.
        options.emit_unresolved_aliases = true;
        options.set_emit_comments(false);
        Tree {
            text,
            events: Parser::new_from_str_with_options(text, options),
            open: Vec::new(),
            read_to: 0,
            broken: false,
            nodes: Vec::new(),
            anchors: Vec::new(),
        }
    }

    /// Reads until every node that starts at or before `at` is known. False when the text
    /// cannot be read that far.
    pub fn read_past(&mut self, at: usize) -> bool {
        while self.read_to <= at {
            if !self.pull() {
                break;
            }
        }
        !self.broken
    }

    /// Reads until node `idx` is closed. False when the text cannot be read that far.
    fn close(&mut self, idx: usize) -> bool {
        while self.nodes[idx].end == OPEN {
            if !self.pull() {
                return false;
            }
        }
        true
    }

    /// Reads one event into the tree. False at the end of the text or on a parse error.
    fn pull(&mut self) -> bool {
        let Some(read) = self.events.next() else {
            return false;
        };
        let read = read.ok().and_then(|(event, span)| {
            let start = span.start.byte_offset()?;
            let end = span.end.byte_offset()?;
            let tag = span.tag_start.and_then(|m| m.byte_offset());
            Some((event, start, end, tag))
        });
        let Some((event, start, end, tag)) = read else {
            self.broken = true;
            return false;
        };
        self.read_to = self.read_to.max(start);
        match event {
            Event::Scalar(..) => {
                self.push(Kind::Scalar, start, end, tag);
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                let idx = self.push(Kind::Alias, start, end, tag);
                // The name without its `*`.
                self.nodes[idx].text = self.text.get(start + 1..end).map(str::to_string);
            }
            Event::MappingStart(style, ..) => self.open(Kind::Mapping, style, start, tag),
            Event::SequenceStart(style, ..) => self.open(Kind::Sequence, style, start, tag),
            Event::MappingEnd | Event::SequenceEnd => match self.open.pop() {
                Some(closed) => self.nodes[closed.node].end = end,
                None => self.broken = true,
            },
            Event::Anchor(_, name) => self.anchor(name.into_owned(), start),
            _ => {}
        }
        !self.broken
    }

    /// An anchor, always read right after the node it is defined on.
    fn anchor(&mut self, name: String, start: usize) {
        let Some(idx) = self.nodes.len().checked_sub(1) else {
            self.broken = true;
            return;
        };
        let node = &mut self.nodes[idx];
        node.start = node.start.min(start);
        node.has_anchor = true;
        for holder in &self.open {
            self.nodes[holder.node].has_anchor = true;
        }
        self.anchors.push((name, idx));
    }

    /// Adds a collection and opens it.
    fn open(&mut self, kind: Kind, style: StructureStyle, start: usize, tag: Option<usize>) {
        let idx = self.push(kind, start, OPEN, tag);
        self.nodes[idx].flow = style == StructureStyle::Flow;
        self.open.push(Open {
            node: idx,
            children: 0,
            last_child: None,
        });
    }

    /// Adds a node as the next child of the innermost open collection.
    fn push(&mut self, kind: Kind, start: usize, end: usize, tag: Option<usize>) -> usize {
        let idx = self.nodes.len();
        let mut node = Node {
            kind,
            role: Role::Root,
            parent: None,
            depth: self.open.len(),
            content_start: start,
            start: tag.map_or(start, |t| t.min(start)),
            end,
            flow: false,
            text: None,
            pair: None,
            lead: start,
            prev: None,
            has_anchor: false,
        };
        if let Some(parent) = self.open.last_mut() {
            let p = &self.nodes[parent.node];
            node.parent = Some(parent.node);
            node.role = match (p.kind, parent.children % 2) {
                (Kind::Mapping, 0) => Role::Key,
                (Kind::Mapping, _) => Role::Value,
                _ => Role::Item,
            };
            node.prev = parent.last_child;
            // A block item's `-` lies between the previous item (or the list's start, which
            // is the first `-`) and the item itself.
            node.lead = match parent.last_child {
                Some(prev) => self.nodes[prev].end,
                None => p.content_start,
            };
            if node.role == Role::Value {
                node.pair = parent.last_child;
                if let Some(key) = parent.last_child {
                    self.nodes[key].pair = Some(idx);
                }
            }
            if node.role == Role::Key && kind == Kind::Scalar {
                node.text = self.text.get(start..end).map(unquote);
            }
            parent.children += 1;
            parent.last_child = Some(idx);
        }
        self.nodes.push(node);
        idx
    }

    /// The innermost mapping key at `at`.
    pub fn key_at(&mut self, at: usize) -> Option<usize> {
        self.innermost(at, |n| n.role == Role::Key)
    }

    /// The innermost mapping at `at`.
    pub fn mapping_at(&mut self, at: usize) -> Option<usize> {
        self.innermost(at, |n| n.kind == Kind::Mapping)
    }

    /// The node an error at `at` is about: the outermost one that starts there (a block
    /// mapping starts where its first key does, and a type error is about the mapping), else
    /// the innermost one that holds it.
    pub fn node_at(&mut self, at: usize) -> Option<usize> {
        if !self.read_past(at) {
            return None;
        }
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.content_start == at && n.contains(at))
            .min_by_key(|(_, n)| n.depth)
            .map(|(i, _)| i)
            .or_else(|| self.innermost(at, |_| true))
    }

    /// The empty node that an error at `at` with no node of its own (the end of the text) is
    /// about: the last one before it with only whitespace between them.
    pub fn empty_before(&mut self, at: usize) -> Option<usize> {
        if !self.read_past(at) {
            return None;
        }
        let bytes = self.text.as_bytes();
        self.nodes
            .iter()
            .rposition(|n| n.is_empty() && n.start <= at)
            .filter(|&i| {
                let from = self.nodes[i].start;
                let from = from + usize::from(bytes.get(from) == Some(&b':'));
                bytes
                    .get(from.min(at)..at)
                    .is_some_and(|between| between.iter().all(u8::is_ascii_whitespace))
            })
    }

    fn innermost(&mut self, at: usize, want: impl Fn(&Node) -> bool) -> Option<usize> {
        if !self.read_past(at) {
            return None;
        }
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.contains(at) && want(n))
            .max_by_key(|(_, n)| n.depth)
            .map(|(i, _)| i)
    }

    /// Everything that is node `idx`'s, from the end of what comes before it in its parent:
    /// a block mapping starts at its first key, so what was blanked before that key is not in
    /// the node's own range but is in this one.
    pub fn extent(&mut self, idx: usize) -> Range<usize> {
        self.close(idx);
        let node = &self.nodes[idx];
        let start = match node.role {
            Role::Root => 0,
            Role::Value => node.pair.map_or(node.start, |k| self.nodes[k].end),
            Role::Key | Role::Item => node.lead,
        };
        start.min(node.start)..node.end
    }

    /// The bytes that remove node `idx` from its parent and leave valid YAML with every other
    /// byte in place: a `key: value` entry, a block item from its `-`, a flow entry or item
    /// with the comma after it; a comment on the same line goes with it. `None` for the root,
    /// or when the text cannot be read to the node's end.
    pub fn unit(&mut self, idx: usize) -> Option<Unit> {
        let node = &self.nodes[idx];
        let parent = node.parent?;
        let (range, key) = match node.role {
            Role::Root => return None,
            Role::Key | Role::Value => {
                let key = match node.role {
                    Role::Key => idx,
                    _ => node.pair?,
                };
                // A key's value is read after it.
                while self.nodes[key].pair.is_none() && self.pull() {}
                let end = match self.nodes[key].pair {
                    // An empty value is placed at the `:` of `key:`, which goes with it.
                    Some(value) if self.nodes[value].is_empty() => {
                        let at = self.nodes[value].start;
                        at + usize::from(self.text.as_bytes().get(at) == Some(&b':'))
                    }
                    Some(value) => self.end_of(value)?,
                    None => self.nodes[key].end,
                };
                let key = &self.nodes[key];
                (key.start..end, key.text.clone())
            }
            Role::Item => {
                let end = self.end_of(idx)?;
                let node = &self.nodes[idx];
                match self.nodes[parent].flow {
                    true => (node.start..end, None),
                    false => (node.lead.min(node.start)..end, None),
                }
            }
        };
        let mut end = range.end;
        if self.nodes[parent].flow {
            end = after_comma(self.text, end);
        }
        end = after_comment(self.text, end);
        Some(Unit {
            range: range.start..end,
            key,
        })
    }

    fn end_of(&mut self, idx: usize) -> Option<usize> {
        self.close(idx).then(|| self.nodes[idx].end)
    }
}

/// A key as written, without the quotes around it (escapes are left alone: a key that needs
/// them is not a field name anyway).
fn unquote(key: &str) -> String {
    let trimmed = key.trim();
    for q in ['"', '\''] {
        if let Some(inner) = trimmed
            .strip_prefix(q)
            .and_then(|rest| rest.strip_suffix(q))
        {
            return inner.to_string();
        }
    }
    trimmed.to_string()
}

/// `end` moved past the comma that follows a flow entry, if one does.
fn after_comma(text: &str, end: usize) -> usize {
    let rest = &text.as_bytes()[end.min(text.len())..];
    let blanks = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    if rest.get(blanks) == Some(&b',') {
        end + blanks + 1
    } else {
        end
    }
}

/// `end` moved past a comment on the rest of its line (`value  # why`), if there is one.
fn after_comment(text: &str, end: usize) -> usize {
    let rest = &text.as_bytes()[end.min(text.len())..];
    let spaces = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    if spaces == 0 || rest.get(spaces) != Some(&b'#') {
        return end;
    }
    let line = rest
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r'))
        .unwrap_or(rest.len());
    end + line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes that remove the node at the first `at` (a key when `at` ends with `:`).
    fn unit_text(text: &str, at: &str) -> String {
        let mut tree = Tree::new(text);
        let idx = match at.strip_suffix(':') {
            Some(key) => tree.key_at(text.find(key).unwrap()),
            None => tree.node_at(text.find(at).unwrap()),
        };
        let unit = tree.unit(idx.unwrap()).unwrap();
        text[unit.range].to_string()
    }

    #[test]
    fn a_block_entry_is_its_key_through_its_value() {
        let text = "a: 1\nturnz:\n  - x\n  - y\nc: 3\n";
        assert_eq!(unit_text(text, "turnz:"), "turnz:\n  - x\n  - y\n");
        assert_eq!(unit_text(text, "1"), "a: 1");
    }

    #[test]
    fn a_block_item_takes_its_dash() {
        let text = "l:\n  - x\n  - {a: 1}  # note\n  - z\n";
        assert_eq!(unit_text(text, "x"), "- x");
        assert_eq!(unit_text(text, "{"), "\n  - {a: 1}  # note");
    }

    #[test]
    fn a_flow_entry_takes_its_comma() {
        let text = "t: {user: hi, expekt: {}}\n";
        assert_eq!(unit_text(text, "user:"), "user: hi,");
        assert_eq!(unit_text(text, "expekt:"), "expekt: {}");
        let text = "l: [a, 'b c', d]\n";
        assert_eq!(unit_text(text, "'b"), "'b c',");
    }

    #[test]
    fn an_anchored_value_goes_with_its_anchor() {
        let text = "a: &x\n  k: v\nb: *x\n";
        let mut tree = Tree::new(text);
        assert!(tree.read_past(text.len()));
        assert_eq!(tree.anchors.len(), 1);
        assert_eq!(unit_text(text, "*x"), "b: *x");
        assert_eq!(unit_text(text, "a:"), "a: &x\n  k: v\n");
    }

    #[test]
    fn the_root_has_no_unit_and_bad_yaml_no_tree() {
        let mut tree = Tree::new("- a\n");
        assert!(tree.read_past(4));
        assert!(tree.unit(0).is_none());
        assert!(!Tree::new("a: 'open\n").read_past(9));
    }

    #[test]
    fn keys_are_read_without_quotes() {
        let text = "'user': x\n\"expekt\": y\n";
        let mut tree = Tree::new(text);
        assert!(tree.read_past(text.len()));
        let keys: Vec<_> = tree.nodes.iter().filter_map(|n| n.text.clone()).collect();
        assert_eq!(keys, ["user", "expekt"]);
    }
}
