//! The openai kind against a real OpenAI-compatible server that is not ours: LiteLLM, vLLM,
//! Ollama, OpenAI itself. It runs only when `AGENTTEST_OPENAI_COMPAT_URL` names one (the
//! `base_url`, with its `/v1`), with `AGENTTEST_OPENAI_COMPAT_KEY` (default: a placeholder
//! that keyless servers accept) and `AGENTTEST_OPENAI_COMPAT_MODEL` (default `gpt-4o-mini`);
//! otherwise it says why it skipped and passes. `AGENTTEST_OPENAI_COMPAT_EXPECT`, when set, is
//! a text every reply must contain (a LiteLLM `mock_response`, say).
//!
//!     AGENTTEST_OPENAI_COMPAT_URL=http://127.0.0.1:4000/v1 \
//!     AGENTTEST_OPENAI_COMPAT_KEY=sk-... AGENTTEST_OPENAI_COMPAT_MODEL=mock-gpt \
//!     cargo test --test third_party_openai -- --nocapture
//!
//! What it can check without knowing the model's words: a two-turn dialogue, plain and
//! streamed, gets text on every turn; the streamed one records a time to first token; where
//! the server counts the prompt, the second turn's is larger than the first's (the history
//! was sent); a model the server does not have is an error whose detail comes from the
//! server's body; and the key appears in no output.

mod common;

use common::{agenttest, assert_code, stdout, Workspace};
use serde_json::Value;

const URL: &str = "AGENTTEST_OPENAI_COMPAT_URL";
const KEY: &str = "AGENTTEST_OPENAI_COMPAT_KEY";
const MODEL: &str = "AGENTTEST_OPENAI_COMPAT_MODEL";
const EXPECT: &str = "AGENTTEST_OPENAI_COMPAT_EXPECT";

/// The suite: the key is read from the environment by the suite itself, so it is never
/// written to a file.
fn suite(url: &str, model: &str, expect: Option<&str>) -> String {
    let expect = match expect {
        Some(text) => format!("{{contains: {}}}", serde_json::to_string(text).unwrap()),
        None => r"{regex: '\S'}".to_string(),
    };
    format!(
        r#"endpoint:
  kind: openai
  base_url: {url}
  model: {model}
  api_key: ${{{KEY}:-sk-no-key-required}}
  params: {{temperature: 0, max_tokens: 60}}
  timeout: 60s
  retries: 2
dialogues:
  - name: plain
    turns: &turns
      - user: What are your business hours? Answer in one short sentence.
        expect: {expect}
      - user: And on Saturdays? Answer in one short sentence.
        expect: {expect}
  - name: streamed
    endpoint: {{stream: true}}
    turns: *turns
  - name: unknown model
    endpoint: {{model: agenttest-no-such-model-7f3a}}
    turns: [{{user: hi}}]
"#,
        model = serde_json::to_string(model).unwrap(),
        url = serde_json::to_string(url).unwrap(),
    )
}

fn turns<'a>(report: &'a Value, name: &str) -> &'a Vec<Value> {
    report["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["attempts"][0]["turns"].as_array())
        .unwrap_or_else(|| panic!("no dialogue {name:?}"))
}

#[test]
fn chat_completions_against_a_third_party_server() {
    let Some(url) = std::env::var(URL).ok().filter(|u| !u.trim().is_empty()) else {
        println!(
            "skipped: set {URL} (e.g. http://127.0.0.1:4000/v1), and {KEY} / {MODEL} as the \
             server needs, to run the openai kind against a real OpenAI-compatible server"
        );
        return;
    };
    let model = std::env::var(MODEL).unwrap_or_else(|_| "gpt-4o-mini".into());
    let expect = std::env::var(EXPECT).ok().filter(|e| !e.is_empty());
    let ws = Workspace::new();
    ws.write("compat.yaml", &suite(&url, &model, expect.as_deref()));
    let mut cmd = agenttest();
    cmd.current_dir(ws.path())
        .args(["run", "compat.yaml", "--no-golden", "--color", "never"])
        .args(["--json", "r.json", "--junit", "j.xml", "-j", "1"]);
    if let Ok(key) = std::env::var(KEY) {
        cmd.env(KEY, key);
    }
    let o = cmd.output().expect("run agenttest");
    let text = stdout(&o);
    println!("{text}");
    // The unknown model errors; the two dialogues pass: no failure, one error.
    assert_code(&o, 3);
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("JSON report");
    for name in ["plain", "streamed"] {
        let t = turns(&report, name);
        for turn in t {
            println!(
                "{name} turn {}: status {} first_token_ms {} usage {} text {}",
                turn["index"], turn["status"], turn["first_token_ms"], turn["usage"], turn["text"]
            );
            assert_eq!(turn["status"], 200, "{name}: {turn}");
            assert!(
                turn["text"].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{name}: {turn}"
            );
            assert_eq!(turn["failures"], Value::Array(vec![]), "{name}: {turn}");
            assert_eq!(
                turn["first_token_ms"].is_u64(),
                name == "streamed",
                "{turn}"
            );
        }
        let input = |i: usize| t[i]["usage"]["input_tokens"].as_u64();
        match (input(0), input(1)) {
            // A mock model (LiteLLM's `mock_response`) may report the same fixed usage for
            // every request: equal sizes prove nothing either way, a smaller one is wrong.
            (Some(first), Some(second)) if second == first => println!(
                "{name}: the server reported {first} prompt tokens on both turns (fixed usage?); \
                 history not checked"
            ),
            (Some(first), Some(second)) => assert!(
                second > first,
                "{name}: turn 2's prompt ({second} tokens) should hold turn 1's history ({first})"
            ),
            _ => println!("{name}: the server reported no prompt tokens; history not checked"),
        }
    }
    assert!(text.contains("PASS  compat › plain"), "{text}");
    assert!(text.contains("PASS  compat › streamed"), "{text}");
    assert!(text.contains("ERROR compat › unknown model"), "{text}");
    let bad = &turns(&report, "unknown model")[0];
    println!(
        "unknown model: status {} detail {}",
        bad["status"], bad["detail"]
    );
    assert!(bad["status"].as_u64().is_some_and(|s| s >= 400), "{bad}");
    assert!(
        bad["detail"].as_str().is_some_and(|d| !d.trim().is_empty()),
        "{bad}"
    );
    if let Ok(key) = std::env::var(KEY) {
        if key.len() >= 4 {
            for out in [text, ws.read("r.json"), ws.read("j.xml")] {
                assert!(!out.contains(&key), "the key leaked");
            }
        }
    }
}
