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

/// The agent's key, from the environment as keys are; the agent echoes it back.
const AGENT_KEY: &str = "ak_live_agent_7c3f1e9b2d";

fn run_with_key(ws: &Workspace, args: &[&str]) -> std::process::Output {
    common::agenttest()
        .current_dir(ws.path())
        .env("AGENT_KEY", AGENT_KEY)
        .args(args)
        .output()
        .expect("run agenttest")
}

/// What every question the judge got said: its messages, joined.
fn judge_saw(mock: &Mock) -> Vec<String> {
    asked_judge(mock)
        .iter()
        .map(|r| r["body"]["messages"].to_string())
        .collect()
}

/// The judge is often a third party: a secret the agent echoes (here the agent's own key, in
/// an earlier turn of the conversation and in the reply judged) is redacted from the prompt as
/// from every output, so it never leaves in a question.
#[test]
fn a_key_the_agent_echoes_is_not_sent_to_the_judge() {
    let ws = Workspace::new();
    let mock = mock(
        &ws,
        &format!("Sure, your key is {AGENT_KEY}."),
        r#"{"pass": true, "reason": "fine"}"#,
    );
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: {url}, agent_id: agent, api_key: '${{AGENT_KEY}}'}}
judge: {{base_url: {url}, model: judge, api_key: ak_demo_key}}
dialogues:
  - name: echo
    golden: false
    turns:
      - user: What is my key?
      - user: And again?
        expect: {{judge: Does not reveal any key}}
",
            url = mock.url
        ),
    );
    let out = run_with_key(&ws, &["run", "s.yaml"]);
    assert_code(&out, 0);
    let saw = judge_saw(&mock);
    assert_eq!(saw.len(), 1, "{saw:#?}");
    assert!(
        !saw[0].contains(AGENT_KEY),
        "the judge got the key: {}",
        saw[0]
    );
    assert!(
        saw[0].contains("agent: Sure, your key is [REDACTED].")
            && saw[0].contains("<<<\\nSure, your key is [REDACTED].\\n>>>"),
        "the conversation and the reply are sent redacted: {}",
        saw[0]
    );
    // The cache is keyed on what was asked: a second run asks nothing.
    let out = run_with_key(&ws, &["run", "s.yaml"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("judge: 0 verdicts asked, 1 cached"),
        "{}",
        stdout(&out)
    );
}

/// In `golden: {mode: judge}` the golden's text is redacted too: a golden written by hand can
/// hold a key that a bless would have redacted.
#[test]
fn a_key_in_a_golden_is_not_sent_to_the_judge() {
    let ws = Workspace::new();
    let mock = mock(
        &ws,
        "Your key is on file.",
        r#"{"pass": true, "reason": "fine"}"#,
    );
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: {url}, agent_id: agent, api_key: '${{AGENT_KEY}}'}}
judge: {{base_url: {url}, model: judge, api_key: ak_demo_key}}
dialogues:
  - name: echo
    golden: {{mode: judge}}
    turns:
      - user: What is my key?
",
            url = mock.url
        ),
    );
    ws.write(
        "s.golden/echo.yaml",
        &format!(
            "suite: s\ndialogue: echo\nturns:\n  - user: What is my key?\n    status: 200\n    \
             agent: Your key is {AGENT_KEY}.\n"
        ),
    );
    let out = run_with_key(&ws, &["run", "s.yaml"]);
    assert_code(&out, 0);
    let saw = judge_saw(&mock);
    assert_eq!(saw.len(), 1, "{saw:#?}");
    assert!(
        !saw[0].contains(AGENT_KEY),
        "the judge got the key: {}",
        saw[0]
    );
    assert!(
        saw[0].contains("<<<\\nYour key is [REDACTED].\\n>>>"),
        "{}",
        saw[0]
    );
}

/// `--bless` in `golden: {mode: judge}` records what the agent said, as in every mode (SPEC
/// §3.3: the golden records the agent's text; `--bless` and `accept` keep a turn that still
/// matches, which `accept` decides without sending anything, so by text and `[..]`). A turn
/// the judge accepted in wording of its own is therefore rewritten, and the judge is not asked;
/// a turn a `[..]` still matches is kept as written.
#[test]
fn bless_in_judge_mode_records_the_new_wording_and_keeps_wildcard_turns() {
    let ws = Workspace::new();
    let mock = mock(
        &ws,
        "We open at 9am sharp.",
        r#"{"pass": true, "reason": "same"}"#,
    );
    ws.write(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: {url}, agent_id: agent, api_key: ak_test_123}}
judge: {{base_url: {url}, model: judge, api_key: ak_demo_key}}
dialogues:
  - name: reworded
    golden: {{mode: judge}}
    turns:
      - user: When do you open?
  - name: loosened
    golden: {{mode: judge}}
    turns:
      - user: When do you open?
",
            url = mock.url
        ),
    );
    let golden = |name: &str, agent: &str| {
        format!(
            "# agenttest golden transcript. Update with: agenttest run --bless\n\
             suite: s\ndialogue: {name}\nturns:\n  - user: When do you open?\n    status: 200\n    \
             agent: {agent}\n"
        )
    };
    ws.write(
        "s.golden/reworded.yaml",
        &golden("reworded", "We open at 9 AM."),
    );
    ws.write(
        "s.golden/loosened.yaml",
        &golden("loosened", "We open at [..]."),
    );
    let out = run_in(ws.path(), &["run", "s.yaml"]);
    assert_code(&out, 0);
    assert_eq!(asked_judge(&mock).len(), 1, "the reworded turn is judged");

    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--no-cache"]);
    assert_code(&out, 0);
    assert_eq!(
        asked_judge(&mock).len(),
        1,
        "a bless asks the judge nothing"
    );
    assert_eq!(
        ws.read("s.golden/reworded.yaml"),
        golden("reworded", "We open at 9am sharp.")
    );
    assert_eq!(
        ws.read("s.golden/loosened.yaml"),
        golden("loosened", "We open at [..].")
    );
}

/// A suite on `url` whose agent is `agent` and whose judge is `judge` there with `extra` judge
/// fields (a flow-mapping tail such as `, retries: 1`), then `dialogues`.
fn judged_suite(url: &str, extra: &str, dialogues: &str) -> String {
    format!(
        "endpoint: {{base_url: {url}, agent_id: agent, api_key: ak_test_123}}\n\
         judge: {{base_url: {url}, model: judge, api_key: ak_demo_key{extra}}}\n\
         dialogues:\n{dialogues}"
    )
}

/// `pass` written twice is no clear verdict, whatever its last value: read as the last, a
/// contradiction would pass. Like any non-verdict it is asked again per the retries, then the
/// turn could not be judged (exit 3), never a pass, and nothing is cached. Alone, fenced or in
/// prose; as one JSON body or streamed in pieces.
#[test]
fn a_verdict_with_pass_twice_is_not_a_verdict() {
    let answers = [
        r#"{"pass": false, "reason": "dup", "pass": true}"#,
        "```json\n{\"pass\": false, \"reason\": \"dup\", \"pass\": true}\n```",
        "My verdict: {\"pass\": false, \"reason\": \"dup\", \"pass\": true} (final).",
    ];
    for answer in answers {
        for stream in [false, true] {
            let ws = Workspace::new();
            let mock = mock(&ws, "We open at 9 AM.", answer);
            let extra = format!(", retries: 1, stream: {stream}");
            ws.write(
                "s.yaml",
                &judged_suite(
                    &mock.url,
                    &extra,
                    "  - name: hours
    golden: false
    turns:
      - user: When do you open?
        expect: {judge: States the opening hour}
",
                ),
            );
            let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
            let console = stdout(&out);
            assert_code(&out, 3);
            assert!(console.contains("ERROR s › hours"), "{answer}: {console}");
            assert!(console.contains("could not judge"), "{console}");
            assert!(console.contains("`pass` twice"), "{console}");
            let asked = asked_judge(&mock);
            assert_eq!(asked.len(), 2, "asked again once, per retries: 1");
            assert_eq!(
                asked[0]["body"]["stream"].as_bool().unwrap_or(false),
                stream,
                "{:#}",
                asked[0]["body"]
            );
            assert!(
                !ws.exists(".agenttest/cache/judge"),
                "no verdict, nothing cached"
            );
        }
    }
}

/// A `reason` that is not a string is still the judge's reason: the failure shows it as
/// compact JSON, not "(the judge gave no reason)". A boolean `pass` is still the verdict.
#[test]
fn a_reason_that_is_not_a_string_is_shown_as_json() {
    let ws = Workspace::new();
    let mock = mock(
        &ws,
        "We open at 9 AM.",
        r#"{"pass": false, "reason": ["too short", "no hours"]}"#,
    );
    ws.write(
        "s.yaml",
        &judged_suite(
            &mock.url,
            "",
            "  - name: hours
    golden: false
    turns:
      - user: When do you open?
        expect: {judge: States the opening hours on weekdays}
",
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--color", "never", "--json", "r.json"],
    );
    assert_code(&out, 1);
    let console = stdout(&out);
    assert!(console.contains("FAIL  s › hours"), "{console}");
    assert!(console.contains(r#"["too short","no hours"]"#), "{console}");
    assert!(!console.contains("gave no reason"), "{console}");
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
    let failure = &report["dialogues"][0]["attempts"][0]["turns"][0]["failures"][0];
    assert!(
        failure["message"]
            .as_str()
            .is_some_and(|m| m.contains(r#"["too short","no hours"]"#)),
        "{failure:#}"
    );
    // Cached as shown: a rerun reads the same reason back without asking.
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 1);
    assert!(stdout(&out).contains(r#"["too short","no hours"]"#));
    assert_eq!(asked_judge(&mock).len(), 1, "the rerun asked nothing");
}

/// A rubric that its `{{name}}`s leave blank (here an empty var) asks the judge nothing it
/// could find false: the turn could not be judged (exit 3), and the judge is not asked. A
/// rubric written blank is refused at load (the bad-suite corpus).
#[test]
fn a_rubric_left_blank_by_its_vars_is_an_error_not_a_pass() {
    let ws = Workspace::new();
    let mock = mock(
        &ws,
        "We open at 9 AM.",
        r#"{"pass": true, "reason": "fine"}"#,
    );
    ws.write(
        "s.yaml",
        &judged_suite(
            &mock.url,
            "",
            "  - name: hours
    golden: false
    vars: {criterion: ' '}
    turns:
      - user: When do you open?
        expect: {judge: '{{criterion}}'}
",
        ),
    );
    let out = run_in(ws.path(), &["validate", "s.yaml"]);
    assert_code(&out, 0);
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 3);
    let console = stdout(&out);
    assert!(console.contains("ERROR s › hours"), "{console}");
    assert!(console.contains("could not judge"), "{console}");
    assert!(console.contains("the rubric is blank"), "{console}");
    assert!(asked_judge(&mock).is_empty(), "the judge was asked");
}

/// Each rubric of a `judge:` list fails at its own item, flow or block, so the location names
/// the rubric that failed rather than the `judge:` key.
#[test]
fn each_failed_rubric_of_a_list_points_at_its_item() {
    let ws = Workspace::new();
    let script = ws.write(
        "agents.yaml",
        "keys: []
agents:
  agent:
    fallback: We open at 9 AM.
  judge:
    rules:
      - when: WRONG
        reply: '{\"pass\": false, \"reason\": \"not so\"}'
    fallback: '{\"pass\": true, \"reason\": \"fine\"}'
",
    );
    let mock = Mock::start(&script);
    ws.write(
        "s.yaml",
        &judged_suite(
            &mock.url,
            "",
            "  - name: hours
    golden: false
    turns:
      - user: When do you open?
        expect: {judge: [States an hour, WRONG one]}
      - user: And on Sunday?
        expect:
          judge:
            - States an hour
            - WRONG two
",
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--color", "never", "--json", "r.json"],
    );
    assert_code(&out, 1);
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
    let turns = &report["dialogues"][0]["attempts"][0]["turns"];
    let locations = |t: usize| -> Vec<String> {
        turns[t]["failures"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .map(|f| f["location"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(locations(0), ["s.yaml:8:42"], "{turns:#}");
    assert_eq!(locations(1), ["s.yaml:13:15"], "{turns:#}");
    let console = stdout(&out);
    assert!(console.contains("(judge at s.yaml:8:42)"), "{console}");
}
