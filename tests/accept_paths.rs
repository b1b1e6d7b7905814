//! What `accept` and `reject` make of each kind of path a user names (SPEC §10): a golden
//! transcript named by its own path stands for the pending `.new` beside it (found by an
//! audit: it was taken for a suite, and "no pending goldens" was said while its `.new` sat
//! beside it); with none, the golden is named as having nothing pending. A `.yaml` that is no
//! suite (a mock script) is refused with exit 2, as `--help` says, and nothing is touched.
//! `review` takes paths the same way (`tests/review_cli.rs`, on a terminal).

mod common;

use common::{assert_code, run_in, stderr, stdout, Workspace};

const OLD: &str = "# agenttest golden transcript. Update with: agenttest run --bless\nsuite: s\n\
                   dialogue: hours\nturns:\n  - user: What are your business hours?\n    \
                   status: 200\n    agent: old text\n";

/// A suite `suites/s.yaml` of two dialogues against the built-in mock, each with a golden
/// that differs from what the mock says, a run that left their pending files, and a mock
/// script `suites/mock.yaml` beside them.
fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "suites/s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123}\n\
         dialogues:\n  - name: hours\n    turns: [{user: What are your business hours?}]\n  \
         - name: refund\n    turns: [{user: Can I get a refund?}]\n",
    );
    ws.write("suites/s.golden/hours.yaml", OLD);
    ws.write(
        "suites/s.golden/refund.yaml",
        &OLD.replace("hours", "refund")
            .replace("What are your business refund?", "Can I get a refund?"),
    );
    ws.write(
        "suites/mock.yaml",
        "turns:\n  - match: hi\n    reply: hello\n",
    );
    let out = run_in(ws.path(), &["run", "suites/s.yaml", "-q"]);
    assert_code(&out, 1);
    for name in ["hours", "refund"] {
        assert!(
            ws.exists(&format!("suites/s.golden/{name}.yaml.new")),
            "{name}"
        );
    }
    ws
}

#[test]
fn accept_of_a_golden_promotes_its_pending_file_and_then_says_none_is_left() {
    let ws = workspace();
    let new = ws.read("suites/s.golden/hours.yaml.new");
    let out = run_in(ws.path(), &["accept", "suites/s.golden/hours.yaml"]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "changed   suites/s.golden/hours.yaml\naccepted: 0 created, 1 changed, 0 unchanged\n"
    );
    assert_eq!(ws.read("suites/s.golden/hours.yaml"), new);
    assert!(!ws.exists("suites/s.golden/hours.yaml.new"));
    // Only the golden named: the other dialogue's is still pending.
    assert!(ws.exists("suites/s.golden/refund.yaml.new"));

    // Nothing left for it: said of that golden, exit 0, nothing touched.
    let out = run_in(ws.path(), &["accept", "suites/s.golden/hours.yaml"]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "no pending golden for suites/s.golden/hours.yaml (suites/s.golden/hours.yaml.new does \
         not exist)\n"
    );
    assert_eq!(ws.read("suites/s.golden/hours.yaml"), new);
    // Named with one that has a pending file: that one is accepted, the other is said.
    let out = run_in(
        ws.path(),
        &[
            "accept",
            "suites/s.golden/hours.yaml",
            "suites/s.golden/refund.yaml",
        ],
    );
    assert_code(&out, 0);
    let said = stdout(&out);
    assert!(
        said.contains("no pending golden for suites/s.golden/hours.yaml ("),
        "{said}"
    );
    assert!(
        said.contains("changed   suites/s.golden/refund.yaml\n"),
        "{said}"
    );
    assert!(!ws.exists("suites/s.golden/refund.yaml.new"));
}

#[test]
fn reject_of_a_golden_deletes_its_pending_file_and_keeps_the_golden() {
    let ws = workspace();
    let out = run_in(ws.path(), &["reject", "./suites/s.golden/hours.yaml"]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "deleted   ./suites/s.golden/hours.yaml.new\nrejected: 1 deleted\n"
    );
    assert_eq!(ws.read("suites/s.golden/hours.yaml"), OLD);
    assert!(!ws.exists("suites/s.golden/hours.yaml.new"));
    assert!(ws.exists("suites/s.golden/refund.yaml.new"));
    let out = run_in(ws.path(), &["reject", "suites/s.golden/hours.yaml"]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "no pending golden for suites/s.golden/hours.yaml (suites/s.golden/hours.yaml.new does \
         not exist)\n"
    );
}

/// A golden kept outside its `.golden` directory is still known by its header, and a golden
/// not recorded yet by the path the run gave it: each stands for the `.new` beside it.
#[test]
fn a_golden_known_by_its_header_or_not_written_yet_names_its_pending_file() {
    let ws = workspace();
    ws.write("kept/hours.yaml", OLD);
    ws.write(
        "kept/hours.yaml.new",
        &ws.read("suites/s.golden/hours.yaml.new"),
    );
    let out = run_in(ws.path(), &["reject", "kept/hours.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("deleted   kept/hours.yaml.new"),
        "{}",
        stdout(&out)
    );

    std::fs::remove_file(ws.path().join("suites/s.golden/refund.yaml")).expect("rm");
    let new = ws.read("suites/s.golden/refund.yaml.new");
    let out = run_in(ws.path(), &["accept", "suites/s.golden/refund.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("created   suites/s.golden/refund.yaml"),
        "{}",
        stdout(&out)
    );
    assert_eq!(ws.read("suites/s.golden/refund.yaml"), new);
}

/// A golden is never taken for a suite (it has no dialogues behind it to check): one whose
/// dialogue was renamed since the run is promoted when named by its golden, as when named by
/// its `.new`, where naming the suite sets it aside.
#[test]
fn a_golden_of_a_renamed_dialogue_is_promoted_when_named() {
    let ws = workspace();
    let suite = ws
        .read("suites/s.yaml")
        .replace("name: refund", "name: refunds");
    ws.write("suites/s.yaml", &suite);
    let out = run_in(ws.path(), &["accept", "suites/s.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("skipped   suites/s.golden/refund.yaml.new: no dialogue of"),
        "{}",
        stdout(&out)
    );
    let out = run_in(ws.path(), &["accept", "suites/s.golden/refund.yaml"]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "changed   suites/s.golden/refund.yaml\naccepted: 0 created, 1 changed, 0 unchanged\n"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// A mock script is no suite, a golden or a pending golden: refused with exit 2 as `--help`
/// says ("a path is no pending golden, suite or directory"), saying why, nothing touched.
/// A suite that has no goldens yet still has nothing pending.
#[test]
fn a_yaml_that_is_no_suite_is_refused_with_exit_2() {
    let ws = workspace();
    for cmd in ["accept", "reject"] {
        let out = run_in(ws.path(), &[cmd, "suites/mock.yaml", "--color", "never"]);
        assert_code(&out, 2);
        let err = stderr(&out);
        assert!(
            err.starts_with(
                "error: not a suite, a directory or a pending golden\n  --> suites/mock.yaml\n  \
                 = note: it has no `dialogues:`, so it is no suite"
            ),
            "{cmd}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{cmd}: {}", stdout(&out));
        assert!(ws.exists("suites/s.golden/hours.yaml.new"), "{cmd}");
        assert_eq!(ws.read("suites/s.golden/hours.yaml"), OLD, "{cmd}");
    }
    // With a right path beside it, nothing is done either.
    let out = run_in(ws.path(), &["reject", "suites/s.yaml", "suites/mock.yaml"]);
    assert_code(&out, 2);
    assert!(ws.exists("suites/s.golden/hours.yaml.new"));

    ws.write(
        "suites/new.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_test_123}\n\
         dialogues:\n  - name: hi\n    turns: [{user: hi}]\n",
    );
    let out = run_in(ws.path(), &["accept", "suites/new.yaml"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "no pending goldens\n");
}
