//! Scripts the mock refuses at start: each error at `file:line:column` with the quoted line,
//! exit 2, nothing listening. Also the other start-up refusals (bind failure, `--replay`).

mod mock_common;

use mock_common::{fixture, refused};

fn refuse(name: &str) -> String {
    let path = fixture(name);
    let (code, stderr) = refused(&["--script", &path]);
    assert_eq!(code, 2, "{stderr}");
    stderr
}

#[test]
fn bad_regex() {
    let err = refuse("bad_regex.yaml");
    assert!(err.contains("error: invalid regex in `when`"), "{err}");
    assert!(
        err.contains("tests/fixtures/mock/bad_regex.yaml:4:15"),
        "{err}"
    );
    assert!(err.contains("      - when: '(unclosed'"), "{err}");
    assert!(err.contains("^^^^^^^^^^^ unclosed group"), "{err}");
}

#[test]
fn unknown_key_with_suggestion() {
    let err = refuse("unknown_key.yaml");
    assert!(err.contains("error: unknown field `rulez`"), "{err}");
    assert!(
        err.contains("tests/fixtures/mock/unknown_key.yaml:3:5"),
        "{err}"
    );
    assert!(err.contains("did you mean `rules`?"), "{err}");
}

#[test]
fn wrong_type() {
    let err = refuse("wrong_type.yaml");
    assert!(
        err.contains("tests/fixtures/mock/wrong_type.yaml:3:21"),
        "{err}"
    );
    assert!(err.contains("balance_tokens: lots"), "{err}");
}

#[test]
fn yaml_syntax() {
    let err = refuse("yaml_syntax.yaml");
    assert!(
        err.contains("tests/fixtures/mock/yaml_syntax.yaml:5:4"),
        "{err}"
    );
    assert!(err.contains("did not find expected key"), "{err}");
}

#[test]
fn every_bad_value_at_once() {
    let err = refuse("bad_values.yaml");
    for (place, what) in [
        ("bad_values.yaml:3:14", "error: invalid duration"),
        ("bad_values.yaml:4:17", "error: invalid `rate_limit`"),
        ("bad_values.yaml:7:16", "error: invalid regex in `after`"),
        ("bad_values.yaml:8:16", "error: invalid reply template"),
    ] {
        assert!(
            err.contains(place) && err.contains(what),
            "{place} {what}:\n{err}"
        );
    }
    assert!(err.contains("4 errors found; not starting"), "{err}");
}

#[test]
fn missing_script_file() {
    let (code, err) = refused(&["--script", "tests/fixtures/mock/does_not_exist.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("failed to read mock script"), "{err}");
    assert!(err.contains("does_not_exist.yaml"), "{err}");
}

#[test]
fn bind_failure_is_exit_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenttest"))
        .args(["mock", "--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("error: failed to listen on {addr}")),
        "{err}"
    );
}

#[test]
fn replay_and_script_cannot_be_combined() {
    let (code, err) = refused(&[
        "--script",
        "tests/fixtures/mock/basic.yaml",
        "--replay",
        "tests/fixtures/mock/replay",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be combined"), "{err}");
}

#[test]
fn replay_without_goldens() {
    let (code, err) = refused(&[
        "--replay",
        "tests/fixtures/mock/replay/support.yaml.missing",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file or directory to replay"), "{err}");
    let (code, err) = refused(&["--replay", "tests/fixtures/mock/bench.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("neither a golden transcript nor a suite with goldens"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let (code, err) = refused(&["--replay", empty.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no golden transcripts to replay"), "{err}");
}

#[test]
fn a_script_that_is_not_utf8_is_refused_at_its_line_and_column() {
    // `    fallback: caf` is 17 characters: the bad byte is column 18 of line 3.
    let err = refuse("non_utf8.yaml");
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert!(
        err.contains("tests/fixtures/mock/non_utf8.yaml:3:18"),
        "{err}"
    );
    assert!(err.contains("invalid byte 0xe9"), "{err}");
}

#[test]
fn color_is_chosen_by_the_flag_not_read_from_the_terminal() {
    let (code, plain) = refused(&["--script", &fixture("bad_regex.yaml"), "--color", "never"]);
    assert_eq!(code, 2);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let (code, colored) = refused(&["--script", &fixture("bad_regex.yaml"), "--color", "always"]);
    assert_eq!(code, 2);
    assert!(colored.contains("\u{1b}["), "{colored}");
}
