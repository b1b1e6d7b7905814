//! The mock as a library, the way the runner starts it for `base_url: mock`: in-process on a
//! free loopback port, with counters and logs readable without HTTP.

use agenttest::mock::{start_local, MockStats, Script};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_local_serves_the_demo_and_counts_requests() {
    let server = start_local(Script::demo()).await.unwrap();
    let base = server.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(server.stats().chat_requests, 0);

    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/v1/agents/ag_support/chat"))
        .bearer_auth("ak_demo_key")
        .json(&json!({"message": "What are your business hours?", "session_id": "d-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["session_id"], "d-1");

    assert_eq!(
        server.stats(),
        MockStats {
            chat_requests: 1,
            sessions: 1,
            api_keys_created: 0
        }
    );
    let requests = server.requests();
    assert_eq!(requests[0].session_id.as_deref(), Some("d-1"));
    assert_eq!(requests[0].status, Some(200));
    assert_eq!(
        server.sessions()["d-1"],
        vec!["What are your business hours?".to_string()]
    );

    let addr = server.addr;
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn script_parse_reports_every_error() {
    let file = agenttest::diag::SourceFile::new(
        "m.yaml",
        "agents:\n  a:\n    latency: soon\n    rules:\n      - when: '('\n        reply: x\n",
    );
    let errs = Script::parse(&file).unwrap_err();
    let places: Vec<String> = errs.iter().map(|d| d.location()).collect();
    assert_eq!(places, ["m.yaml:3:14", "m.yaml:5:15"]);
}
