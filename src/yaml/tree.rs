//! The shape of a YAML text as byte ranges, read from the parser's events: every node, its
//! parent, whether it is a mapping key, a mapping value or a list item, and the bytes that
//! hold it in its parent (a whole `key: value` entry, a list item with its `-` or its comma).
//! `recover` uses it to find the node an error points at and what to blank to remove it.
//! Nothing here deserializes, judges a value, or changes the text.

use std::ops::Range;

use granit_parser::{Event, Parser, StructureStyle};

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

#[derive(Debug, Default)]
pub(super) struct Tree {
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

impl Tree {
    /// The tree of `text`, or `None` when it is not YAML the parser can read (then nothing can
    /// be repaired).
    pub fn parse(text: &str) -> Option<Tree> {
        let mut options = granit_parser::Options::default();
        options.emit_anchor_events = true;
        // An alias whose anchor was blanked must not stop the walk: it is an error to place.
        options.emit_unresolved_aliases = true;
        options.set_emit_comments(false);
        let mut tree = Tree::default();
        let mut open: Vec<Open> = Vec::new();
        for event in Parser::new_from_str_with_options(text, options) {
            let (event, span) = event.ok()?;
            let start = span.start.byte_offset()?;
            let end = span.end.byte_offset()?;
            let tag = span.tag_start.and_then(|m| m.byte_offset());
            match event {
                Event::Scalar(..) => {
                    tree.push(&mut open, Kind::Scalar, start, end, tag, text);
                }
                Event::Alias(_) | Event::UnresolvedAlias(_) => {
                    let idx = tree.push(&mut open, Kind::Alias, start, end, tag, text);
                    // The name without its `*`.
                    tree.nodes[idx].text = text.get(start + 1..end).map(str::to_string);
                }
                Event::MappingStart(style, ..) => {
                    tree.open(&mut open, Kind::Mapping, style, start..end, tag, text);
                }
                Event::SequenceStart(style, ..) => {
                    tree.open(&mut open, Kind::Sequence, style, start..end, tag, text);
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let closed = open.pop()?;
                    tree.nodes[closed.node].end = end;
                }
                Event::Anchor(_, name) => {
                    // Always right after the node it is defined on.
                    let idx = tree.nodes.len().checked_sub(1)?;
                    let node = &mut tree.nodes[idx];
                    node.start = node.start.min(start);
                    tree.anchors.push((name.into_owned(), idx));
                }
                _ => {}
            }
        }
        Some(tree)
    }

    /// Adds a collection and opens it.
    fn open(
        &mut self,
        open: &mut Vec<Open>,
        kind: Kind,
        style: StructureStyle,
        at: Range<usize>,
        tag: Option<usize>,
        text: &str,
    ) {
        let idx = self.push(open, kind, at.start, at.end, tag, text);
        self.nodes[idx].flow = style == StructureStyle::Flow;
        open.push(Open {
            node: idx,
            children: 0,
            last_child: None,
        });
    }

    /// Adds a node as the next child of the innermost open collection.
    fn push(
        &mut self,
        open: &mut [Open],
        kind: Kind,
        start: usize,
        end: usize,
        tag: Option<usize>,
        text: &str,
    ) -> usize {
        let idx = self.nodes.len();
        let mut node = Node {
            kind,
            role: Role::Root,
            parent: None,
            depth: open.len(),
            content_start: start,
            start: tag.map_or(start, |t| t.min(start)),
            end,
            flow: false,
            text: None,
            pair: None,
            lead: start,
        };
        if let Some(parent) = open.last_mut() {
            let p = &self.nodes[parent.node];
            node.parent = Some(parent.node);
            node.role = match (p.kind, parent.children % 2) {
                (Kind::Mapping, 0) => Role::Key,
                (Kind::Mapping, _) => Role::Value,
                _ => Role::Item,
            };
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
                node.text = text.get(start..end).map(unquote);
            }
            parent.children += 1;
            parent.last_child = Some(idx);
        }
        self.nodes.push(node);
        idx
    }

    /// The innermost mapping key at `at`.
    pub fn key_at(&self, at: usize) -> Option<usize> {
        self.innermost(at, |n| n.role == Role::Key)
    }

    /// The innermost mapping at `at`.
    pub fn mapping_at(&self, at: usize) -> Option<usize> {
        self.innermost(at, |n| n.kind == Kind::Mapping)
    }

    /// The node an error at `at` is about: the outermost one that starts there (a block
    /// mapping starts where its first key does, and a type error is about the mapping), else
    /// the innermost one that holds it.
    pub fn node_at(&self, at: usize) -> Option<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.content_start == at && n.contains(at))
            .min_by_key(|(_, n)| n.depth)
            .map(|(i, _)| i)
            .or_else(|| self.innermost(at, |_| true))
    }

    fn innermost(&self, at: usize, want: impl Fn(&Node) -> bool) -> Option<usize> {
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
    pub fn extent(&self, idx: usize) -> Range<usize> {
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
    /// with the comma after it; a comment on the same line goes with it. `None` for the root.
    pub fn unit(&self, idx: usize, text: &str) -> Option<Unit> {
        let node = &self.nodes[idx];
        let parent = &self.nodes[node.parent?];
        let (range, key) = match node.role {
            Role::Root => return None,
            Role::Key | Role::Value => {
                let (key, value) = match node.role {
                    Role::Key => (idx, node.pair),
                    _ => (node.pair?, Some(idx)),
                };
                let key = &self.nodes[key];
                let end = value.map_or(key.end, |v| self.nodes[v].end);
                (key.start..end, key.text.clone())
            }
            Role::Item if parent.flow => (node.start..node.end, None),
            Role::Item => (node.lead.min(node.start)..node.end, None),
        };
        let mut end = range.end;
        if parent.flow {
            end = after_comma(text, end);
        }
        end = after_comment(text, end);
        Some(Unit {
            range: range.start..end,
            key,
        })
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
        let tree = Tree::parse(text).unwrap();
        let idx = match at.strip_suffix(':') {
            Some(key) => tree.key_at(text.find(key).unwrap()),
            None => tree.node_at(text.find(at).unwrap()),
        };
        let unit = tree.unit(idx.unwrap(), text).unwrap();
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
        let tree = Tree::parse(text).unwrap();
        assert_eq!(tree.anchors.len(), 1);
        assert_eq!(unit_text(text, "*x"), "b: *x");
        assert_eq!(unit_text(text, "a:"), "a: &x\n  k: v\n");
    }

    #[test]
    fn the_root_has_no_unit_and_bad_yaml_no_tree() {
        let tree = Tree::parse("- a\n").unwrap();
        assert!(tree.unit(0, "- a\n").is_none());
        assert!(Tree::parse("a: 'open\n").is_none());
    }

    #[test]
    fn keys_are_read_without_quotes() {
        let text = "'user': x\n\"expekt\": y\n";
        let tree = Tree::parse(text).unwrap();
        let keys: Vec<_> = tree.nodes.iter().filter_map(|n| n.text.clone()).collect();
        assert_eq!(keys, ["user", "expekt"]);
    }
}
