//! The bad-suite corpus: every case under `tests/bad_suites/` must be refused with exit 2,
//! at the `file:line:column` its `case.expected` names, with its message, and without a
//! single connection to the endpoint.
//!
//! `case.expected` holds `# comment` lines and:
//! - `path: P` — what to pass on the command line, relative to `tests/bad_suites/`
//!   (default: the case's directory);
//! - `at: LOCATION` — a `file:line:column` (or a bare path) that must appear, relative to
//!   `tests/bad_suites/`; several `at:` lines must appear in that order;
//! - `fragment: TEXT` — text that must appear in the output (any number).

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use agenttest::diag::render_all;
use agenttest::suite::{load_paths, BaseUrl, EndpointOverrides, LoadOptions};

struct Case {
    name: String,
    path: String,
    at: Vec<String>,
    fragments: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_suites")
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let spec = std::fs::read_to_string(dir.join("case.expected"))
            .unwrap_or_else(|e| panic!("{name}: case.expected: {e}"));
        let mut case = Case {
            name: name.clone(),
            path: name.clone(),
            at: Vec::new(),
            fragments: Vec::new(),
        };
        for line in spec.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("{name}: bad line {line:?}"));
            match key {
                "path" => case.path = value.to_string(),
                "at" => case.at.push(value.to_string()),
                "fragment" => case.fragments.push(value.to_string()),
                _ => panic!("{name}: unknown key {key:?}"),
            }
        }
        assert!(!case.at.is_empty(), "{name}: no `at:`");
        out.push(case);
    }
    out
}

/// Every `at` in order, and every fragment, somewhere in `output`.
fn check(case: &Case, how: &str, output: &str) -> Result<(), String> {
    let mut from = 0;
    for at in &case.at {
        // Followed by a non-digit, so `x.yaml:1:2` does not match `x.yaml:1:23`.
        let found = output[from..].match_indices(at.as_str()).find(|(i, _)| {
            !output[from + i + at.len()..].starts_with(|c: char| c.is_ascii_digit())
        });
        match found {
            Some((i, _)) => from += i + at.len(),
            None => {
                return Err(format!(
                    "{} ({how}): `{at}` not found (in order) in:\n{output}",
                    case.name
                ))
            }
        }
    }
    for f in &case.fragments {
        if !output.contains(f.as_str()) {
            return Err(format!(
                "{} ({how}): `{f}` not found in:\n{output}",
                case.name
            ));
        }
    }
    Ok(())
}

fn no_env() -> LoadOptions {
    LoadOptions {
        env: Arc::new(|_| None),
        overrides: EndpointOverrides::default(),
    }
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 15,
        "the corpus has {} cases",
        cases().len()
    );
}

/// What `validate` and `run --endpoint` do, through the library: the same errors both ways.
#[test]
fn every_bad_suite_is_refused_by_the_loader() {
    let mut failures = Vec::new();
    for case in cases() {
        let path = corpus_dir().join(&case.path);
        let mut run_opts = no_env();
        run_opts.overrides.base_url = Some(BaseUrl::Url("http://127.0.0.1:9".into()));
        for (how, opts) in [("validate", no_env()), ("run --endpoint", run_opts)] {
            match load_paths(std::slice::from_ref(&path), &opts) {
                Ok(_) => failures.push(format!("{} ({how}): loaded without error", case.name)),
                Err(diags) => {
                    if let Err(e) = check(&case, how, &render_all(&diags, false)) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn run_binary(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agenttest"))
        .args(args)
        .current_dir(corpus_dir())
        .env_remove("AGENTTEST_BASE_URL")
        .env_remove("AGENTTEST_AGENT_ID")
        .env_remove("AGENTTEST_CORPUS_SURELY_UNSET")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bad_suite_is_refused_by_the_binary_without_sending() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let mut failures = Vec::new();
    for case in cases() {
        let runs = [
            vec!["run", case.path.as_str(), "--endpoint", endpoint.as_str()],
            vec!["validate", case.path.as_str()],
        ];
        for args in runs {
            let how = args.join(" ");
            let (code, stderr) = run_binary(&args);
            if code != Some(2) {
                failures.push(format!(
                    "{} ({how}): exit {code:?}, not 2:\n{stderr}",
                    case.name
                ));
            }
            if let Err(e) = check(&case, &how, &stderr) {
                failures.push(e);
            }
        }
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
    let diags = load_paths(&paths, &no_env()).unwrap_err();
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
            ("a.yaml".to_string(), 11, 15),
            ("b.yaml".to_string(), 6, 26),
        ]
    );
}
