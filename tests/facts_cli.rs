//! `facts:`, `not_facts:` and `golden: {mode: facts}` (SPEC §9.1) through the real binary,
//! against the agents of `tests/fixtures/judge/agents.yaml` served in-process (`base_url:
//! mock` with `mock_script:`): the same answers reworded (times in several formats, "thirty
//! days", "$99.00") pass; a changed fact fails and says what is missing and what the reply
//! states; an added fact fails only `strict: true`.

mod common;

use common::{assert_code, assert_valid_junit, fixture, run_in, stdout, Workspace};
use serde_json::Value;

/// A suite over the fixture's agent `v1` (another version is picked with `--agent`).
fn suite(dialogues: &str) -> String {
    let script = fixture("judge/agents.yaml");
    format!(
        "endpoint: {{base_url: mock, mock_script: '{}', agent_id: v1, api_key: ak_test_123}}\n\
         dialogues:\n{dialogues}",
        script.display()
    )
}

const FACTS: &str = "  - name: hours and refunds
    golden: false
    turns:
      - user: What are your business hours?
        expect:
          facts:
            - time: \"09:00\"
            - time: \"6 PM\"
          not_facts:
            - time: \"10:00\"
      - user: How do refunds work?
        expect:
          facts:
            - {number: 30, unit: days}
            - money: \"99 USD\"
";

fn json(ws: &Workspace, name: &str) -> Value {
    serde_json::from_str(&ws.read(name)).expect("JSON report")
}

#[test]
fn facts_hold_in_any_wording() {
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(FACTS));
    // v1: "9 AM to 6 PM", "30 days", "$99/month"; reworded: "9am until 6:00 p.m.",
    // "thirty days", "$99.00 a month".
    for agent in ["v1", "reworded"] {
        let out = run_in(ws.path(), &["run", "s.yaml", "--agent", agent]);
        assert_code(&out, 0);
        assert!(
            stdout(&out).contains("PASS  s › hours and refunds"),
            "{agent}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn times_on_the_24_hour_clock_are_the_same_facts() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "  - name: hours
    golden: false
    turns:
      - user: What are your business hours?
        expect:
          facts: [{time: 9 AM}, {time: \"18:00\"}]
          not_facts: [{time: \"10:00\"}]
",
        ),
    );
    // "Opening hours: 09:00-18:00, Monday to Friday."
    let out = run_in(ws.path(), &["run", "s.yaml", "--agent", "clock"]);
    assert_code(&out, 0);
}

#[test]
fn a_changed_fact_fails_listing_what_is_missing_and_what_the_reply_states() {
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(FACTS));
    // "We're open weekdays from 10 AM until 6 PM Eastern." / "You have fourteen days ...".
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "--agent", "changed", "--json", "r.json", "--junit", "r.xml",
        ],
    );
    assert_code(&out, 1);
    let console = stdout(&out);
    for line in [
        "FAIL  s › hours and refunds",
        "expected the reply to state time 09:00 (it states time 10:00, time 18:00) (facts at s.yaml:8:11)",
        "expected the reply not to state time 10:00 (not_facts at s.yaml:11:11)",
        "expected the reply to state number 30 day (it states number 14 day, money 99 USD) (facts at s.yaml:15:11)",
        "0 passed, 1 failed, 0 errored",
    ] {
        assert!(console.contains(line), "missing {line:?} in:\n{console}");
    }

    let report = json(&ws, "r.json");
    let turns = &report["dialogues"][0]["attempts"][0]["turns"];
    let keys = |t: usize| -> Vec<String> {
        turns[t]["failures"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .map(|f| f["key"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(keys(0), ["facts", "not_facts"]);
    assert_eq!(keys(1), ["facts"]);
    assert!(
        turns[1]["failures"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("number 30 day") && m.contains("number 14 day")),
        "{turns:#}"
    );

    assert_valid_junit(&ws.path().join("r.xml"));
    let junit = ws.read("r.xml");
    assert!(
        junit.contains("expected the reply to state time 09:00 (it states time 10:00, time 18:00)"),
        "{junit}"
    );
}

#[test]
fn a_reply_without_facts_says_so() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "  - name: off topic
    golden: false
    turns:
      - user: Tell me a joke
        expect:
          facts: [{money: \"$99\"}]
",
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml"]);
    assert_code(&out, 1);
    assert!(
        stdout(&out)
            .contains("expected the reply to state money 99 USD (it states no typed facts)"),
        "{}",
        stdout(&out)
    );
}

/// Two dialogues, loose and strict, whose goldens are blessed from agent `v1`.
fn golden_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "  - name: loose
    golden: {mode: facts}
    turns:
      - user: What are your business hours?
      - user: How do refunds work?
  - name: strict
    golden: {mode: facts, strict: true}
    turns:
      - user: What are your business hours?
      - user: How do refunds work?
",
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless"]);
    assert_code(&out, 0);
    assert!(ws
        .read("s.golden/strict.yaml")
        .contains("agent: Our business hours are Monday through Friday, 9 AM to 6 PM EST."));
    ws
}

#[test]
fn golden_mode_facts_passes_a_reworded_reply() {
    let ws = golden_workspace();
    for agent in ["reworded", "clock"] {
        let out = run_in(ws.path(), &["run", "s.yaml", "--agent", agent]);
        assert_code(&out, 0);
        let console = stdout(&out);
        assert!(console.contains("2 passed, 0 failed"), "{agent}: {console}");
        assert!(!ws.exists("s.golden/loose.yaml.new"), "{agent}");
        assert!(!ws.exists("s.golden/strict.yaml.new"), "{agent}");
    }
}

#[test]
fn golden_mode_facts_fails_a_changed_number_listing_missing_and_added() {
    let ws = golden_workspace();
    // "... from 10 AM until 6 PM ..." / "You have fourteen days ..., $99.00 a month."
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--agent", "changed", "--json", "r.json"],
    );
    assert_code(&out, 1);
    let console = stdout(&out);
    assert!(console.contains("FAIL  s › loose"), "{console}");
    assert!(console.contains("FAIL  s › strict"), "{console}");
    let lines = [
        "turn 1: the facts differ from the golden's: missing time 09:00; added time 10:00",
        "turn 2: the facts differ from the golden's: missing number 30 day; added number 14 day",
    ];
    for line in lines {
        assert_eq!(
            console.matches(line).count(),
            2,
            "both modes list what is missing and what was added: {line:?}\n{console}"
        );
    }
    assert!(ws.exists("s.golden/loose.yaml.new"));
    let report = json(&ws, "r.json");
    for d in report["dialogues"].as_array().expect("dialogues") {
        let golden = &d["attempts"][0]["golden"];
        assert_eq!(golden["status"], "mismatch", "{golden:#}");
        let message = golden["message"].as_str().unwrap_or_default();
        assert!(lines.iter().all(|l| message.contains(l)), "{golden:#}");
    }
}

#[test]
fn golden_mode_facts_fails_an_added_fact_only_when_strict() {
    let ws = golden_workspace();
    // "... from 9am until 6pm, and on Saturdays from 10am to 2pm." /
    // "Refunds within 30 days, or 60 days on the premium plan, which is $99 a month."
    let out = run_in(ws.path(), &["run", "s.yaml", "--agent", "added"]);
    assert_code(&out, 1);
    let console = stdout(&out);
    assert!(console.contains("PASS  s › loose"), "{console}");
    assert!(console.contains("FAIL  s › strict"), "{console}");
    for line in [
        "turn 1: the facts differ from the golden's: added time 10:00, time 14:00",
        "turn 2: the facts differ from the golden's: added number 60 day",
    ] {
        assert!(console.contains(line), "missing {line:?} in:\n{console}");
    }
    assert!(!console.contains("missing "), "{console}");
    assert!(!ws.exists("s.golden/loose.yaml.new"));
    assert!(ws.exists("s.golden/strict.yaml.new"));
}

#[test]
fn golden_mode_facts_lists_added_facts_of_a_passing_turn() {
    let ws = golden_workspace();
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "--agent", "added", "--filter", "loose", "--json", "r.json",
        ],
    );
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("added time 10:00, time 14:00"),
        "{}",
        stdout(&out)
    );
    assert!(
        ws.read("r.json").contains("time 14:00"),
        "{}",
        ws.read("r.json")
    );
}
