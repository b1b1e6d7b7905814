//! Noise-tolerant gating (SPEC §7) against a seeded paraphrasing agent: a 3-of-5 gate holds
//! through harmless noise and fails on a changed fact; reruns mark a dialogue that fails once
//! then passes as FLAKY in every report; replay runs a blessed suite offline.

mod common;

use common::*;

fn gate_suite(url: &str) -> String {
    format!(
        r#"endpoint: {{base_url: "{url}", agent_id: ag_noisy, api_key: ak_test_123, retries: 0}}
dialogues:
  - name: hours
    repeat: 5
    min_pass: 3
    golden: false
    turns:
      - user: What are your business hours?
        expect: {{contains: [Monday, "9 AM"]}}
      - user: And on Saturday?
        expect: {{regex: '10 AM.*2 PM'}}
"#
    )
}

fn json(ws: &Workspace, name: &str) -> serde_json::Value {
    serde_json::from_str(&ws.read(name)).expect("JSON report")
}

#[test]
fn a_three_of_five_gate_passes_a_paraphrasing_agent_reproducibly() {
    let ws = Workspace::new();
    let mut seen = Vec::new();
    for _ in 0..2 {
        // A fresh mock each time: the same seed must give the same verdict.
        let mock = Mock::start(&fixture("noise/agent.yaml"));
        ws.write("gate.yaml", &gate_suite(&mock.url));
        let out = run_in(
            ws.path(),
            &["run", "gate.yaml", "--json", "r.json", "--junit", "r.xml"],
        );
        assert_code(&out, 0);
        let text = stdout(&out);
        // The noise is real: not every run passed, and the gate still held.
        assert!(
            text.contains("PASS  gate › hours  (2 turns, 4/5 runs passed"),
            "{text}"
        );
        let report = json(&ws, "r.json");
        let d = &report["dialogues"][0];
        assert_eq!(d["repeat"], 5);
        assert_eq!(d["min_pass"], 3);
        assert_eq!(d["passed_runs"], 4);
        assert_eq!(d["attempts"].as_array().map(Vec::len), Some(5));
        // Every run had its own session.
        let mut ids: Vec<&str> = d["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .filter_map(|a| a["session_id"].as_str())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5);
        assert_valid_junit(&ws.path().join("r.xml"));
        seen.push(
            d["attempts"]
                .as_array()
                .expect("attempts")
                .iter()
                .map(|a| a["outcome"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(seen[0], seen[1], "seeded noise reproduces run for run");
}

#[test]
fn a_changed_fact_fails_the_gate_and_says_how_often() {
    let mock = Mock::start(&fixture("noise/changed_fact.yaml"));
    let ws = Workspace::new();
    ws.write("gate.yaml", &gate_suite(&mock.url));
    let out = run_in(
        ws.path(),
        &["run", "gate.yaml", "--color", "never", "--junit", "r.xml"],
    );
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  gate › hours  (2 turns, 0/5 runs passed"),
        "{text}"
    );
    assert!(text.contains("0/5 runs passed (needs 3)"), "{text}");
    assert!(text.contains("turn 1 contains: met in 0/5 runs"), "{text}");
    assert_valid_junit(&ws.path().join("r.xml"));
    let xml = ws.read("r.xml");
    assert!(xml.contains("0/5"), "{xml}");
}

#[test]
fn reruns_mark_a_dialogue_that_passes_later_as_flaky_in_every_report() {
    let mock = Mock::start(&fixture("noise/agent.yaml"));
    let ws = Workspace::new();
    // Under seed 1 the first session opening with this message draws the paraphrase that lost
    // the fact, and the second one draws a good one.
    ws.write(
        "f.yaml",
        &format!(
            "endpoint: {{base_url: \"{}\", agent_id: ag_noisy, api_key: ak_test_123, retries: 0}}\ndialogues:\n  - name: store hours\n    golden: false\n    turns:\n      - user: Business hours for store 4?\n        expect: {{contains: Monday}}\n  - name: steady\n    golden: false\n    turns: [{{user: And on Saturday?, expect: {{contains: Saturday}}}}]\n",
            mock.url
        ),
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "f.yaml", "--reruns", "2", "--color", "never", "--junit", "r.xml", "--json",
            "r.json",
        ],
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("FLAKY f › store hours  (1 turn, 1 rerun"),
        "{text}"
    );
    assert!(
        text.contains("2 passed (1 flaky), 0 failed, 0 errored, 0 skipped"),
        "{text}"
    );
    // The console says what failed in the run that did not pass.
    assert!(
        text.contains("expected the text to contain \"Monday\""),
        "{text}"
    );

    let report = json(&ws, "r.json");
    let d = &report["dialogues"][0];
    assert_eq!(d["outcome"], "flaky");
    assert_eq!(report["run"]["totals"]["flaky"], 1);
    let kinds: Vec<(&str, &str)> = d["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or(""),
                a["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds, [("run", "fail"), ("rerun", "pass")]);

    assert_valid_junit(&ws.path().join("r.xml"));
    let xml = ws.read("r.xml");
    assert!(
        xml.contains(r#"<property name="flaky" value="1"/>"#),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "a flaky dialogue passes: {xml}");
}

/// `--reruns N` runs a failed dialogue again up to N times (SPEC §7): a repeated dialogue's
/// rerun is a round of its `repeat` runs, so the console counts N reruns, not N × `repeat`,
/// and the JSON numbers the reruns' runs round by round.
#[test]
fn a_repeated_dialogues_reruns_are_counted_in_rounds() {
    let ws = Workspace::new();
    ws.write(
        "agent.yaml",
        "agents:\n  ag:\n    fallback: 'We open at nine.'\n",
    );
    ws.write(
        "r.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_test_123}\n\
         dialogues:\n  - {name: rep, repeat: 3, golden: false, turns: [{user: hi, expect: {contains: Monday}}]}\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run", "r.yaml", "--reruns", "2", "--color", "never", "--json", "r.json",
        ],
    );
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("0/3 runs passed, 2 reruns"), "{text}");
    let report = json(&ws, "r.json");
    let attempts: Vec<(String, u64)> = report["dialogues"][0]["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or("").to_string(),
                a["index"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = (1..=3)
        .map(|i| ("run".to_string(), i))
        .chain((1..=6).map(|i| ("rerun".to_string(), i)))
        .collect();
    assert_eq!(attempts, want);
}

#[test]
fn replay_runs_a_blessed_suite_offline_and_names_the_nearest_golden_on_a_stray() {
    let live = Mock::start(&fixture("golden_cli/v1.yaml"));
    let ws = Workspace::new();
    let suite = r#"name: support
endpoint: {base_url: "http://127.0.0.1:9", agent_id: ag_gold, api_key: ak_test_123, retries: 0}
normalize:
  - {pattern: '\bORD-\d+\b', replace: '<ORDER>'}
dialogues:
  - name: business hours
    turns:
      - user: What are your business hours?
      - user: Where is my order?
  - name: weather
    turns: [{user: How is the weather?}]
"#;
    ws.write("support.yaml", suite);
    assert_code(
        &run_in(
            ws.path(),
            &["run", "support.yaml", "--bless", "--endpoint", &live.url],
        ),
        0,
    );
    let sent = live.requests().len();

    // Offline: the suite's own goldens answer, and the suite passes against them.
    let out = run_in(
        ws.path(),
        &[
            "run",
            "support.yaml",
            "--endpoint",
            "replay",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("2 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        live.requests().len(),
        sent,
        "replay sends nothing to the live agent"
    );

    // A conversation that strays from every golden is answered 404, naming the nearest one.
    ws.write(
        "support.yaml",
        &suite.replace("Where is my order?", "Where is my parcel?"),
    );
    let out = run_in(
        ws.path(),
        &[
            "run",
            "support.yaml",
            "--endpoint",
            "replay",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("unexpected status 404"), "{text}");
    assert!(
        text.contains("nearest: support.golden/business-hours.yaml"),
        "{text}"
    );
    assert!(
        text.contains("its turn 2 is \"Where is my order?\""),
        "{text}"
    );
}

#[test]
fn mock_replay_compares_after_the_suites_normalize_rules_and_by_agent_id() {
    let live = Mock::start(&fixture("golden_cli/v1.yaml"));
    let ws = Workspace::new();
    ws.write(
        "support.yaml",
        r#"name: support
endpoint: {base_url: "http://127.0.0.1:9", agent_id: ag_gold, api_key: ak_test_123, retries: 0}
normalize:
  - {pattern: '\bORD-\d+\b', replace: '<ORDER>'}
dialogues:
  - name: order
    turns:
      - user: Where is my order?
      - user: Has ORD-1001 shipped?
"#,
    );
    assert_code(
        &run_in(
            ws.path(),
            &["run", "support.yaml", "--bless", "--endpoint", &live.url],
        ),
        0,
    );
    let dir = ws.path().to_string_lossy().into_owned();
    let replay = Mock::start_with(&["--replay", &dir]);
    let chat = |agent: &str, message: &str| {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/v1/agents/{agent}/chat", replay.url))
            .bearer_auth("ak_any")
            .json(&serde_json::json!({"message": message, "session_id": format!("s-{agent}")}))
            .send()
            .expect("chat");
        let status = resp.status().as_u16();
        (status, resp.json::<serde_json::Value>().expect("json"))
    };
    let (status, first) = chat("ag_gold", "Where is my order?");
    assert_eq!(status, 200);
    // The golden's placeholder is answered as a text the rule turns back into it, so a
    // client that captures the order number gets one (F7).
    assert_eq!(first["response"], "Your order ORD-0 ships today.");
    // Another order number is the same message once the suite's rules are applied.
    assert_eq!(chat("ag_gold", "Has ORD-2002 shipped?").0, 200);
    // The golden belongs to ag_gold: another agent gets no answer from it.
    let (status, body) = chat("ag_other", "Where is my order?");
    assert_eq!(status, 404, "{body}");
}
