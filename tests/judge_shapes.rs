//! Borderline answers and inputs of the LLM judge (SPEC §9.2) through the real binary, with the
//! mock playing both the agent and the judge from a script written per test: what shape of
//! answer is a verdict, what the judge is shown, and what `--bless` writes in `mode: judge`.

mod common;

use common::{assert_code, run_in, stdout, Mock, Workspace};
use serde_json::Value;

/// A mock whose agent `agent` answers `reply` to everything and whose judge `judge` answers
/// `verdict` to everything, with any key accepted.
fn mock(ws: &Workspace, reply: &str, verdict: &str) -> Mock {
    let script = ws.write(
        "agents.yaml",
        &format!(
            "keys: []\nagents:\n  agent:\n    fallback: {}\n  judge:\n    fallback: {}\n",
            serde_json::to_string(reply).expect("reply as YAML"),
            serde_json::to_string(verdict).expect("verdict as YAML"),
        ),
    );
    Mock::start(&script)
}

/// The chat-completion requests that reached the judge, in order.
fn asked_judge(mock: &Mock) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r["api"] == "openai" && r["agent_id"] == "judge")
        .collect()
}

/// A JSON array holding a verdict object is not the object the prompt asks for: a judge that
/// keeps answering one could not judge (an error after its retries), never a pass.
#[test]
fn a_verdict_inside_a_json_array_is_not_a_verdict() {
    let ws = Workspace::new();
    let mock = mock(
        &ws,
        "We open at 9 AM.",
        r#"[{"pass": true, "reason": "fine"}]"#,
    );
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: {url}, agent_id: agent, api_key: ak_test_123}}
judge: {{base_url: {url}, model: judge, api_key: ak_demo_key, retries: 1}}
dialogues:
  - name: hours
    golden: false
    turns:
      - user: When do you open?
        expect: {{judge: States the opening hour}}
",
            url = mock.url
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml"]);
    assert_code(&out, 3);
    let console = stdout(&out);
    assert!(console.contains("ERROR s › hours"), "{console}");
    assert!(console.contains("could not judge"), "{console}");
    assert!(console.contains("a JSON array"), "{console}");
    assert_eq!(
        asked_judge(&mock).len(),
        2,
        "asked again once, per retries: 1"
    );
    assert!(
        !ws.exists(".agenttest/cache/judge"),
        "no verdict, nothing cached"
    );
}
