//! `agenttest mock --replay`: golden transcripts served as an agent (SPEC §7).

mod mock_common;

use mock_common::{Mock, KEY};
use serde_json::json;

fn replay_mock(path: &str) -> Mock {
    Mock::start_with(&["--replay", path])
}

#[test]
fn replays_a_golden_turn_by_turn_with_its_statuses() {
    let mock = replay_mock("tests/fixtures/mock/replay");
    let (status, first) = mock.chat("ag_support", "What are your business hours?", Some("r-1"));
    assert_eq!(status, 200);
    assert_eq!(
        first["response"],
        "Our business hours are Monday through Friday, 9 AM to 6 PM EST."
    );
    assert_eq!(first["session_id"], "r-1");
    let (status, second) = mock.chat("ag_support", "And on Saturdays?", Some("r-1"));
    assert_eq!(status, 200);
    assert_eq!(
        second["response"],
        "On weekends we are open Saturday 10 AM to 2 PM EST."
    );

    // The same opening continues into the other golden in another session.
    mock.chat("ag_other", "What are your business hours?", Some("r-2"));
    let (status, failed) = mock.chat("ag_other", "boom", Some("r-2"));
    assert_eq!(status, 500);
    assert_eq!(
        failed,
        json!({"detail": "Agent execution error: the demo agent was asked to fail"})
    );

    // A session the server names works too.
    let (_, named) = mock.chat("ag_support", "What are your business hours?", None);
    let sid = named["session_id"].as_str().unwrap();
    assert!(!sid.is_empty());
    assert_eq!(
        mock.chat("ag_support", "And on Saturdays?", Some(sid)).0,
        200
    );
}

#[test]
fn no_match_is_404_naming_the_nearest_golden() {
    let mock = replay_mock("tests/fixtures/mock/replay/support.yaml");
    mock.chat("ag_support", "What are your business hours?", Some("n-1"));
    let (status, body) = mock.chat("ag_support", "And on Saturday?", Some("n-1"));
    assert_eq!(status, 404);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("turn 2"), "{detail}");
    assert!(
        detail.contains("support.golden/business-hours.yaml"),
        "{detail}"
    );
    assert!(detail.contains("\"And on Saturdays?\""), "{detail}");
    // The unmatched message is not part of the session: the right one still continues it.
    assert_eq!(
        mock.chat("ag_support", "And on Saturdays?", Some("n-1")).0,
        200
    );
    // Pending `.new` goldens are not served.
    assert_eq!(mock.chat("ag_support", "pending only", None).0, 404);
}

#[test]
fn replay_asks_for_no_key_but_still_checks_the_body() {
    let mock = replay_mock("tests/fixtures/mock/replay/support.golden");
    let resp = mock.post_chat(
        "anything",
        Some("ak_any_1"),
        &json!({"message": "What are your business hours?"}),
    );
    assert_eq!(resp.status().as_u16(), 200);
    // Goldens record no key, and a suite run against a keyless agent replays as it ran.
    let resp = mock.post_chat(
        "anything",
        None,
        &json!({"message": "What are your business hours?"}),
    );
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        mock.post_chat("anything", Some(KEY), &json!({}))
            .status()
            .as_u16(),
        422
    );
}

const GOLDEN: &str = "# agenttest golden transcript. Update with: agenttest run --bless
suite: s
dialogue: hours
turns:
  - user: hours?
    status: 200
    agent: nine to five
";

#[cfg(unix)]
#[test]
fn a_symlink_loop_under_the_goldens_does_not_hang_and_linked_dirs_are_not_entered() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("suites/s.golden")).unwrap();
    std::fs::write(root.join("suites/s.golden/hours.yaml"), GOLDEN).unwrap();
    // Loops: a directory linking to itself and to its parent.
    symlink(root.join("suites"), root.join("suites/again")).unwrap();
    symlink(root.join("suites"), root.join("suites/s.golden/up")).unwrap();
    // A golden directory elsewhere, reachable only through a link: not served.
    std::fs::create_dir_all(root.join("elsewhere/t.golden")).unwrap();
    std::fs::write(
        root.join("elsewhere/t.golden/other.yaml"),
        GOLDEN.replace("hours?", "linked?"),
    )
    .unwrap();
    symlink(
        root.join("elsewhere/t.golden"),
        root.join("suites/t.golden"),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let mock = replay_mock(root.join("suites").to_str().unwrap());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let (status, body) = mock.chat("ag", "hours?", None);
    assert_eq!(
        (status, body["response"].as_str()),
        (200, Some("nine to five"))
    );
    let (status, _) = mock.chat("ag", "linked?", None);
    assert_eq!(
        status, 404,
        "a golden behind a directory link is not served"
    );
}

#[test]
fn goldens_are_parsed_as_strictly_as_the_judge_reads_them() {
    use mock_common::refused;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s.golden");
    std::fs::create_dir_all(&dir).unwrap();
    // A misspelled key: the judge refuses this file, so replay must not serve it either.
    std::fs::write(dir.join("typo.yaml"), GOLDEN.replace("agent:", "agnet:")).unwrap();
    // A turn without its status.
    std::fs::write(
        dir.join("short.yaml"),
        GOLDEN.replace("    status: 200\n", ""),
    )
    .unwrap();
    let (code, err) = refused(&["--replay", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown field `agnet`"), "{err}");
    assert!(err.contains("typo.yaml:7:5"), "{err}");
    assert!(err.contains("short.yaml"), "{err}");
    assert!(err.contains("2 errors found; not starting"), "{err}");
}

#[test]
fn a_replayed_session_is_listed_with_its_matched_messages_only() {
    let mock = replay_mock("tests/fixtures/mock/replay");
    mock.chat("ag_support", "What are your business hours?", Some("r-9"));
    let (status, _) = mock.chat("ag_support", "something else", Some("r-9"));
    assert_eq!(status, 404);
    let sessions = mock.get("/_mock/sessions");
    assert_eq!(sessions["r-9"], json!(["What are your business hours?"]));
    // An id that never matched opens no session.
    mock.chat("ag_support", "nothing like a golden", Some("r-10"));
    assert!(mock.get("/_mock/sessions").get("r-10").is_none());
}
