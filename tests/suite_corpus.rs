//! The bad-suite corpus: every case under `tests/bad_suites/` must be refused with exit 2,
//! printing exactly its checked-in diagnostics, without a single connection to the endpoint.
//!
//! To regenerate the expected files after an intended change of wording, run
//!
//! ```sh
//! AGENTTEST_UPDATE_CORPUS=1 cargo test --test suite_corpus
//! ```
//!
//! then review `git diff tests/bad_suites/` by eye: those files are what a user reads.
//!
//! Each case is a directory holding:
//! - the broken suite files;
//! - `case.txt`: `# comment` lines saying what is wrong, and optionally `path: P`, what to pass
//!   on the command line, relative to `tests/bad_suites/` (default: the case's directory);
//! - `expected.err`: the whole stderr of `agenttest validate P --color never`, run from
//!   `tests/bad_suites/` so every path in it is relative and stable;
//! - `expected.run.err`, only when it differs: the whole stderr of
//!   `agenttest run P --endpoint URL --color never` (the endpoint's port is written `<PORT>`).
//!   Without it, `run` must print `expected.err`.
//!
//! The library (`load_paths` + `render_all`) must print the same text as the binary, both ways.
//!
//! `tests/bad_suites/agenttest.yaml` gives every case without a config of its own an api key,
//! so that `run --endpoint URL` (a live endpoint, which needs one) differs from `validate` only
//! where a case is about that difference.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use agenttest::diag::render_all;
use agenttest::suite::{load_paths, BaseUrl, EndpointOverrides, LoadOptions};

/// Set to anything to rewrite the expected files instead of comparing with them.
const UPDATE_VAR: &str = "AGENTTEST_UPDATE_CORPUS";

/// The env var every `${...}` in the corpus names: unset in the child and in the library.
const UNSET_VAR: &str = "AGENTTEST_CORPUS_SURELY_UNSET";

struct Case {
    name: String,
    dir: PathBuf,
    /// Relative to the corpus directory, as passed on the command line.
    path: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_suites")
}

fn updating() -> bool {
    std::env::var_os(UPDATE_VAR).is_some_and(|v| !v.is_empty())
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter().map(read_case).collect()
}

fn read_case(dir: PathBuf) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let spec = std::fs::read_to_string(dir.join("case.txt"))
        .unwrap_or_else(|e| panic!("{name}: case.txt: {e}"));
    let mut path = name.clone();
    let mut described = false;
    for line in spec.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            described = true;
        } else if let Some(p) = line.strip_prefix("path: ") {
            path = p.to_string();
        } else {
            panic!("{name}: case.txt: bad line {line:?}");
        }
    }
    assert!(described, "{name}: case.txt says nothing about the case");
    Case { name, dir, path }
}

/// What one way of loading printed, and with which exit code (None for the library).
struct Output {
    how: &'static str,
    code: Option<i32>,
    text: String,
}

fn run_binary(args: &[&str], endpoint: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agenttest"))
        .args(args)
        .args(["--color", "never"])
        .current_dir(corpus_dir())
        .env_remove("AGENTTEST_BASE_URL")
        .env_remove("AGENTTEST_AGENT_ID")
        .env_remove(UNSET_VAR)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).replace(endpoint, "http://127.0.0.1:<PORT>");
    (out.status.code(), text)
}

/// What `validate` and `run --endpoint` print through the library, with the corpus
/// directory taken off every path so the text reads as the binary's (run from there).
fn run_library(path: &str, endpoint: Option<&str>) -> String {
    let mut opts = LoadOptions {
        env: Arc::new(|_| None),
        overrides: EndpointOverrides::default(),
        read: Default::default(),
    };
    if let Some(url) = endpoint {
        opts.overrides.base_url = Some(BaseUrl::Url(url.to_string()));
    }
    let prefix = format!("{}/", corpus_dir().display());
    match load_paths(&[corpus_dir().join(path)], &opts) {
        Ok(_) => "(loaded without error)\n".to_string(),
        Err(diags) => {
            let text = render_all(&diags, false).replace(&prefix, "");
            match endpoint {
                Some(url) => text.replace(url, "http://127.0.0.1:<PORT>"),
                None => text,
            }
        }
    }
}

fn outputs(case: &Case, endpoint: &str) -> [Output; 4] {
    let (vcode, vtext) = run_binary(&["validate", &case.path], endpoint);
    let (rcode, rtext) = run_binary(&["run", &case.path, "--endpoint", endpoint], endpoint);
    [
        Output {
            how: "validate",
            code: vcode,
            text: vtext,
        },
        Output {
            how: "run --endpoint",
            code: rcode,
            text: rtext,
        },
        Output {
            how: "library, as validate",
            code: None,
            text: run_library(&case.path, None),
        },
        Output {
            how: "library, as run --endpoint",
            code: None,
            text: run_library(&case.path, Some(endpoint)),
        },
    ]
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A line diff of expected and actual, for a failure message.
fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// Writes the case's expected files from the binary's output (`validate`, then `run` only
/// where it differs).
fn update(case: &Case, validate: &str, run: &str) {
    std::fs::write(case.dir.join("expected.err"), validate).unwrap();
    let run_file = case.dir.join("expected.run.err");
    if run == validate {
        if run_file.exists() {
            std::fs::remove_file(&run_file).unwrap();
        }
    } else {
        std::fs::write(&run_file, run).unwrap();
    }
}

/// Every way of loading the case against its expected files; one message per mismatch.
fn check(case: &Case, outs: &[Output; 4]) -> Vec<String> {
    let mut failures = Vec::new();
    let validate_file = case.dir.join("expected.err");
    let Some(validate) = read(&validate_file) else {
        return vec![format!(
            "{}: no expected.err; run `{UPDATE_VAR}=1 cargo test --test suite_corpus`",
            case.name
        )];
    };
    let run = read(&case.dir.join("expected.run.err")).unwrap_or_else(|| validate.clone());
    for (out, expected) in outs.iter().zip([&validate, &run, &validate, &run]) {
        if out.code.is_some() && out.code != Some(2) {
            failures.push(format!(
                "{} ({}): exit {:?}, not 2:\n{}",
                case.name, out.how, out.code, out.text
            ));
        }
        if &out.text != expected {
            failures.push(format!(
                "{} ({}): output differs from its expected file:\n{}",
                case.name,
                out.how,
                diff(expected, &out.text)
            ));
        }
    }
    failures
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 15,
        "the corpus has {} cases",
        cases().len()
    );
}

/// Each case, through `validate`, `run --endpoint` and the library: exit 2, exactly the
/// expected text, and not one connection to the endpoint `run` was given.
#[test]
fn every_bad_suite_prints_its_expected_errors_without_sending() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let mut failures = Vec::new();
    for case in cases() {
        let outs = outputs(&case, &endpoint);
        if updating() {
            update(&case, &outs[0].text, &outs[1].text);
        }
        failures.extend(check(&case, &outs));
    }
    let mut connections = 0;
    loop {
        match listener.accept() {
            Ok(_) => connections += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("accept: {e}"),
        }
    }
    assert_eq!(connections, 0, "a bad suite made a connection");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Three bad dialogues in one file and a second bad file: four errors, one call, path order.
#[test]
fn all_errors_of_all_files_at_once_in_path_order() {
    let dir = corpus_dir().join("many_errors");
    // Named in reverse order: the output is still sorted by path.
    let paths = [dir.join("b.yaml"), dir.join("a.yaml")];
    let opts = LoadOptions {
        env: Arc::new(|_| None),
        overrides: EndpointOverrides::default(),
        read: Default::default(),
    };
    let diags = load_paths(&paths, &opts).unwrap_err();
    let got: Vec<(String, u32, u32)> = diags
        .iter()
        .map(|d| {
            let file = d.path.file_name().unwrap().to_string_lossy().into_owned();
            (file, d.span.line, d.span.column)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a.yaml".to_string(), 6, 25),
            ("a.yaml".to_string(), 8, 12),
            ("a.yaml".to_string(), 11, 19),
            ("b.yaml".to_string(), 6, 26),
        ]
    );
}
