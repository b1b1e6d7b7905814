//! The JSON reporter against its documented schema (docs/json-report.md): parse the file back
//! and check the fields and values a script would read.

#[path = "fixtures/report/mixed.rs"]
mod mixed;

use agenttest::report::json;
use serde_json::{json, Value};

fn rendered(report: &agenttest::record::RunReport) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    json::write(report, &path).expect("write report");
    let text = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(
        text,
        json::render(report),
        "write() writes what render() renders"
    );
    serde_json::from_str(&text).expect("valid JSON")
}

fn dialogue<'a>(v: &'a Value, suite_file: &str, name: &str) -> &'a Value {
    v["dialogues"]
        .as_array()
        .expect("dialogues array")
        .iter()
        .find(|d| d["suite_file"] == suite_file && d["name"] == name)
        .unwrap_or_else(|| panic!("no dialogue {suite_file} / {name}"))
}

#[test]
fn run_header_and_totals() {
    let v = rendered(&mixed::mixed());
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool"]["name"], "agenttest");
    assert_eq!(v["run"]["started_at"], "2024-05-01T12:34:56.789Z");
    assert_eq!(v["run"]["duration_ms"], 5432);
    assert_eq!(v["run"]["interrupted"], true);
    assert_eq!(
        v["run"]["totals"],
        json!({"dialogues": 9, "passed": 3, "flaky": 1, "failed": 2, "errored": 1, "skipped": 1, "not_run": 2})
    );
    assert_eq!(
        v["run"]["warnings"],
        json!(["orphan golden suites/a/support.golden/old.yaml"])
    );
    let outcomes: Vec<&str> = v["dialogues"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["outcome"].as_str().expect("outcome string"))
        .collect();
    assert_eq!(
        outcomes,
        ["pass", "fail", "error", "skip", "pass", "flaky", "fail", "not_run", "not_run"]
    );
}

#[test]
fn failed_dialogue_has_turns_usage_failures_and_golden() {
    let v = rendered(&mixed::mixed());
    let d = dialogue(&v, "suites/a/support.yaml", "order follow-up");
    assert_eq!(d["suite"], "support");
    assert_eq!(d["location"], "suites/a/support.yaml:13:5");
    assert_eq!(d["tags"], json!(["smoke"]));
    assert_eq!(d["outcome"], "fail");
    assert_eq!(d["skip_reason"], Value::Null);
    assert_eq!(d["session_id"], "s-fail-1");
    assert_eq!(d["duration_ms"], 1234);
    assert_eq!(
        (
            d["repeat"].clone(),
            d["min_pass"].clone(),
            d["passed_runs"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );

    let attempts = d["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    let a = &attempts[0];
    assert_eq!(a["kind"], "run");
    assert_eq!(a["index"], 1);
    assert_eq!(a["session_id"], "s-fail-1");
    assert_eq!(a["outcome"], "fail");
    assert_eq!(a["duration_ms"], 250);
    assert_eq!(a["error"], Value::Null);
    assert_eq!(
        a["golden"]["path"],
        "suites/a/support.golden/order-follow-up.yaml"
    );
    assert_eq!(a["golden"]["status"], "mismatch");
    assert_eq!(a["golden"]["scores"], json!([]));
    assert_eq!(
        a["golden"]["pending"],
        "suites/a/support.golden/order-follow-up.yaml.new"
    );
    let message = a["golden"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "the transcript differs from the golden at suites/a/support.golden/order-follow-up.yaml:\n  turn 2: the agent text differs\n"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "-    agent: Yes, <ORDER> shipped yesterday.\n+    agent: I cannot find that order.\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("saved as suites/a/support.golden/order-follow-up.yaml.new"),
        "{message}"
    );
    assert!(
        message.contains("agenttest accept suites/a/support.yaml"),
        "{message}"
    );

    let t = &a["turns"][0];
    assert_eq!(
        *t,
        json!({
            "index": 1,
            "location": "suites/a/support.yaml:15:9",
            "message": "Where is my Enterprise order?",
            "status": 200,
            "text": "Your order ORD-1 is on its way.",
            "detail": null,
            "shape": "usage",
            "usage": {"input_tokens": 45, "output_tokens": 32, "total_tokens": 77},
            "latency_ms": 120,
            "retries": 0,
            "failures": [{
                "key": "contains",
                "location": "suites/a/support.yaml:17:21",
                "message": "expected the text to contain \"Enterprise\""
            }]
        })
    );
    assert_eq!(a["turns"][1]["failures"].as_array().map(Vec::len), Some(2));
}

#[test]
fn error_skip_not_run_flaky_and_repeat() {
    let v = rendered(&mixed::mixed());

    let e = &dialogue(&v, "suites/a/support.yaml", "wrong key")["attempts"][0];
    assert_eq!(
        e["error"],
        json!({"turn": 2, "location": "suites/a/support.yaml:27:9", "message": "turn 2: connection failed: connection refused (after 2 retries)"})
    );
    let t2 = &e["turns"][1];
    assert_eq!(
        (&t2["status"], &t2["text"], &t2["shape"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(
        t2["usage"],
        json!({"input_tokens": null, "output_tokens": null, "total_tokens": null})
    );
    assert_eq!(t2["retries"], 2);

    let s = dialogue(&v, "suites/a/support.yaml", "slow upstream");
    assert_eq!(s["skip_reason"], "upstream outage, see ticket 123");
    assert_eq!(s["session_id"], Value::Null);
    assert_eq!(s["attempts"], json!([]));

    let n = dialogue(&v, "suites/billing.yaml", "partial");
    assert_eq!(n["outcome"], "not_run");
    assert_eq!(n["attempts"][0]["outcome"], "not_run");

    let f = dialogue(&v, "suites/b/support.yaml", "greeting");
    assert_eq!(f["outcome"], "flaky");
    let kinds: Vec<(String, u64, String)> = f["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or_default().to_string(),
                a["index"].as_u64().unwrap_or_default(),
                a["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("run".to_string(), 1, "fail".to_string()),
            ("rerun".to_string(), 1, "pass".to_string())
        ]
    );
    assert_eq!(f["session_id"], "s-flaky-1");

    let r = dialogue(&v, "suites/b/support.yaml", "pricing");
    assert_eq!(
        (&r["repeat"], &r["min_pass"], &r["passed_runs"]),
        (&json!(5), &json!(4), &json!(3))
    );
    assert_eq!(r["attempts"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        r["expectation_tally"],
        json!([{"turn": 1, "key": "contains", "location": "suites/b/support.yaml:18:21", "met": 3, "judged": 5, "failed_in": [2, 4]}])
    );
    assert_eq!(r["golden_tally"], json!({"met": 4, "compared": 5}));
    let p = dialogue(&v, "suites/a/support.yaml", "business hours");
    assert_eq!(p["expectation_tally"], json!([]));
    assert_eq!(p["golden_tally"], json!({"met": 1, "compared": 1}));
}

#[test]
fn text_is_carried_verbatim() {
    let hostile = mixed::hostile();
    let v = rendered(&mixed::mixed_with(|s| format!("{s}{hostile}")));
    let d = dialogue(
        &v,
        "suites/a/support.yaml",
        &format!("order follow-up{hostile}"),
    );
    assert_eq!(
        d["attempts"][0]["turns"][0]["text"],
        format!("Your order ORD-1 is on its way.{hostile}")
    );
}

#[test]
fn empty_report() {
    let v = rendered(&mixed::empty());
    assert_eq!(v["dialogues"], json!([]));
    assert_eq!(v["run"]["totals"]["dialogues"], 0);
    assert_eq!(v["run"]["started_at"], "1970-01-01T00:00:00.000Z");
}

#[test]
fn tally_counts_only_runs_that_judged_the_turn() {
    let mut report = mixed::mixed();
    let pricing = report
        .dialogues
        .iter_mut()
        .find(|d| d.name == "pricing")
        .expect("pricing");
    // Run 3 errored at turn 1: it never judged that turn, and was not compared with the golden.
    let run3 = &mut pricing.attempts[2];
    run3.outcome = agenttest::record::Outcome::Error;
    run3.golden = None;
    run3.error = Some(agenttest::record::RunError {
        turn: 0,
        span: agenttest::diag::Span::new(16, 9),
        kind: agenttest::record::ErrorKind::Send {
            error: "timed out after 30s".to_string(),
            retries: 0,
            request: String::new(),
        },
    });
    let v = rendered(&report);
    let r = dialogue(&v, "suites/b/support.yaml", "pricing");
    assert_eq!(r["passed_runs"], 2);
    assert_eq!(r["expectation_tally"][0]["met"], 2);
    assert_eq!(r["expectation_tally"][0]["judged"], 4);
    assert_eq!(r["golden_tally"], json!({"met": 3, "compared": 4}));
    assert_eq!(r["attempts"][2]["error"]["turn"], 1);
}
