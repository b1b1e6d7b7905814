//! Every ```yaml example in README.md and docs/*.md is real: it parses as YAML, a suite loads
//! with the suite loader, a mock script with the mock's, a golden with the golden reader; and
//! no flow sequence holds the trap `replies: [Hi!, Hello there!, Hey, how can I help?]`, which
//! is four replies, not three (a comma inside an unquoted sentence splits it).
//!
//! A block that is a fragment on purpose (it does not parse on its own) is marked by the line
//! `<!-- yaml-fragment -->` just above its fence; it is still checked for the trap.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agenttest::diag::SourceFile;
use agenttest::suite::{load_paths, EndpointOverrides, LoadOptions};

const FRAGMENT_MARK: &str = "<!-- yaml-fragment -->";

/// One ```yaml block: where its first line is, its text, whether it is marked a fragment.
struct Block {
    file: PathBuf,
    line: usize,
    text: String,
    fragment: bool,
}

impl Block {
    fn at(&self, offset: usize) -> String {
        format!("{}:{}", self.file.display(), self.line + offset)
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, in sorted order.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("read docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn yaml_blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).expect("read doc");
    let shown = file.strip_prefix(root()).unwrap_or(file).to_path_buf();
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim();
        if fence == "```yaml" || fence == "```yml" {
            let fragment = i > 0 && lines[i - 1].trim() == FRAGMENT_MARK;
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim() != "```" {
                end += 1;
            }
            blocks.push(Block {
                file: shown.clone(),
                line: start + 1,
                text: lines[start..end].join("\n") + "\n",
                fragment,
            });
            i = end;
        }
        i += 1;
    }
    blocks
}

// ---------------------------------------------------------------------------------------------
// The flow-sequence trap: a plain (unquoted) item of a `[...]` that ends like a sentence. A
// sentence may hold a comma, and in a flow sequence a comma ends the item: quote it.

#[derive(Debug)]
enum Node {
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Plain(String),
    Quoted,
}

/// A tiny parser of one line's flow collection: enough to tell plain items from quoted ones.
struct Flow<'a> {
    s: &'a [u8],
    i: usize,
}

impl Flow<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == b' ' {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn node(&mut self) -> Option<Node> {
        self.ws();
        match self.peek()? {
            b'[' => self.seq(),
            b'{' => self.map(),
            q @ (b'\'' | b'"') => self.quoted(q),
            _ => Some(self.plain()),
        }
    }

    fn seq(&mut self) -> Option<Node> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek()? {
                b']' => {
                    self.i += 1;
                    return Some(Node::Seq(items));
                }
                b',' => self.i += 1,
                _ => {
                    let item = self.node()?;
                    self.ws();
                    // `[a: b]` is a sequence of one single-pair mapping.
                    if self.peek() == Some(b':') {
                        self.i += 1;
                        let value = self.node()?;
                        items.push(Node::Map(vec![(item, value)]));
                    } else {
                        items.push(item);
                    }
                }
            }
        }
    }

    fn map(&mut self) -> Option<Node> {
        self.i += 1;
        let mut pairs = Vec::new();
        loop {
            self.ws();
            match self.peek()? {
                b'}' => {
                    self.i += 1;
                    return Some(Node::Map(pairs));
                }
                b',' => self.i += 1,
                _ => {
                    let key = self.node()?;
                    self.ws();
                    let value = if self.peek() == Some(b':') {
                        self.i += 1;
                        self.node()?
                    } else {
                        Node::Quoted
                    };
                    pairs.push((key, value));
                }
            }
        }
    }

    fn quoted(&mut self, q: u8) -> Option<Node> {
        self.i += 1;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            if q == b'"' && c == b'\\' {
                self.i += 1;
            } else if c == q {
                // `''` inside single quotes is one quote.
                if q == b'\'' && self.peek() == Some(b'\'') {
                    self.i += 1;
                    continue;
                }
                return Some(Node::Quoted);
            }
        }
        None
    }

    /// A plain scalar ends at `,`, a bracket or brace, or `: `.
    fn plain(&mut self) -> Node {
        let start = self.i;
        while let Some(c) = self.peek() {
            let colon = c == b':' && matches!(self.s.get(self.i + 1), None | Some(b' '));
            if matches!(c, b',' | b'[' | b']' | b'{' | b'}') || colon {
                break;
            }
            self.i += 1;
        }
        Node::Plain(
            String::from_utf8_lossy(&self.s[start..self.i])
                .trim()
                .to_string(),
        )
    }
}

/// Where a flow collection starts on a line, if one does: a `[` or `{` outside quotes and
/// comments that opens a value (at the line's start, or after `:` or `-`).
fn flow_start(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut prev = b' ';
    let mut prev_token = b':';
    for (i, &c) in b.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => {
                if c == b'#' && prev == b' ' {
                    return None;
                }
                if matches!(c, b'\'' | b'"')
                    && matches!(prev_token, b':' | b'-' | b'[' | b'{' | b',')
                {
                    quote = Some(c);
                } else if matches!(c, b'[' | b'{') && matches!(prev_token, b':' | b'-') {
                    return Some(i);
                }
            }
        }
        prev = c;
        if c != b' ' {
            prev_token = c;
        }
    }
    None
}

/// The plain items of every flow sequence in `node` that end like a sentence.
fn sentences(node: &Node, out: &mut Vec<String>) {
    match node {
        Node::Seq(items) => {
            for item in items {
                match item {
                    Node::Plain(s) if s.len() > 1 && s.ends_with(['.', '!', '?']) => {
                        out.push(s.clone())
                    }
                    other => sentences(other, out),
                }
            }
        }
        Node::Map(pairs) => pairs.iter().for_each(|(_, v)| sentences(v, out)),
        Node::Plain(_) | Node::Quoted => {}
    }
}

/// One message per line of `text` whose flow sequence holds an unquoted sentence.
fn flow_traps(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(start) = flow_start(line) else {
            continue;
        };
        let mut flow = Flow {
            s: &line.as_bytes()[start..],
            i: 0,
        };
        // A collection that goes on to the next line is left to the YAML parser.
        let Some(node) = flow.node() else { continue };
        let mut items = Vec::new();
        sentences(&node, &mut items);
        if !items.is_empty() {
            found.push((
                n,
                format!(
                    "unquoted sentence {items:?} in a flow sequence: a comma in it would split it \
                     into two items; quote every item"
                ),
            ));
        }
    }
    found
}

#[test]
fn the_trap_is_caught_and_quoted_items_pass() {
    let trap = "      - when: '(?i)hello'\n        replies: [Hi!, Hello there!, Hey, how can I help?]   # paraphrase\n";
    assert_eq!(flow_traps(trap).len(), 1, "{:?}", flow_traps(trap));
    assert_eq!(flow_traps(trap)[0].0, 1);
    let quoted = "replies: ['Hi!', \"Hello there!\", 'Hey, how can I help?']\n";
    assert!(flow_traps(quoted).is_empty(), "{:?}", flow_traps(quoted));
    let nested = "matrix: {rows: [{q: Is it open?}, [Yes.]]}\n";
    assert_eq!(flow_traps(nested).len(), 1);
    for fine in [
        "replies: [joke one, joke two, joke three]\n",
        "contains: [Monday, \"9 AM\"]   # [Hi!, no]\n",
        "reply: I'm not sure [..] at all.\n",
        "expect: {contains: \"{{order}}\", status: [200, 201]}\n",
        "user: Where is my {{product}} order?\n",
    ] {
        assert!(
            flow_traps(fine).is_empty(),
            "{fine}: {:?}",
            flow_traps(fine)
        );
    }
    // What the trap parses to: four replies.
    let v: serde_json::Value =
        serde_saphyr::from_str("replies: [Hi!, Hello there!, Hey, how can I help?]").unwrap();
    assert_eq!(v["replies"].as_array().map(Vec::len), Some(4));
}

// ---------------------------------------------------------------------------------------------
// Loading each block with the loader of what it is.

/// What a block is, by its top-level keys.
fn load(block: &Block, value: &serde_json::Value, dir: &Path) -> Result<&'static str, String> {
    let has = |k: &str| value.get(k).is_some();
    if has("dialogues") {
        let path = dir.join(format!("example-{}.yaml", block.line));
        std::fs::write(&path, &block.text).expect("write example");
        // Every `${VAR}` of an example is set, to a value long enough to be a key.
        let opts = LoadOptions {
            env: Arc::new(|_| Some("ak_docs_example_key".to_string())),
            overrides: EndpointOverrides::default(),
            read: Default::default(),
        };
        load_paths(&[path], &opts)
            .map(|_| "suite")
            .map_err(|d| agenttest::diag::render_all(&d, false))
    } else if has("agents") {
        let file = SourceFile::new(block.at(0), block.text.as_str());
        agenttest::mock::Script::parse(&file)
            .map(|_| "mock script")
            .map_err(|d| agenttest::diag::render_all(&d, false))
    } else if has("suite") && has("dialogue") && has("turns") {
        let file = SourceFile::new(block.at(0), block.text.as_str());
        agenttest::judge::golden::file::parse(&file)
            .map(|_| "golden")
            .map_err(|d| d.render(false))
    } else {
        Ok("yaml")
    }
}

#[test]
fn every_yaml_example_in_the_docs_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    let mut kinds = Vec::new();
    for file in doc_files() {
        for block in yaml_blocks(&file) {
            for (offset, why) in flow_traps(&block.text) {
                problems.push(format!("{}: {why}", block.at(offset)));
            }
            if block.fragment {
                continue;
            }
            let value: serde_json::Value = match serde_saphyr::from_str(&block.text) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!(
                        "{}: not YAML ({e}); mark a fragment with {FRAGMENT_MARK} above it",
                        block.at(0)
                    ));
                    continue;
                }
            };
            match load(&block, &value, dir.path()) {
                Ok(kind) => kinds.push(kind),
                Err(why) => problems.push(format!("{}: does not load:\n{why}", block.at(0))),
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
    // The README shows a suite, a golden and a mock script; docs/mock.md a script.
    for kind in ["suite", "golden", "mock script"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} example was checked: {kinds:?}"
        );
    }
}
