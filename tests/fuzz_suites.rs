//! The suite loader on broken input: the example suites and configs (suites/ and
//! tests/fixtures/suites/ with its billing, judging and kinds folders), mutated at random by
//! line, token and byte, go through the library loader (`agenttest::suite::load_paths`) on a
//! temporary directory. Whatever the input, it must not panic, and every diagnostic must point
//! at a real place of the file it names (a line ≥ 1 within the file, a column ≥ 1) or be a
//! file-level error that names the file; rendering it must not panic either.
//!
//! The run is bounded (256 cases by default, a couple of seconds) and seeded, so CI sees the
//! same cases every time; `PROPTEST_RNG_SEED=N` or `PROPTEST_CASES=N` explore further.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agenttest::diag::{Diagnostic, Severity};
use agenttest::suite::{load_paths, LoadOptions};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `*.yaml` / `*.yml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read seed dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// The seeds: (configs, suites), as text.
fn seeds() -> (Vec<String>, Vec<String>) {
    let mut configs = Vec::new();
    let mut suites = Vec::new();
    for dir in [
        "suites",
        "tests/fixtures/suites",
        "tests/fixtures/suites/billing",
        "tests/fixtures/suites/judging",
        "tests/fixtures/suites/kinds",
    ] {
        for f in yaml_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&f).expect("read seed");
            if f.file_name().is_some_and(|n| n == "agenttest.yaml") {
                configs.push(text);
            } else {
                suites.push(text);
            }
        }
    }
    assert!(
        configs.len() >= 3 && suites.len() >= 8,
        "seeds went missing"
    );
    (configs, suites)
}

/// Bits of YAML that change a document's shape.
const PUNCTUATION: &[&str] = &[
    ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "'", "\"", "&a ", "*a", "!!str ", "!!map ", "|",
    ">-", "# ", "? ", "%", "@", "`", "\t", "\n", "\r", "---\n", "...", "<<: *a", "\\",
];

/// Values that are wrong in some field: wrong type, out of range, empty, odd templates.
const SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "0",
    "-1",
    "99999999999999999999999",
    "1.5",
    "-0.0",
    ".nan",
    "true",
    "[]",
    "{}",
    "[[]]",
    "'x'",
    "\"{{x}}\"",
    "'{{'",
    "${UNSET_FUZZ_VAR}",
    "${FUZZ_EMPTY}",
    "${",
    "(",
    "'[a-'",
    "0s",
    "1/0s",
    "5/s",
    "0/s",
    "999999999h",
    "mock",
    "replay",
    "http://",
    "ftp://x",
    "é\u{301}",
    "\u{feff}",
    "'\u{0}'",
    "\"\\u0000\"",
    "*a",
    "&a x",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    Indent(Index, i8),
    InsertPunctuation(Index, Index, &'static str),
    ReplaceScalar(Index, &'static str),
    DeleteByte(Index),
    InsertByte(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), -4i8..=4).prop_map(|(i, d)| Mutation::Indent(i, d)),
        (
            any::<Index>(),
            any::<Index>(),
            prop::sample::select(PUNCTUATION)
        )
            .prop_map(|(l, c, p)| Mutation::InsertPunctuation(l, c, p)),
        (any::<Index>(), prop::sample::select(SCALARS))
            .prop_map(|(l, s)| Mutation::ReplaceScalar(l, s)),
        any::<Index>().prop_map(Mutation::DeleteByte),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
    ]
}

/// The largest index not past `s.len()` that is a char boundary.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply_to_lines(text: &[u8], m: &Mutation) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return None;
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(n));
        }
        Mutation::DuplicateLine(i) => {
            let i = i.index(n);
            lines.insert(i, lines[i].clone());
        }
        Mutation::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
        Mutation::Indent(i, d) => {
            let line = &mut lines[i.index(n)];
            if *d >= 0 {
                line.insert_str(0, &" ".repeat(*d as usize));
            } else {
                let strip = line.len() - line.trim_start_matches(' ').len();
                line.drain(..strip.min(d.unsigned_abs() as usize));
            }
        }
        Mutation::InsertPunctuation(l, c, p) => {
            let line = &mut lines[l.index(n)];
            let at = floor_boundary(line, c.index(line.len() + 1));
            line.insert_str(at, p);
        }
        Mutation::ReplaceScalar(l, s) => {
            let line = &mut lines[l.index(n)];
            let at = line.find(": ").map(|i| i + 2).unwrap_or(line.len());
            let end = line[at..].find(" #").map_or(line.len(), |i| at + i);
            line.replace_range(at..end, s);
        }
        Mutation::DeleteByte(_) | Mutation::InsertByte(..) => return None,
    }
    Some((lines.join("\n") + "\n").into_bytes())
}

fn apply(mut text: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::DeleteByte(i) if !text.is_empty() => {
            let i = i.index(text.len());
            text.remove(i);
            text
        }
        Mutation::InsertByte(i, b) => {
            let i = i.index(text.len() + 1);
            text.insert(i, *b);
            text
        }
        _ => apply_to_lines(&text, m).unwrap_or(text),
    }
}

/// A mutated case: the config beside the suite, and which of the two was mutated.
#[derive(Debug, Clone)]
struct Case {
    config: Option<Vec<u8>>,
    suite: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    let (configs, suites) = seeds();
    (
        prop::option::of(prop::sample::select(configs)),
        prop::sample::select(suites),
        any::<bool>(),
        prop::collection::vec(mutation(), 1..5),
    )
        .prop_map(|(config, suite, mutate_config, mutations)| {
            let mut config = config.map(String::into_bytes);
            let mut suite = suite.into_bytes();
            let target = match (&mut config, mutate_config) {
                (Some(c), true) => c,
                _ => &mut suite,
            };
            for m in &mutations {
                *target = apply(std::mem::take(target), m);
            }
            Case { config, suite }
        })
}

fn env() -> LoadOptions {
    let vars = [
        ("AGENTTEST_API_KEY", "ak_fuzz_key_123"),
        ("AGENTTEST_FIXTURE_KEY", "ak_fuzz_key_123"),
        ("TEAM", "support"),
        ("FUZZ_EMPTY", ""),
    ];
    LoadOptions::with_env(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// What is wrong with one diagnostic's place, if anything.
fn misplaced(d: &Diagnostic, dir: &Path) -> Option<String> {
    if !d.path.starts_with(dir) {
        return Some(format!(
            "names a file outside the case: {}",
            d.path.display()
        ));
    }
    if !d.span.is_known() {
        // A file-level error: it must say which file, in its message.
        let name = d.path.file_name()?.to_string_lossy().into_owned();
        return (!d.message.contains(&name))
            .then(|| "has no line and does not name its file in the message".to_string());
    }
    let bytes = std::fs::read(&d.path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    // The place just past the last line (an unexpected end of file) is a place too.
    let lines = text.lines().count() + 1;
    if d.span.line as usize > lines || d.span.column == 0 {
        return Some(format!(
            "points at {}:{} in a file of {} lines",
            d.span.line,
            d.span.column,
            lines - 1
        ));
    }
    None
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(c) = &case.config {
        std::fs::write(dir.path().join("agenttest.yaml"), c).expect("write config");
    }
    std::fs::write(dir.path().join("s.yaml"), &case.suite).expect("write suite");
    let diags = match load_paths(&[dir.path().to_path_buf()], &env()) {
        Ok(_) => Vec::new(),
        Err(errors) => {
            prop_assert!(
                errors.iter().any(|d| d.severity == Severity::Error),
                "an Err with no error in it"
            );
            errors
        }
    };
    for d in &diags {
        let rendered = d.render(false);
        if let Some(why) = misplaced(d, dir.path()) {
            return Err(TestCaseError::fail(format!(
                "a diagnostic {why}:\n{rendered}\n--- s.yaml\n{}\n--- agenttest.yaml\n{}",
                String::from_utf8_lossy(&case.suite),
                String::from_utf8_lossy(case.config.as_deref().unwrap_or_default()),
            )));
        }
    }
    Ok(())
}

fn config() -> Config {
    let mut config = Config {
        cases: 256,
        // Failures are printed shrunk; no regression files are written into the source tree.
        failure_persistence: None,
        ..Config::default()
    };
    if config.rng_seed == RngSeed::Random && std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x5eed_a9e7);
    }
    if let Some(cases) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
    {
        config.cases = cases;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_suites_load_or_point_at_a_real_place(case in case()) {
        check(&case)?;
    }
}
