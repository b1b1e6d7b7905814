//! A suite file checked while it is parsed: each dialogue is checked into the model as soon as
//! it is read and its YAML form dropped, so a suite of 10,000 dialogues never exists twice
//! (as written and as checked) in memory.
//!
//! A big file is parsed in pieces when its text can be cut (`split`): the head first, then
//! the pieces of its dialogue list, each parsed on a thread of its own while the one before
//! is checked, in file order, and dropped, so that the file is never parsed whole. Every
//! piece parses under a share of the file's YAML budget, so that pieces that all pass add up
//! to a file that passes whole; a piece that fails in any way sends the file to the one-pass
//! read below, which says what is wrong.
//!
//! Each read goes along the fast YAML road first (`crate::yaml::fast`), with checks of its own,
//! and again with serde-saphyr when that road steps aside.
//!
//! This path only ever succeeds. Whenever it cannot be sure to say what the whole-file path
//! says, it steps aside and the caller reads the file whole (`crate::yaml::parse_or_repair`,
//! then [`Checker::suite`]), which reports every YAML error in its usual words: on any YAML
//! or type error, on an empty file, and when a key that every dialogue depends on
//! (`endpoint`, `defaults`, `judge`) comes after `dialogues:`. Both paths run the same checks in the same
//! order ([`SuiteBuild`]), so they print the same diagnostics.
//!
//! Nothing here reads files other than through the checks, or decides what a suite means.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::diag::{SourceFile, Span};
use crate::suite::raw::{
    self, RawDefaults, RawDialogue, RawEndpoint, RawNormalize, Spanned, SpannedSeed,
};
use crate::yaml::fast;

use super::check::Checker;
use super::dialogue::SuiteBuild;
use super::split::{self, Piece};
use super::{ConfigState, FileLoad, LoadOptions};

/// A piece of a big file is about this long: some thirty dialogues of five turns, enough that
/// starting a piece costs nothing beside parsing it, and little to hold parsed at once.
const PIECE_BYTES: usize = 32 * 1024;

/// A file shorter than this is parsed in one pass: it takes a millisecond or two anyway.
const MIN_CUT_BYTES: usize = 4 * PIECE_BYTES;

/// `RawSuite`'s fields, in its order (serde's "expected one of" list is never shown from
/// here: an unknown key sends the file down the whole-file path).
const FIELDS: &[&str] = &[
    "name",
    "endpoint",
    "judge",
    "defaults",
    "normalize",
    "dialogues",
];

/// The checked suite and every diagnostic of the file; `None` when the file must be read
/// whole instead (see the module's comment). In pieces only when `may_cut` (the caller's
/// judgment that the file is more than its share of the run's bytes) and the file is big.
pub(super) fn load(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
    may_cut: bool,
) -> Option<FileLoad> {
    if may_cut && file.text.len() >= MIN_CUT_BYTES {
        if let Some(loaded) = load_in_pieces(file, config, opts, PIECE_BYTES) {
            return Some(loaded);
        }
    }
    load_in_one_pass(file, config, opts)
}

/// The file's YAML read in one pass, each dialogue checked as it comes.
fn load_in_one_pass(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
) -> Option<FileLoad> {
    if file.text.trim().is_empty() {
        return None;
    }
    let options = crate::yaml::options_for(&file.text);
    let limits = fast::Limits::of(&options);
    let text = &*file.text;
    checked(file, config, opts, |ck, build| {
        read_suite_fast(ck, build, text, limits)
    })
    .or_else(|| {
        checked(file, config, opts, |ck, build| {
            read_suite(ck, build, text, options).ok()
        })
    })
}

/// The file checked as `read` reads it, with checks of their own: a read along the fast road
/// that declines half-way leaves its checks half-fed, and the slow road starts afresh.
fn checked(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
    read: impl FnOnce(&mut Checker, &mut SuiteBuild) -> Option<Read>,
) -> Option<FileLoad> {
    let mut ck = Checker::new(file, opts);
    let mut build = SuiteBuild::new(config);
    let read = read(&mut ck, &mut build)?;
    let suite = ck.suite_finish(build, read.list);
    Some(ck.finish_file(suite))
}

/// The file cut into pieces of about `piece_bytes` (see the module's comment); `None` when it
/// cannot be cut or a part does not parse alone, and the file must be read in one pass.
fn load_in_pieces(
    file: &SourceFile,
    config: &ConfigState,
    opts: &LoadOptions,
    piece_bytes: usize,
) -> Option<FileLoad> {
    let cut = split::cut(&file.text, piece_bytes)?;
    let parts = cut.pieces.len() + 1;
    let share = share_of_budget(file, parts);
    let limits = fast::Limits::of(&share);
    let mut ck = Checker::new(file, opts);
    let mut build = SuiteBuild::new(config);
    // The head ends with a bare `dialogues:`, which reads as no list and begins the checks.
    // It must be the head's last key: the line the cut found could be inside a quoted scalar
    // that closes on it, and then the file has no list there at all.
    let mut head = read_suite_fast(&mut ck, &mut build, cut.head, limits).ok_or(());
    if head.is_err() {
        // Checked afresh, as in `load_in_one_pass`.
        ck = Checker::new(file, opts);
        build = SuiteBuild::new(config);
        head = read_suite(&mut ck, &mut build, cut.head, share).map_err(|_| ());
    }
    let ends_with_the_key = Read {
        list: None,
        last_key_is_the_list: true,
    };
    if head.ok() != Some(ends_with_the_key) || !build.has_head() {
        return None;
    }
    let first = cut.pieces.first()?;
    let dash = first.text.bytes().take_while(|&b| b == b' ').count();
    let list = Span::new(first.first_line, u32::try_from(dash + 1).ok()?);

    check_pieces(&cut.pieces, file, parts, limits, |list| {
        for d in list {
            ck.suite_dialogue(&mut build, &d.value, d.span);
        }
    })?;
    let suite = ck.suite_finish(build, Some(list));
    Some(ck.finish_file(suite))
}

/// How many parsed pieces may wait for their checks: enough that the parse never waits on a
/// piece whose checks take a little longer, few enough that the file is never held parsed.
const PIECES_AHEAD: usize = 2;

/// The parse thread's stack: a piece nests as deep as its file may (`yaml::MAX_DEPTH`), and
/// unoptimized, sixty levels of serde take more than a thread's default. Only reserved.
const PARSE_STACK: usize = 64 << 20;

/// Hands `check` the dialogues of each of `pieces` in order, parsed on a thread of its own
/// while this one checks the pieces before; `None` as soon as a piece does not parse alone.
///
/// Parsing and checking are each about half of a load, so the two overlap on two cores. The
/// pieces were parsed on every core once, a wave at a time through rayon, each wave checked
/// while the next parsed: since the fast YAML road made parsing cheap, the waves cost more
/// than they saved (validating 1,000 dialogues took 43 ms of CPU and 450 context switches,
/// against 30 ms on one thread), most of it trees made on one core and freed on another.
/// Here a piece's tree goes back to the thread that made it to be freed, and the two threads
/// hand each other a piece at a time. Without a thread (it could not be started), one at a
/// time on this one.
fn check_pieces(
    pieces: &[Piece<'_>],
    file: &SourceFile,
    parts: usize,
    limits: fast::Limits,
    mut check: impl FnMut(&[Spanned<RawDialogue>]),
) -> Option<()> {
    use std::sync::mpsc;
    type Parsed = Vec<Spanned<RawDialogue>>;
    std::thread::scope(|scope| {
        let (parsed_tx, parsed_rx) = mpsc::sync_channel::<Option<Parsed>>(PIECES_AHEAD);
        let (spent_tx, spent_rx) = mpsc::channel::<Parsed>();
        let parser = std::thread::Builder::new()
            .name("agenttest-parse".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(scope, move || {
                for piece in pieces {
                    spent_rx.try_iter().for_each(drop);
                    let parsed = parse_piece(piece, file, parts, limits);
                    let failed = parsed.is_none();
                    if parsed_tx.send(parsed).is_err() || failed {
                        break;
                    }
                }
                drop(parsed_tx);
                // Until the checks are done with the last pieces, which are freed here too.
                spent_rx.iter().for_each(drop);
            });
        if parser.is_err() {
            for piece in pieces {
                check(&parse_piece(piece, file, parts, limits)?);
            }
            return Some(());
        }
        for parsed in parsed_rx {
            let list = parsed?;
            check(&list);
            // A send fails only once the parser has gone, and then the list is freed here.
            let _ = spent_tx.send(list);
        }
        Some(())
    })
}

/// `text` read as a suite's top-level mapping, each key checked as it comes and each dialogue
/// of a list written there too.
fn read_suite(
    ck: &mut Checker,
    build: &mut SuiteBuild,
    text: &str,
    options: serde_saphyr::Options,
) -> Result<Read, serde_saphyr::Error> {
    let seed = SuiteSeed { ck, build };
    serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| seed.deserialize(de))
}

/// `text` read as [`read_suite`] reads it, along the fast road; `None` when it declines.
fn read_suite_fast(
    ck: &mut Checker,
    build: &mut SuiteBuild,
    text: &str,
    limits: fast::Limits,
) -> Option<Read> {
    fast::deserialize_seed(text, limits, SuiteSeed { ck, build })
}

/// A piece's dialogues, their spans the file's, read under its share of the file's budget
/// (`limits` on the fast road); `None` for any error at all.
fn parse_piece(
    piece: &Piece,
    file: &SourceFile,
    parts: usize,
    limits: fast::Limits,
) -> Option<Vec<Spanned<RawDialogue>>> {
    raw::with_line_offset(piece.first_line.saturating_sub(1), || {
        fast::from_str(piece.text, limits).or_else(|| {
            serde_saphyr::from_str_with_options(piece.text, share_of_budget(file, parts)).ok()
        })
    })
}

/// The YAML options for one of `parts` parts of `file`: each count the budget caps (events,
/// nodes, aliases, anchors, bytes, and the events aliases replay) is the file's divided by
/// `parts`, so that parts that each pass add up to a file that passes (every count of the
/// file is at most the sum of its parts': the head's `dialogues:` is a null where the file
/// has the list). A piece is one level shallower than the file, whose top-level mapping holds
/// the list.
fn share_of_budget(file: &SourceFile, parts: usize) -> serde_saphyr::Options {
    let mut options = crate::yaml::options_for(&file.text);
    options.alias_limits.max_total_replayed_events /= parts.max(1);
    if let Some(b) = options.budget.as_mut() {
        let parts = parts.max(1);
        for cap in [
            &mut b.max_events,
            &mut b.max_aliases,
            &mut b.max_anchors,
            &mut b.max_recorded_anchor_events,
            &mut b.max_recorded_anchor_bytes,
            &mut b.max_total_property_interpolation_work,
            &mut b.max_nodes,
            &mut b.max_total_scalar_bytes,
            &mut b.max_merge_keys,
        ] {
            *cap /= parts;
        }
        b.max_depth = b.max_depth.saturating_sub(1);
    }
    options
}

/// What reading the top-level mapping found of its list.
#[derive(Debug, PartialEq)]
struct Read {
    /// Where the list is, when `dialogues:` has one.
    list: Option<Span>,
    /// `dialogues` was the mapping's last key.
    last_key_is_the_list: bool,
}

/// The top-level mapping, read into the checks.
struct SuiteSeed<'a, 'c> {
    ck: &'a mut Checker<'c>,
    build: &'a mut SuiteBuild,
}

impl<'de> DeserializeSeed<'de> for SuiteSeed<'_, '_> {
    type Value = Read;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_struct("RawSuite", FIELDS, self)
    }
}

/// The keys every dialogue is checked against, held until `dialogues:` comes.
#[derive(Default)]
struct Head {
    endpoint: Option<RawEndpoint>,
    judge: Option<Spanned<RawEndpoint>>,
    defaults: Option<RawDefaults>,
}

impl<'de> Visitor<'de> for SuiteSeed<'_, '_> {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a suite")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let SuiteSeed { ck, build } = self;
        let mut head = Head::default();
        let mut seen = [false; FIELDS.len()];
        let mut list = None;
        let mut last = None;
        while let Some(key) = map.next_key::<Key>()? {
            let Key(index) = key;
            last = Some(index);
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::duplicate_field(FIELDS[index]));
            }
            match FIELDS[index] {
                "name" => {
                    let name: Option<Spanned<String>> = map.next_value()?;
                    ck.suite_name(build, name.as_ref());
                }
                "normalize" => {
                    let rules: Option<Vec<RawNormalize>> = map.next_value()?;
                    ck.suite_normalize(build, rules.as_deref());
                }
                _ if build.has_head() && index != DIALOGUES => {
                    // Every dialogue read so far was checked without this key.
                    return Err(de::Error::custom("a suite key after `dialogues:`"));
                }
                "endpoint" => head.endpoint = map.next_value()?,
                "judge" => head.judge = map.next_value()?,
                "defaults" => head.defaults = map.next_value()?,
                _ => {
                    begin(ck, build, &head);
                    list = map.next_value_seed(ListSeed {
                        ck: &mut *ck,
                        build: &mut *build,
                    })?;
                }
            }
        }
        if !build.has_head() {
            begin(ck, build, &head);
        }
        Ok(Read {
            list,
            last_key_is_the_list: last == Some(DIALOGUES),
        })
    }
}

/// Where `dialogues` is in [`FIELDS`].
const DIALOGUES: usize = FIELDS.len() - 1;

fn begin(ck: &mut Checker, build: &mut SuiteBuild, head: &Head) {
    ck.suite_head(
        build,
        head.endpoint.as_ref(),
        head.defaults.as_ref(),
        head.judge.as_ref(),
    );
}

/// A top-level key, as its index in [`FIELDS`]; any other is an error, as in `RawSuite`.
struct Key(usize);

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                FIELDS
                    .iter()
                    .position(|f| *f == v)
                    .map(Key)
                    .ok_or_else(|| de::Error::unknown_field(v, FIELDS))
            }
        }
        deserializer.deserialize_identifier(V)
    }
}

/// `dialogues:`'s value, as `Option<Spanned<Vec<Spanned<RawDialogue>>>>` reads it.
struct ListSeed<'a, 'c> {
    ck: &'a mut Checker<'c>,
    build: &'a mut SuiteBuild,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = Option<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = Option<Span>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Span>, D::Error> {
        let items = Items {
            ck: self.ck,
            build: self.build,
        };
        SpannedSeed(items)
            .deserialize(d)
            .map(|list| Some(list.span))
    }
}

/// The list's items, each checked as it is read and then dropped.
struct Items<'a, 'c> {
    ck: &'a mut Checker<'c>,
    build: &'a mut SuiteBuild,
}

impl<'de> DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(d) = seq.next_element::<Spanned<RawDialogue>>()? {
            self.ck.suite_dialogue(self.build, &d.value, d.span);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::diag::{render_all, Diagnostic};
    use crate::suite::discover::find_config;
    use crate::suite::model::Suite;

    fn opts() -> LoadOptions {
        LoadOptions::with_env(Default::default())
    }

    /// Both paths, as the loader would run them on `file`: `None` when streaming stepped aside.
    fn both(file: &SourceFile, config: &ConfigState) -> Option<(String, String)> {
        let streamed = load_in_one_pass(file, config, &opts())?;
        let whole = super::super::load_whole(file, config, &opts());
        Some((show(&streamed), show(&whole)))
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                yaml_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                && p.file_name().is_some_and(|n| n != "agenttest.yaml")
            {
                out.push(p);
            }
        }
    }

    /// Every suite of the repository (the bad-suite corpus, the examples, the fixtures), read,
    /// with the config it would be loaded under.
    fn repository_suites() -> Vec<(PathBuf, SourceFile, ConfigState)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["tests/bad_suites", "suites", "tests/fixtures"] {
            yaml_files(&root.join(dir), &mut files);
        }
        files
            .into_iter()
            .filter_map(|path| {
                let file = super::super::read_source(&path).ok()?;
                let config = config_of(&path);
                Some((path, file, config))
            })
            .collect()
    }

    /// Every suite of the repository: read as it is parsed, the same suite and the same
    /// diagnostics as read whole.
    #[test]
    fn streaming_says_what_the_whole_file_says() {
        let suites = repository_suites();
        let mut streamed = 0;
        for (path, file, config) in &suites {
            if let Some((ours, whole)) = both(file, config) {
                assert_eq!(ours, whole, "{}", path.display());
                streamed += 1;
            }
        }
        eprintln!("{streamed} of {} files streamed", suites.len());
        assert!(
            streamed > 50,
            "only {streamed} of {} streamed",
            suites.len()
        );
    }

    /// Every suite of the repository that can be cut, cut into one piece per dialogue: the
    /// same suite and the same diagnostics (at the same lines) as read whole.
    #[test]
    fn pieces_say_what_the_whole_file_says() {
        let suites = repository_suites();
        let mut cut = 0;
        for (path, file, config) in &suites {
            if let Some(pieces) = load_in_pieces(file, config, &opts(), 1) {
                let whole = super::super::load_whole(file, config, &opts());
                assert_eq!(show(&pieces), show(&whole), "{}", path.display());
                cut += 1;
            }
        }
        eprintln!("{cut} of {} files cut into pieces", suites.len());
        assert!(cut > 20, "only {cut} of {} cut", suites.len());
    }

    fn config_of(path: &Path) -> ConfigState {
        match find_config(path) {
            None => ConfigState::None,
            Some(c) => match super::super::load_config(&c, &opts()).0 {
                Ok(c) => ConfigState::Loaded(c),
                Err(_) => ConfigState::Broken,
            },
        }
    }

    fn show(loaded: &FileLoad) -> String {
        format!(
            "{:#?}\n{:?}\n{}",
            loaded.suite,
            loaded.scripts,
            render_all(&loaded.diags, false)
        )
    }

    /// `n` dialogues; dialogue `i`'s extra text is `extra(i)`, under its `name:`.
    fn suite_text(n: usize, extra: impl Fn(usize) -> String) -> String {
        let mut text =
            String::from("name: s\nendpoint: {base_url: mock, agent_id: ag}\ndialogues:\n");
        for i in 0..n {
            text += &format!("  - name: d{i}\n{}    turns:\n      - user: hello {i}\n        expect: {{contains: [hello]}}\n", extra(i));
        }
        text
    }

    /// Read by `load` (in pieces when it can) and whole: the same.
    fn same_both_ways(text: &str) -> (Option<Suite>, Vec<Diagnostic>) {
        let file = SourceFile::new("big.yaml", text);
        let ours = load(&file, &ConfigState::None, &opts(), true)
            .unwrap_or_else(|| super::super::load_whole(&file, &ConfigState::None, &opts()));
        let whole = super::super::load_whole(&file, &ConfigState::None, &opts());
        assert_eq!(show(&ours), show(&whole));
        (whole.suite, whole.diags)
    }

    #[test]
    fn a_big_file_is_read_in_pieces_and_its_errors_keep_their_lines() {
        let text = suite_text(3_000, |i| match i {
            2_999 => "    repeat: 0\n".into(),
            _ => String::new(),
        });
        assert!(text.len() > MIN_CUT_BYTES);
        let file = SourceFile::new("big.yaml", text.as_str());
        assert!(load_in_pieces(&file, &ConfigState::None, &opts(), PIECE_BYTES).is_some());
        let (_, diags) = same_both_ways(&text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        let shown = render_all(&diags, false);
        let line = text.lines().position(|l| l.contains("repeat: 0")).unwrap() + 1;
        assert!(shown.contains(&format!("big.yaml:{line}:")), "{shown}");
    }

    #[test]
    fn what_cannot_be_read_in_pieces_is_read_whole() {
        // A quoted scalar over lines, one of which looks like an item: the piece before the
        // look-alike does not parse alone.
        let quoted = suite_text(400, |i| match i {
            7 => "    vars: {x: \"one\n  - name: fake\"}\n".into(),
            _ => String::new(),
        });
        // An alias to an anchor in another piece.
        let aliased = suite_text(400, |i| match i {
            3 => "    vars: {x: &x one}\n".into(),
            300 => "    vars: {x: *x}\n".into(),
            _ => String::new(),
        });
        for text in [quoted, aliased] {
            let file = SourceFile::new("big.yaml", text.as_str());
            assert!(load_in_pieces(&file, &ConfigState::None, &opts(), 1).is_none());
            same_both_ways(&text);
        }
    }

    /// Files that a reviewer built to parse in pieces but mean something else whole: each says
    /// what it says read whole.
    #[test]
    fn what_a_piece_cannot_see_reads_the_file_whole() {
        let head = "endpoint: {base_url: mock, agent_id: ag}\n";
        let items = suite_text(400, |i| match i {
            399 => "    repeat: 0\n".into(),
            _ => String::new(),
        });
        let items = &items[items.find("  - name: d0").expect("items")..];
        for (what, text) in [
            // The line the cut takes for the key ends a quoted scalar: no list there at all,
            // the file is broken.
            (
                "a quoted name closing on the key's line",
                format!("{head}name: \"foo\ndialogues: #\"\n{items}"),
            ),
            (
                "a quoted name closing on a comment-like line after it",
                format!("{head}name: \"foo\ndialogues:\n  #\"\n{items}"),
            ),
            (
                "the real key earlier, with no list",
                format!("{head}dialogues:\nname: \"foo\ndialogues: #\"\n{items}"),
            ),
            // A lone carriage return is a line break to YAML: the error's line counts it.
            (
                "lone carriage returns",
                format!("name: s\r# c\r{head}dialogues:\n{items}"),
            ),
            // A directive changes what `!!` means in every piece.
            (
                "a %TAG directive",
                format!(
                    "%TAG !! tag:custom:\n---\n{head}dialogues:\n{}",
                    items.replace("- name: d399\n", "- name: !!binary ZDE=\n")
                ),
            ),
        ] {
            let file = SourceFile::new("big.yaml", text.as_str());
            assert!(
                load_in_pieces(&file, &ConfigState::None, &opts(), 1).is_none(),
                "{what}: read in pieces"
            );
            let (suite, diags) = same_both_ways(&text);
            if what.starts_with("lone") {
                let shown = render_all(&diags, false);
                // Lines 1 and 2 end in `\r`, the endpoint is 3, `dialogues:` 4, `d0` 5 and each
                // dialogue four lines: d399's `repeat` is at 5 + 4 * 399 + 1.
                assert!(shown.contains("big.yaml:1602:13"), "{what}: {shown}");
            }
            if what.starts_with("a %TAG") {
                let names: Vec<String> = suite
                    .as_ref()
                    .expect("a suite")
                    .dialogues
                    .iter()
                    .map(|d| d.name.clone())
                    .collect();
                assert!(names.contains(&"ZDE=".to_string()), "{what}: {names:?}");
            }
            if what.starts_with("a quoted") || what.starts_with("the real") {
                assert!(suite.is_none(), "{what}: a suite");
            }
        }
    }

    /// Pieces that each pass their share add up to a file that passes: for every count the
    /// budget caps, the shares of a file's parts sum to no more than the file's own cap.
    #[test]
    fn the_budget_is_the_files_not_each_pieces() {
        fn caps(o: &serde_saphyr::Options) -> [usize; 10] {
            let b = o.budget.as_ref().expect("a budget");
            [
                o.alias_limits.max_total_replayed_events,
                b.max_events,
                b.max_aliases,
                b.max_anchors,
                b.max_recorded_anchor_events,
                b.max_recorded_anchor_bytes,
                b.max_total_property_interpolation_work,
                b.max_nodes,
                b.max_total_scalar_bytes,
                b.max_merge_keys,
            ]
        }
        for len in [10, 100_000, 5_000_000] {
            let file = SourceFile::new("big.yaml", "x".repeat(len));
            let whole = caps(&crate::yaml::options_for(&file.text));
            for parts in [2, 7, 300] {
                let share = caps(&share_of_budget(&file, parts));
                for (cap, (whole, share)) in whole.iter().zip(share).enumerate() {
                    assert!(
                        share * parts <= *whole,
                        "cap {cap} of {len} bytes in {parts}"
                    );
                }
            }
        }
        // Anchors used within their dialogue are read in pieces, and the suite loads.
        let text = suite_text(200, |i| {
            format!("    vars: {{a: &a{i} x, b: *a{i}, c: *a{i}, d: *a{i}}}\n")
        });
        let file = SourceFile::new("big.yaml", text.as_str());
        assert!(load_in_pieces(&file, &ConfigState::None, &opts(), 1).is_some());
        assert!(same_both_ways(&text).0.is_some());
    }

    /// A suite that says `expect: *ok` in each of its 150 turns loads: one anchor used many
    /// times is no alias bomb (serde-saphyr's ratio of aliases to anchors had refused it).
    #[test]
    fn an_anchor_used_in_every_turn_loads() {
        let mut text = String::from(
            "endpoint: {base_url: mock, agent_id: ag}\ndefaults:\n  expect: &ok {status: 200}\ndialogues:\n",
        );
        for i in 0..30 {
            text += &format!("  - name: d{i}\n    turns:\n");
            for t in 0..5 {
                text += &format!("      - user: hi {t}\n        expect: *ok\n");
            }
        }
        let (suite, diags) = same_both_ways(&text);
        assert!(diags.is_empty(), "{}", render_all(&diags, false));
        assert_eq!(suite.map(|s| s.dialogues.len()), Some(30));
    }

    /// A piece is one level shallower than its file: nesting that the file allows, a piece
    /// allows, and one more level neither does.
    #[test]
    fn a_piece_nests_as_deep_as_its_file() {
        // Unoptimized, sixty levels of serde take more stack than a test thread has.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .stack_size(64 << 20)
            .build()
            .expect("a thread pool");
        pool.install(nests_as_deep_as_its_file);
    }

    fn nests_as_deep_as_its_file() {
        let nested = |depth: usize| {
            suite_text(40, move |i| match i {
                30 => format!(
                    "    endpoint: {{kind: openai, params: {}1{}}}\n",
                    "{a: ".repeat(depth),
                    "}".repeat(depth)
                ),
                _ => String::new(),
            })
        };
        let whole_ok = |depth: usize| {
            let text = nested(depth);
            let file = SourceFile::new("deep.yaml", text.as_str());
            source_parses(&file)
        };
        let deepest = (40..crate::yaml::MAX_DEPTH)
            .take_while(|&d| whole_ok(d))
            .last()
            .expect("some nesting parses");
        for (depth, parses) in [(deepest, true), (deepest + 1, false)] {
            let text = nested(depth);
            let file = SourceFile::new("deep.yaml", text.as_str());
            let pieces = load_in_pieces(&file, &ConfigState::None, &opts(), 1);
            assert_eq!(pieces.is_some(), parses, "nesting {depth}");
            same_both_ways(&text);
        }
    }

    /// Suites made of lines that look like items where they are not (inside quoted scalars
    /// over several lines, block scalars, flow collections), comments and blank lines at every
    /// indentation, anchors and aliases within and across dialogues, tabs, document markers,
    /// directives, a list key that is only a line inside a quoted scalar, Windows line breaks
    /// and lone carriage returns, mistakes: whenever such a file can be read in pieces, it
    /// says what it says read whole.
    #[test]
    fn any_suite_read_in_pieces_says_what_it_says_whole() {
        use proptest::prelude::*;
        // Lines of a dialogue, each written after `  - name: dN\n` and before its turns.
        let plain = prop::sample::select(vec![
            "",
            "\n",
            "# a comment at column 0\n",
            "  # a comment at the items' indentation\n",
            " # one space in\n",
            "    tags: [a, b]\n",
            "    vars: {x: \"one\n      two\"}\n",
            "    vars:\n      x: |\n        - name: inside a block\n        more\n",
            "    vars:\n      x: >-\n        folded\n\n        text\n",
            "    vars: {x: &mine y, z: *mine}\n",
            "    repeat: 0\n",
            "    skip: true\n",
            "    golden: false\n",
        ]);
        let tricky = prop::sample::select(vec![
            "    tags: [a,\n  - name: fake, b]\n",
            "    vars: {x: \"one\n  - name: fake\"}\n",
            "    vars: {x: 'one\n  - name: fake'}\n",
            "    vars: {x: &shared one}\n",
            "    vars: {x: *shared}\n",
            "    repeat: -1\n",
            "    turnz: []\n",
            "\t\n",
            "  \t# tab then comment\n",
            "---\n",
            "...\n",
            "  -\n",
            "  - \n",
            "    tags: [!!binary ZDE=]\n",
        ]);
        let line = prop_oneof![6 => plain, 1 => tricky];
        let dialogue = prop::collection::vec(line, 0..4);
        let case = (
            prop::collection::vec(dialogue, 2..7),
            prop::sample::select(vec![
                "",
                "# head comment\n",
                "name: s\n",
                "%TAG !! tag:custom:\n---\n",
                "%YAML 1.2\n---\n",
            ]),
            prop::sample::select(vec!["  ", ""]),
            // How the list's key is written: plainly, or as a line that only looks like it
            // (inside a quoted scalar that closes there), after the real key or not.
            prop::sample::select(vec![
                "dialogues:\n",
                "dialogues: # the list\n",
                "name: \"x\ndialogues: #\"\n",
                "name: \"x\ndialogues:\n  #\"\n",
                "dialogues:\nname: 'x\ndialogues: #'\n",
            ]),
            // Line breaks: `\n`, `\r\n`, or one of them (the `k`-th) a lone `\r`.
            (0..3usize, 0..40usize),
        );
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok());
        proptest!(ProptestConfig::with_cases(cases.unwrap_or(300)), |((dialogues, head, indent, key, (breaks, k)) in case)| {
            let mut text = format!("{head}endpoint: {{base_url: mock, agent_id: ag}}\n{key}");
            for (i, lines) in dialogues.iter().enumerate() {
                text += &format!("{indent}- name: d{i}\n");
                for l in lines {
                    // Written for items at two spaces; at column 0 every line moves left by two.
                    let l = if indent.is_empty() { l.strip_prefix("  ").unwrap_or(l) } else { l };
                    text += l;
                }
                text += &format!("{indent}  turns: [{{user: hello {i}}}]\n");
            }
            let text = match breaks {
                0 => text,
                1 => text.replace('\n', "\r\n"),
                _ => {
                    let at = text.match_indices('\n').map(|(i, _)| i).nth(k % text.matches('\n').count());
                    let mut bytes = text.into_bytes();
                    if let Some(at) = at {
                        bytes[at] = b'\r';
                    }
                    String::from_utf8(bytes).expect("one ASCII byte for another")
                }
            };
            let file = SourceFile::new("p.yaml", text.as_str());
            if let Some(pieces) = load_in_pieces(&file, &ConfigState::None, &opts(), 1) {
                let whole = super::super::load_whole(&file, &ConfigState::None, &opts());
                prop_assert_eq!(show(&pieces), show(&whole), "{}", text);
            }
        });
    }

    /// The whole-file parse succeeds (whatever the checks say).
    fn source_parses(file: &SourceFile) -> bool {
        crate::yaml::parse_all::<crate::suite::raw::RawSuite>(file).is_ok()
    }

    #[test]
    fn a_head_key_after_the_dialogues_reads_the_file_whole() {
        let text = "dialogues:\n  - name: a\n    turns: [{user: hi}]\nendpoint:\n  base_url: mock\n  agent_id: x\n";
        let file = SourceFile::new("late.yaml", text);
        assert!(both(&file, &ConfigState::None).is_none());
        // `name` and `normalize` do not change how a dialogue is checked: still streamed.
        let text = "endpoint: {base_url: mock, agent_id: x}\ndialogues:\n  - name: a\n    turns: [{user: hi}]\n  - name: ''\n    turns: []\nnormalize:\n  - {pattern: '(', replace: x}\nname: ''\n";
        let file = SourceFile::new("names.yaml", text);
        let (ours, whole) = both(&file, &ConfigState::None).expect("streamed");
        assert_eq!(ours, whole);
        assert!(ours.contains("the suite name is empty"), "{ours}");
        assert!(ours.contains("invalid regex"), "{ours}");
    }

    #[test]
    fn yaml_errors_and_empty_files_read_the_file_whole() {
        for text in [
            "",
            "  \n",
            "dialogues: [\n",
            "dialogues:\n  - name: a\n    turnz: []\n",
            "- a\n",
        ] {
            let file = SourceFile::new("bad.yaml", text);
            assert!(both(&file, &ConfigState::None).is_none(), "{text:?}");
        }
    }
}
