//! The built-in demo (`agenttest mock` without `--script`, and `base_url: mock`) serves its
//! agents on every route, and plays an LLM judge (`judge-mock`) offline.

mod mock_common;

use mock_common::Mock;
use serde_json::{json, Value};

const DEMO_KEY: &str = "ak_demo_key";
const HOURS: &str = "Our business hours are Monday through Friday, 9 AM to 6 PM EST.";

fn completion(mock: &Mock, model: &str, prompt: &str) -> (u16, Value) {
    let body = json!({"model": model, "messages": [
        {"role": "system", "content": "You are a strict grader."},
        {"role": "user", "content": prompt},
    ]});
    let resp = mock.post("/chat/completions", Some(DEMO_KEY), &body);
    let status = resp.status().as_u16();
    (status, resp.json().expect("json body"))
}

#[test]
fn demo_agents_answer_on_every_route() {
    let mock = Mock::start(None);
    for agent in ["ag_support", "ag_sales", "ag_legacy"] {
        let thin = mock.post(
            &format!("/v1/agents/{agent}/chat"),
            Some(DEMO_KEY),
            &json!({"message": "What are your business hours?"}),
        );
        assert_eq!(thin.status().as_u16(), 200, "{agent}");
        assert_eq!(thin.json::<Value>().unwrap()["response"], HOURS);

        let (status, chat) = completion(&mock, agent, "What are your business hours?");
        assert_eq!(status, 200, "{agent}");
        assert_eq!(chat["choices"][0]["message"]["content"], HOURS);

        let http = mock.post(
            &format!("/http/{agent}/chat"),
            Some(DEMO_KEY),
            &json!({"input": "What are your business hours?"}),
        );
        assert_eq!(http.status().as_u16(), 200, "{agent}");
        assert_eq!(http.json::<Value>().unwrap()["output"]["text"], HOURS);
    }
    // The demo key is required on every route.
    let refused = mock.post(
        "/v1/chat/completions",
        Some("ak_other"),
        &json!({"model": "ag_support", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(refused.status().as_u16(), 401);
}

fn verdict(body: &Value) -> String {
    body["choices"][0]["message"]["content"]
        .as_str()
        .expect("a judge answer")
        .to_string()
}

#[test]
fn judge_mock_answers_verdicts_chosen_by_markers_in_the_prompt() {
    let mock = Mock::start(None);
    let prompt = |rubric: &str, reply: &str| {
        format!("Rubric: {rubric}\nConversation:\nuser: hi\nReply to judge: {reply}\nAnswer JSON.")
    };
    let (status, pass) = completion(&mock, "judge-mock", &prompt("states the hours", HOURS));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&verdict(&pass)).expect("a JSON verdict");
    assert_eq!(v["pass"], true);
    assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));

    // The marker may be in the rubric or in the reply being judged.
    for (rubric, reply) in [
        ("MOCK_JUDGE_FAIL states the hours", HOURS),
        ("polite", "MOCK_JUDGE_FAIL"),
    ] {
        let (_, fail) = completion(&mock, "judge-mock", &prompt(rubric, reply));
        let v: Value = serde_json::from_str(&verdict(&fail)).expect("a JSON verdict");
        assert_eq!(v["pass"], false, "{rubric} / {reply}");
        assert!(v["reason"].as_str().unwrap().contains("MOCK_JUDGE_FAIL"));
    }

    let (status, prose) = completion(&mock, "judge-mock", &prompt("MOCK_JUDGE_NOT_JSON", HOURS));
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&verdict(&prose)).is_err());

    let (_, fenced) = completion(&mock, "judge-mock", &prompt("MOCK_JUDGE_FENCED", HOURS));
    let text = verdict(&fenced);
    assert!(
        text.starts_with("```json\n") && text.ends_with("\n```"),
        "{text}"
    );

    let (status, err) = completion(&mock, "judge-mock", &prompt("MOCK_JUDGE_ERROR", HOURS));
    assert_eq!(status, 500);
    assert_eq!(err["error"]["type"], "server_error");
}

#[test]
fn the_demo_echo_rule_lets_a_dialogue_feed_a_marker_to_the_judge() {
    let mock = Mock::start(None);
    let (_, echoed) = completion(&mock, "ag_support", "echo: MOCK_JUDGE_FAIL");
    assert_eq!(
        echoed["choices"][0]["message"]["content"],
        "MOCK_JUDGE_FAIL"
    );
}
