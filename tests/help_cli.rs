//! `--help` of every command shows examples, the environment variables it reads and its exit
//! codes; `-h` stays short and points there.

mod common;

use common::agenttest;

fn help(args: &[&str]) -> String {
    let out = agenttest().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `merge` joins the list once it exists.
fn commands() -> Vec<&'static str> {
    let mut all = vec![
        "run", "validate", "list", "accept", "reject", "mock", "review", "init",
    ];
    if agenttest()
        .args(["merge", "--help"])
        .output()
        .unwrap()
        .status
        .success()
    {
        all.push("merge");
    }
    all
}

#[test]
fn every_command_help_shows_examples_environment_and_exit_codes() {
    for cmd in commands() {
        let text = help(&[cmd, "--help"]);
        let examples = text
            .find("\nExamples:\n")
            .unwrap_or_else(|| panic!("{cmd}: {text}"));
        assert!(
            text[examples..].contains(&format!("  agenttest {cmd}")),
            "{cmd}: no example of itself\n{text}"
        );
        assert!(text.contains("\nEnvironment:\n"), "{cmd}: {text}");
        let exits = text
            .find("\nExit status:\n")
            .unwrap_or_else(|| panic!("{cmd}: {text}"));
        for code in ["  0 ", "  2 "] {
            assert!(
                text[exits..].contains(code),
                "{cmd}: no exit {code}\n{text}"
            );
        }
    }
}

#[test]
fn run_help_has_the_whole_exit_table_and_its_environment() {
    let text = help(&["run", "--help"]);
    let exits = &text[text.find("Exit status:").unwrap()..];
    for (code, words) in [
        ("0", "every selected dialogue passed"),
        ("1", "at least one dialogue failed"),
        ("2", "nothing was sent"),
        ("3", "at least one errored"),
        ("4", "selected no dialogue"),
        ("130", "interrupted"),
    ] {
        let line = exits
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{code} ")))
            .unwrap_or_else(|| panic!("no exit {code}:\n{exits}"));
        assert!(line.contains(words), "{line}");
    }
    for var in [
        "AGENTTEST_BASE_URL",
        "AGENTTEST_AGENT_ID",
        "NO_COLOR",
        "CI ",
    ] {
        assert!(text.contains(var), "{var}:\n{text}");
    }
}

#[test]
fn short_help_points_at_the_long_one() {
    for cmd in commands() {
        let text = help(&[cmd, "-h"]);
        assert!(
            text.contains("Examples, environment variables and exit codes: --help"),
            "{cmd}: {text}"
        );
        assert!(!text.contains("Exit status:"), "{cmd}: {text}");
    }
    let top = help(&["--help"]);
    assert!(
        top.contains("Examples:") && top.contains("Exit status:"),
        "{top}"
    );
}
