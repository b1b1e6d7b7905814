//! Replies that carry no text are errors, never an empty text judged: the mock's `no_response`
//! fault on the openai and http kinds, whole and streamed; and a model that answers with a
//! tool call beside an empty `content`, as vLLM streams one (`"content": ""` in the role chunk,
//! then `delta.tool_calls`, then `finish_reason: "tool_calls"`), whose reason names the tool.
//! An empty text alone stays a reply: a model may really answer "".

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::Output;

use common::{assert_code, read_request, stdout, Workspace};
use serde_json::Value;

fn run(ws: &Workspace, args: &[&str]) -> Output {
    common::run_to_json(ws, args)
}

fn dialogue<'a>(report: &'a Value, name: &str) -> &'a Value {
    common::dialogue_named(report, name)
}

/// The suite of the audit that found the mock streaming a text under `no_response`: every
/// dialogue is an error, none a pass on an empty text.
#[test]
fn no_response_is_an_error_on_every_kind_whole_and_streamed() {
    let ws = Workspace::new();
    ws.write(
        "mock.yaml",
        "agents:\n  ag:\n    rules: [{when: '.', fault: no_response, reply: Fine words here.}]\n",
    );
    ws.write(
        "suite.yaml",
        r#"endpoint: {kind: openai, base_url: mock, mock_script: mock.yaml, model: ag, api_key: k1234, retries: 0}
dialogues:
  - {name: openai plain, golden: false, turns: [{user: hi}]}
  - {name: openai streamed, golden: false, endpoint: {stream: true}, turns: [{user: hi}]}
  - name: http plain
    golden: false
    endpoint: {kind: http, path: /http/ag/chat, body: {input: "{{message}}"}, response: {text: /output/text}}
    turns: [{user: hi}]
  - name: http streamed
    golden: false
    endpoint: {kind: http, path: /http/ag/chat, body: {input: "{{message}}", stream: true}, response: {text: /output/text}, stream: sse}
    turns: [{user: hi}]
"#,
    );
    let o = run(&ws, &["suite.yaml"]);
    assert_code(&o, 3);
    let text = stdout(&o);
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("the JSON report is JSON");
    for (name, said) in [
        ("openai plain", "no string `choices[0].message.content`"),
        (
            "openai streamed",
            "no chunk of the stream had a string `choices[0].delta.content`",
        ),
        ("http plain", "/output/text"),
        (
            "http streamed",
            "finds no string in any event of the stream",
        ),
    ] {
        let d = dialogue(&report, name);
        assert_eq!(d["outcome"], "error", "{name}: {text}");
        assert_eq!(d["attempts"][0]["turns"][0]["text"], Value::Null, "{name}");
        assert!(d.to_string().contains(said), "{name}: {d}");
    }
}

/// A server answering every request with the raw bytes `answer` gives for its path, then
/// closing the connection.
fn raw_server(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let path = read_request(&stream);
            let _ = stream.write_all(&answer(&path));
        }
    });
    url
}

/// vLLM's chunk: `delta` and `finish_reason` in its shape.
fn chunk(delta: &str, finish: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n"
    )
}

fn sse(events: &[String]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n".to_vec();
    for e in events {
        out.extend_from_slice(e.as_bytes());
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

fn json(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_tool_call_beside_an_empty_content_is_an_error_naming_the_tool() {
    let url = raw_server(|path| {
        let role = chunk(r#"{"role":"assistant","content":""}"#, "null");
        let call = chunk(
            r#"{"tool_calls":[{"id":"chatcmpl-tool-1","type":"function","index":0,"function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]}"#,
            "null",
        );
        match path.split('/').nth(1).unwrap_or("") {
            "vllm" => sse(&[role, call, chunk("{}", r#""tool_calls""#)]),
            // An empty content and nothing else is the model's empty answer.
            "empty" => sse(&[role, chunk("{}", r#""stop""#)]),
            "whole" => json(
                r#"{"id":"chatcmpl-8","object":"chat.completion","created":1718000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"chatcmpl-tool-2","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}"#,
            ),
            _ => {
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
            }
        }
    });
    let ws = Workspace::new();
    let mut suite =
        "endpoint: {kind: openai, model: m, api_key: sk-tools-test-1, retries: 0}\ndialogues:\n"
            .to_string();
    for (name, stream) in [("vllm", true), ("empty", true), ("whole", false)] {
        suite.push_str(&format!(
            "  - {{name: {name}, endpoint: {{base_url: \"{url}/{name}\", stream: {stream}}}, turns: [{{user: hi, expect: {{not_contains: sorry}}}}]}}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let o = run(&ws, &["s.yaml", "--bless"]);
    assert_code(&o, 3);
    let text = stdout(&o);
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("the JSON report is JSON");
    for (name, field) in [
        ("vllm", "the stream's `choices[0].delta.content`"),
        ("whole", "`choices[0].message.content`"),
    ] {
        let d = dialogue(&report, name);
        assert_eq!(d["outcome"], "error", "{name}: {text}");
        assert_eq!(d["attempts"][0]["turns"][0]["text"], Value::Null, "{name}");
        let said = format!(
            "the model called a tool (get_weather) instead of answering, so {field} has no text"
        );
        assert!(d.to_string().contains(&said), "{name}: {d}");
        assert!(
            !ws.exists(&format!("s.golden/{name}.yaml")),
            "{name} was blessed"
        );
    }
    assert!(
        text.contains("the model called a tool (get_weather)"),
        "{text}"
    );
    let empty = dialogue(&report, "empty");
    assert_eq!(empty["outcome"], "pass", "{text}");
    assert_eq!(empty["attempts"][0]["turns"][0]["text"], "");
}
