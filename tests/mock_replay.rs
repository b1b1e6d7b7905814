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
fn replay_accepts_any_key_but_still_checks_the_body() {
    let mock = replay_mock("tests/fixtures/mock/replay/support.golden");
    let resp = mock.post_chat(
        "anything",
        Some("ak_any_1"),
        &json!({"message": "What are your business hours?"}),
    );
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        mock.post_chat("anything", None, &json!({"message": "hi"}))
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        mock.post_chat("anything", Some(KEY), &json!({}))
            .status()
            .as_u16(),
        422
    );
}
